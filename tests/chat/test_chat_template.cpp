// ChatTemplate plumbing (template discovery in a model directory, special tokens, request
// normalisation) and the `m3 chat-template` CLI, whose output is compared byte for byte with
// Python Jinja2 renders from tests/chat/render_oracle.py.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "chat/chat_template.h"
#include "core/error.h"
#include "oracle_util.h"

namespace {

using Json = nlohmann::ordered_json;
using m3::chat::ChatTemplate;
namespace fs = std::filesystem;

using m3::chat_test::read_text;
using m3::chat_test::write_text;

class TempDir {
public:
  TempDir() {
    std::random_device random;
    path_ = fs::temp_directory_path() / ("m3_chat_" + std::to_string(random()));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path &path() const { return path_; }

private:
  fs::path path_;
};

const Json kRequest = Json::parse(R"({"messages": [{"role": "user", "content": "hi"}]})");

TEST(ChatTemplate, ModelDirPrefersChatTemplateJinjaAndReadsSpecialTokens) {
  TempDir dir;
  write_text(dir.path() / "chat_template.jinja",
             "{{ bos_token }}|{{ eos_token }}|{{ messages[0].content }}");
  write_text(
      dir.path() / "tokenizer_config.json",
      R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "chat_template": "unused"})");
  EXPECT_EQ(ChatTemplate::from_model_dir(dir.path().string()).render(kRequest), "<s>|</s>|hi");
}

TEST(ChatTemplate, ModelDirNamedTemplatesPickToolUseWhenToolsAreGiven) {
  TempDir dir;
  write_text(dir.path() / "tokenizer_config.json", R"({"chat_template": [
      {"name": "default", "template": "plain {{ tools }}"},
      {"name": "tool_use", "template": "tools {{ tools | length }}"}]})");
  ChatTemplate chat_template = ChatTemplate::from_model_dir(dir.path().string());
  EXPECT_EQ(chat_template.render(kRequest), "plain None");
  Json with_tools = kRequest;
  with_tools["tools"] = Json::parse(R"([{"type": "function", "function": {"name": "f"}}])");
  EXPECT_EQ(chat_template.render(with_tools), "tools 1");
}

TEST(ChatTemplate, ModelDirWithoutTemplateFallsBackToBuiltinM3) {
  TempDir dir;
  Json request = Json::parse(R"({"messages": [{"role": "user", "content": "hi"}],
                                "chat_template_kwargs": {"thinking_mode": "enabled"}})");
  EXPECT_EQ(ChatTemplate::from_model_dir(dir.path().string()).render(request),
            ChatTemplate::builtin_m3().render(request));
  EXPECT_THROW(ChatTemplate::from_model_dir((dir.path() / "missing").string()), m3::Error);
}

TEST(ChatTemplate, RequestNormalisation) {
  ChatTemplate probe("{% for m in messages %}{{ m.content | tojson }} {{ "
                     "m.tool_calls[0].function.arguments.city if m.tool_calls }} "
                     "{{ m.reasoning_content }};{% endfor %}{{ add_generation_prompt }} {{ "
                     "thinking_mode }} {{ documents }}");
  Json request = Json::parse(R"({"messages": [
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "x"}},
                                   {"type": "video_url", "video_url": {"url": "y"}}]},
      {"role": "assistant", "reasoning": "why", "content": null,
       "tool_calls": [{"id": "1", "type": "function", "function": {"name": "w", "arguments": "{\"city\": \"Oslo\"}"}}]}],
      "add_generation_prompt": false, "chat_template_kwargs": {"thinking_mode": "disabled"}})");
  EXPECT_EQ(
      probe.render(request),
      R"([{"type": "text", "text": "a"}, {"type": "image"}, {"type": "video"}]  ;null Oslo why;False disabled None)");
  m3::chat::RenderOptions options;
  options.add_generation_prompt = true;
  EXPECT_NE(probe.render(request, options).find("True disabled"), std::string::npos);
  request["messages"][1]["tool_calls"][0]["function"]["arguments"] = "{not json";
  EXPECT_THROW(probe.render(request), m3::Error);
}

// `m3 chat-template` prints exactly what Jinja2 renders for the official template.
TEST(ChatTemplateCli, MatchesPythonJinja2ByteForByte) {
  const char *binary = std::getenv("M3_BINARY");
  ASSERT_NE(binary, nullptr);
  const fs::path official = ".deps/templates/MiniMax-M3.jinja";
  ASSERT_TRUE(fs::exists(official)) << "run scripts/assets/templates.sh";
  TempDir dir;
  std::random_device random;
  auto records = m3::chat_test::run_oracle("--template " + official.string() +
                                           " --style m3 --count 5 --seed " +
                                           std::to_string(random() % 1000000));
  int compared = 0;
  for (const Json &record : records) {
    if (!record.contains("expected"))
      continue;
    write_text(dir.path() / "request.json", record["request"].dump());
    std::string run = std::string(binary) + " chat-template --template " + official.string() +
                      " --request " + (dir.path() / "request.json").string() + " > " +
                      (dir.path() / "prompt.txt").string();
    ASSERT_EQ(std::system(run.c_str()), 0) << run;
    EXPECT_EQ(read_text(dir.path() / "prompt.txt"), record["expected"].get<std::string>())
        << record["request"].dump();
    ++compared;
  }
  EXPECT_GE(compared, 3);
}

TEST(ChatTemplateCli, UserMistakesExitNonZeroWithOneLine) {
  const char *binary = std::getenv("M3_BINARY");
  ASSERT_NE(binary, nullptr);
  TempDir dir;
  write_text(dir.path() / "bad.json", "{\"messages\": [");
  write_text(dir.path() / "t.jinja", "{{ raise_exception('no system role allowed') }}");
  write_text(dir.path() / "ok.json", kRequest.dump());
  auto run = [&](const std::string &args) {
    std::string command =
        std::string(binary) + " chat-template " + args + " 2> " + (dir.path() / "err.txt").string();
    int status = std::system(command.c_str());
    return std::make_pair(status, read_text(dir.path() / "err.txt"));
  };
  auto [status1, err1] = run("--request " + (dir.path() / "ok.json").string());
  EXPECT_NE(status1, 0);
  EXPECT_NE(err1.find("--template"), std::string::npos) << err1;
  auto [status2, err2] = run("--template " + (dir.path() / "t.jinja").string() + " --request " +
                             (dir.path() / "bad.json").string());
  EXPECT_NE(status2, 0);
  EXPECT_NE(err2.find("not valid JSON"), std::string::npos) << err2;
  auto [status3, err3] = run("--template " + (dir.path() / "t.jinja").string() + " --request " +
                             (dir.path() / "ok.json").string());
  EXPECT_NE(status3, 0);
  EXPECT_NE(err3.find("no system role allowed"), std::string::npos) << err3;
  EXPECT_EQ(std::count(err3.begin(), err3.end(), '\n'), 1) << err3;
}

} // namespace
