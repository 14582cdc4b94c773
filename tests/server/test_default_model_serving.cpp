// `m3 serve` without --model serves the trained default model: a greeting gets a short answer
// that ends by itself, and a weather question with a weather tool gets a well-formed M3 tool call
// parsed into OpenAI tool_calls. Greedy decoding, so the run is reproducible.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "server_process.h"

namespace m3::test_support {
namespace {

using json = nlohmann::json;

json complete(const ServerProcess &server, json body) {
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(300);
  body["model"] = server.model();
  body["temperature"] = 0;
  auto res = client.Post("/v1/chat/completions", body.dump(), "application/json");
  if (!res || res->status != 200)
    throw std::runtime_error("chat request failed: " +
                             (res ? res->body : std::string("no answer")));
  return json::parse(res->body)["choices"][0];
}

TEST(DefaultModelServing, AnswersAGreetingAndCallsAToolWhenGivenOne) {
  const ServerProcess server({}, ServedModel::kDefault);
  EXPECT_EQ(server.model(), "m3-default");

  const json greeting = complete(
      server, {{"messages", {{{"role", "user"}, {"content", "Hello!"}}}}, {"max_tokens", 40}});
  EXPECT_EQ(greeting["finish_reason"], "stop");
  const std::string text = greeting["message"]["content"];
  EXPECT_GE(text.size(), 3u);
  EXPECT_EQ(text.find("]<]"), std::string::npos) << text;
  // ignore_eos: the same greedy answer runs on past its end of turn to max_tokens.
  const json past_the_end =
      complete(server, {{"messages", {{{"role", "user"}, {"content", "Hello!"}}}},
                        {"max_tokens", 40},
                        {"ignore_eos", true}});
  EXPECT_EQ(past_the_end["finish_reason"], "length") << past_the_end.dump();

  const json weather_tool = {{"type", "function"},
                             {"function",
                              {{"name", "get_weather"},
                               {"description", "Get the current weather in a city."},
                               {"parameters",
                                {{"type", "object"},
                                 {"properties", {{"city", {{"type", "string"}}}}},
                                 {"required", {"city"}}}}}}};
  const json call = complete(
      server, {{"messages", {{{"role", "user"}, {"content", "What's the weather in Paris?"}}}},
               {"tools", {weather_tool}},
               {"max_tokens", 80}});
  EXPECT_EQ(call["finish_reason"], "tool_calls") << call.dump();
  ASSERT_EQ(call["message"]["tool_calls"].size(), 1u) << call.dump();
  const json function = call["message"]["tool_calls"][0]["function"];
  EXPECT_EQ(function["name"], "get_weather");
  const json arguments = json::parse(function["arguments"].get<std::string>());
  ASSERT_TRUE(arguments.contains("city")) << arguments.dump();
  EXPECT_TRUE(arguments["city"].is_string());
}

} // namespace
} // namespace m3::test_support
