// `m3 parse-output` contract: prints {"content", "reasoning_content", "tool_calls"} for raw model
// output, taking the tools and chat_template_kwargs.thinking_mode (default adaptive) from the
// request; user mistakes give one error line and a non-zero exit.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "m3_cli.h"

namespace m3::chat {
namespace {

using nlohmann::json;
using test_support::run_m3;
using test_support::ScratchDir;

const char *kRequest = R"({
  "messages": [{"role": "user", "content": "Weather in Paris for 3 days?"}],
  "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}],
  "chat_template_kwargs": {"thinking_mode": "enabled"}})";

// serving.md §2.7: the output that follows a thinking-enabled generation prompt.
const char *kOutput =
    "The user wants a 3-day forecast; call get_weather.</mm:think>]<]minimax[>[<tool_call>\n"
    "]<]minimax[>[<invoke name=\"get_weather\">]<]minimax[>[<city>Paris]<]minimax[>[</city>"
    "]<]minimax[>[<days>3]<]minimax[>[</days>]<]minimax[>[</invoke>\n]<]minimax[>[</tool_call>";

TEST(ParseOutputCli, SplitsReasoningAndTypedToolCalls) {
  ScratchDir dir;
  auto request = dir.write("request.json", kRequest);
  auto text = dir.write("output.txt", kOutput);
  auto result =
      run_m3("parse-output --request '" + request.string() + "' --text '" + text.string() + "'");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  json out = json::parse(result.out);
  EXPECT_TRUE(out["content"].is_null());
  EXPECT_EQ(out["reasoning_content"], "The user wants a 3-day forecast; call get_weather.");
  ASSERT_EQ(out["tool_calls"].size(), 1u);
  const json &call = out["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_TRUE(call["id"].get<std::string>().starts_with("call_"));
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(call["function"]["arguments"].get<std::string>()),
            json::parse(R"({"city": "Paris", "days": 3})"));
}

TEST(ParseOutputCli, DefaultModeIsAdaptive) {
  ScratchDir dir;
  auto request = dir.write("request.json", R"({"messages": []})");
  auto text = dir.write("output.txt", "<mm:think>hmm</mm:think>Hello");
  auto result =
      run_m3("parse-output --request '" + request.string() + "' --text '" + text.string() + "'");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out),
            json::parse(R"({"content": "Hello", "reasoning_content": "hmm", "tool_calls": []})"));
}

TEST(ParseOutputCli, ToolChoiceNoneKeepsMarkupAsContent) {
  ScratchDir dir;
  json request = json::parse(kRequest);
  request["tool_choice"] = "none";
  auto request_path = dir.write("request.json", request.dump());
  auto text = dir.write("output.txt", kOutput);
  auto result = run_m3("parse-output --request '" + request_path.string() + "' --text '" +
                       text.string() + "'");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  json out = json::parse(result.out);
  std::string output = kOutput;
  EXPECT_EQ(out["content"], output.substr(output.find("]<]minimax[>[")));
  EXPECT_TRUE(out["tool_calls"].empty());
}

TEST(ParseOutputCli, UserMistakesAreOneLineErrors) {
  ScratchDir dir;
  auto text = dir.write("output.txt", "hi");
  auto bad_mode = dir.write("mode.json", R"({"chat_template_kwargs": {"thinking_mode": "max"}})");
  auto not_json = dir.write("broken.json", "{");
  for (const std::string &arguments :
       {"parse-output --request '" + bad_mode.string() + "' --text '" + text.string() + "'",
        "parse-output --request '" + not_json.string() + "' --text '" + text.string() + "'",
        "parse-output --request '" + (dir.path() / "missing.json").string() + "' --text '" +
            text.string() + "'",
        std::string("parse-output --text '") + text.string() + "'"}) {
    SCOPED_TRACE(arguments);
    auto result = run_m3(arguments);
    EXPECT_NE(result.exit_code, 0);
    EXPECT_TRUE(result.out.empty());
    EXPECT_NE(result.err.find("error:"), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << result.err;
  }
}

} // namespace
} // namespace m3::chat
