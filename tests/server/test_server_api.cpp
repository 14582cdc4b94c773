// The real server driven over HTTP: the official OpenAI Node client (models, chat, streaming with
// usage, tool calls with tool_choice required/named, reasoning, completions, logprobs), every
// kind of bad request (wrong types, absurd numbers, hostile nesting, oversized headers) answered
// with a clear OpenAI-style 4xx while the server stays healthy, API keys, and a clean SIGTERM
// shutdown.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "server_process.h"

namespace m3::test_support {
namespace {

using json = nlohmann::json;

std::string openai_module() {
  const auto path = std::filesystem::current_path() / ".deps/npm/openai/package/index.mjs";
  if (!std::filesystem::exists(path))
    throw std::runtime_error("missing " + path.string() + ": run scripts/test_assets.sh");
  return path.string();
}

class ServerApi : public ::testing::Test {
protected:
  static void SetUpTestSuite() { server_ = new ServerProcess({"--max-model-len", "2048"}); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static ServerProcess *server_;

  httplib::Result post(const std::string &path, const std::string &body) {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_read_timeout(120);
    return client.Post(path.c_str(), body, "application/json");
  }
  // A request that must fail with `status` and an OpenAI error object naming the problem.
  void expect_error(const std::string &path, const std::string &body, int status,
                    const std::string &message_part) {
    SCOPED_TRACE(body.substr(0, 200));
    auto res = post(path, body);
    ASSERT_TRUE(res) << "no response";
    EXPECT_EQ(res->status, status) << res->body;
    json error = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(error.is_object() && error.contains("error")) << res->body;
    EXPECT_EQ(error["error"]["code"], status);
    EXPECT_TRUE(error["error"]["type"].is_string());
    const std::string message = error["error"]["message"];
    EXPECT_NE(message.find(message_part), std::string::npos) << message;
  }
  json chat(json fields) {
    json body = {{"model", server_->model()},
                 {"messages", {{{"role", "user"}, {"content", "Hello"}}}},
                 {"max_tokens", 4}};
    for (auto &[k, v] : fields.items())
      body[k] = v;
    return body;
  }
};
ServerProcess *ServerApi::server_ = nullptr;

TEST_F(ServerApi, OfficialOpenAiClientRoundTrips) {
  const std::string command = "M3_OPENAI_MODULE=" + openai_module() +
                              " node tests/server/openai_client.mjs " + server_->base_url() +
                              "/v1 " + server_->model();
  auto [status, output] = run_command(command);
  EXPECT_EQ(status, 0) << output << "\nserver log tail:\n"
                       << server_->log().substr(
                              server_->log().size() > 4000 ? server_->log().size() - 4000 : 0);
  EXPECT_NE(output.find("openai client checks passed"), std::string::npos) << output;
}

TEST_F(ServerApi, BadRequestsGetClearErrorsAndTheServerStaysHealthy) {
  const std::string c = "/v1/chat/completions";
  expect_error(c, "{", 400, "not valid JSON");
  expect_error(c, "[1, 2]", 400, "must be an object");
  expect_error(c, json{{"messages", json::array({{{"role", "user"}, {"content", "x"}}})}}.dump(),
               400, "'model' is required");
  expect_error(c, json{{"model", server_->model()}}.dump(), 400, "'messages' is required");
  expect_error(c, chat({{"messages", json::array()}}).dump(), 400, "must not be empty");
  expect_error(c, chat({{"messages", "hello"}}).dump(), 400, "'messages' must be an array");
  expect_error(c, chat({{"messages", {{{"content", "x"}}}}}).dump(), 400,
               "'messages[0].role' is required");
  expect_error(c, chat({{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}).dump(), 400,
               "messages[0].role");
  expect_error(c, chat({{"messages", {{{"role", "user"}, {"content", 42}}}}}).dump(), 400,
               "messages[0].content");
  expect_error(c, chat({{"messages", {{{"role", "user"}}}}}).dump(), 400,
               "'messages[0].content' is required");
  expect_error(c, chat({{"temperature", "hot"}}).dump(), 400, "'temperature' must be a number");
  expect_error(c, chat({{"temperature", 7}}).dump(), 400, "'temperature' must be between 0 and 2");
  expect_error(c, chat({{"top_p", 0}}).dump(), 400, "'top_p' must be greater than 0");
  expect_error(c, chat({{"top_k", 2.5}}).dump(), 400, "'top_k' must be an integer");
  expect_error(c, chat({{"max_tokens", -1}}).dump(), 400, "'max_tokens' must be between 1");
  expect_error(c, chat({{"max_tokens", 0}}).dump(), 400, "'max_tokens' must be between 1");
  expect_error(c, chat({{"max_tokens", 1000000000000LL}}).dump(), 400, "'max_tokens'");
  expect_error(c, chat({{"max_tokens", 100000}}).dump(), 400, "maximum context length is 2048");
  expect_error(c, chat({{"presence_penalty", -3}}).dump(), 400, "'presence_penalty'");
  expect_error(c, chat({{"top_logprobs", 3}}).dump(), 400, "requires 'logprobs'");
  expect_error(c, chat({{"logprobs", true}, {"top_logprobs", 50}}).dump(), 400, "'top_logprobs'");
  expect_error(c, chat({{"n", 2}}).dump(), 400, "'n' must be 1");
  expect_error(c, chat({{"stop", json::array({""})}}).dump(), 400, "must not be empty");
  expect_error(c, chat({{"stop", std::vector<std::string>(20, "x")}}).dump(), 400, "more than 16");
  expect_error(c, chat({{"stream_options", {{"include_usage", true}}}}).dump(), 400,
               "only allowed when 'stream'");
  expect_error(c, chat({{"frobnicate", true}}).dump(), 400, "unrecognized field 'frobnicate'");
  expect_error(c, chat({{"logit_bias", {{"5", 10}}}}).dump(), 400, "'logit_bias' is not supported");
  expect_error(c, chat({{"response_format", {{"type", "json_object"}}}}).dump(), 400,
               "not supported");
  expect_error(c, chat({{"tool_choice", "required"}}).dump(), 400, "needs at least one tool");
  const json tool = {{"type", "function"},
                     {"function", {{"name", "f"}, {"parameters", {{"type", "object"}}}}}};
  expect_error(c,
               chat({{"tools", {tool}},
                     {"tool_choice", {{"type", "function"}, {"function", {{"name", "g"}}}}}})
                   .dump(),
               400, "not in 'tools'");
  expect_error(c, chat({{"tools", {tool, tool}}}).dump(), 400, "duplicate tool name");
  expect_error(
      c, chat({{"tools", {{{"type", "function"}, {"function", {{"name", "bad name!"}}}}}}}).dump(),
      400, "function.name");
  expect_error(c,
               chat({{"messages",
                      {{{"role", "assistant"},
                        {"content", nullptr},
                        {"tool_calls",
                         {{{"id", "1"},
                           {"type", "function"},
                           {"function", {{"name", "f"}, {"arguments", "{not json"}}}}}}}}}})
                   .dump(),
               400, "arguments");
  expect_error(c, chat({{"chat_template_kwargs", {{"thinking_mode", "sometimes"}}}}).dump(), 400,
               "thinking_mode");
  auto image = [](const std::string &url) {
    return json{{"role", "user"},
                {"content",
                 {{{"type", "text"}, {"text", "look"}},
                  {{"type", "image_url"}, {"image_url", {{"url", url}}}}}}};
  };
  expect_error(c, chat({{"messages", {image("https://example.com/cat.png")}}}).dump(), 400,
               "remote media URLs are not allowed");
  expect_error(c, chat({{"messages", {image("data:image/png;base64,@@@@")}}}).dump(), 400,
               "not valid base64");
  expect_error(c, chat({{"messages", {image("data:text/plain;base64,aGVsbG8=")}}}).dump(), 400,
               "not an image");
  expect_error(c, chat({{"messages", {image("data:image/png;base64,aGVsbG8=")}}}).dump(), 400,
               "does not hold");
  expect_error(c, chat({{"model", "gpt-17"}}).dump(), 404, "does not exist");
  // A prompt longer than the context: 400, not a crash or a hang.
  std::string long_text;
  for (int i = 0; i < 3000; ++i)
    long_text += "and it came to pass ";
  expect_error(c, chat({{"messages", {{{"role", "user"}, {"content", long_text}}}}}).dump(), 400,
               "maximum context length");
  // Huge body: 413 from the size limit.
  expect_error(
      c, chat({{"messages", {{{"role", "user"}, {"content", std::string(9 << 20, 'a')}}}}}).dump(),
      413, "too large");
  const std::string p = "/v1/completions";
  expect_error(p, json{{"model", server_->model()}, {"prompt", {"a", "b"}}}.dump(), 400,
               "batched prompts");
  expect_error(p, json{{"model", server_->model()}, {"prompt", {1, 2, 99999999}}}.dump(), 400,
               "outside the vocabulary");
  expect_error(p, json{{"model", server_->model()}, {"prompt", "x"}, {"suffix", "y"}}.dump(), 400,
               "'suffix'");

  httplib::Client client("127.0.0.1", server_->port());
  auto missing = client.Get("/v1/nothing-here");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("no route"), std::string::npos);

  // Still healthy and still serving.
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ok = post(c, chat({{"temperature", 0}}).dump());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  auto png = post(
      c, chat({{"messages",
                {image("data:image/"
                       "png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/"
                       "5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==")}}})
             .dump());
  ASSERT_TRUE(png);
  // A valid inline PNG, but the test model has no vision tower (test_server_vision.cpp serves
  // images on VL models).
  EXPECT_EQ(png->status, 400) << png->body;
  EXPECT_NE(png->body.find("this model does not accept images"), std::string::npos) << png->body;
  EXPECT_TRUE(server_->running());
}

TEST_F(ServerApi, HostileInputsGetClearErrorsAndTheServerStaysHealthy) {
  const std::string c = "/v1/chat/completions";
  std::mt19937 rng(std::random_device{}());
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  auto with_kwargs = [&](const std::string &value) {
    std::string body = chat({{"temperature", 0}}).dump();
    return body.substr(0, body.size() - 1) + ",\"chat_template_kwargs\":{\"x\":" + value + "}}";
  };
  // Nesting deep enough to exhaust a thread's stack in recursive code: refused while parsing.
  const int deep = 64 + int(rng() % 200000);
  expect_error(c, with_kwargs(nested(deep)), 400, "more than 64 levels deep");
  const int shallow = 1 + int(rng() % 60); // within the limit with the two enclosing objects
  auto ok = post(c, with_kwargs(nested(shallow)));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << "depth " << shallow << ": " << ok->body;
  // Numbers beyond double's range, and integral ones beyond every limit.
  std::string body = chat({}).dump();
  expect_error(c, body.substr(0, body.size() - 1) + ",\"temperature\":1e400}", 400,
               "not valid JSON");
  expect_error(c, chat({{"max_tokens", 1e20}}).dump(), 400,
               "'max_tokens' must be between 1 and 2147483647");
  expect_error(c, chat({{"seed", 1e30}}).dump(), 400, "'seed' must be between");
  expect_error(c, chat({{"seed", 1e17}}).dump(), 400, "'seed' must be an integer");
  // Wrong JSON types name the field, what it must be and what came.
  expect_error(c, chat({{"n", "2"}}).dump(), 400, "'n' must be an integer, got a string");
  expect_error(c, chat({{"n", 0}}).dump(), 400, "'n' must be between 1");
  expect_error(c, chat({{"tool_choice", 5}}).dump(), 400,
               "'tool_choice' must be a string or an object, got a number");
  expect_error(c, chat({{"stream", true}, {"stream_options", {1}}}).dump(), 400,
               "'stream_options' must be an object, got an array");
  expect_error(c, "\"hello\"", 400, "the body must be an object, got a string");
  expect_error("/v1/completions",
               json{{"model", server_->model()}, {"prompt", "x"}, {"best_of", true}}.dump(), 400,
               "'best_of' must be an integer, got a boolean");
  auto one = post(c, chat({{"n", 1.0}}).dump());
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200) << "n = 1.0 is 1: " << one->body;
  // A header line over cpp-httplib's 8 KiB limit: 431; one just under it is fine.
  httplib::Client client("127.0.0.1", server_->port());
  auto huge = client.Get("/health", {{"X-Padding", std::string(9000, 'x')}});
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 431);
  EXPECT_NE(huge->body.find("header is longer than 8 KiB"), std::string::npos) << huge->body;
  // A compressed body could inflate past the body limit: refused before it is read.
  httplib::Client gzip_client("127.0.0.1", server_->port());
  gzip_client.set_compress(true);
  auto gzipped = gzip_client.Post(c.c_str(), chat({}).dump(), "application/json");
  ASSERT_TRUE(gzipped);
  EXPECT_EQ(gzipped->status, 415);
  EXPECT_NE(gzipped->body.find("Content-Encoding: gzip"), std::string::npos) << gzipped->body;
  auto large = client.Get("/health", {{"X-Padding", std::string(8000, 'x')}});
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 200);
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_TRUE(server_->running());
}

TEST(ServerAuth, ApiKeyIsRequiredOnV1Routes) {
  ServerProcess server({"--api-key", "sesame"});
  httplib::Client client("127.0.0.1", server.port());
  auto denied = client.Get("/v1/models");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  EXPECT_NE(denied->body.find("API key"), std::string::npos);
  httplib::Headers wrong = {{"Authorization", "Bearer open"}};
  EXPECT_EQ(client.Get("/v1/models", wrong)->status, 401);
  httplib::Headers right = {{"Authorization", "Bearer sesame"}};
  EXPECT_EQ(client.Get("/v1/models", right)->status, 200);
  EXPECT_EQ(client.Get("/health")->status, 200) << "health stays open for probes";
}

TEST(ServerThreads, IdleKeepAliveConnectionsDoNotStallNewRequestsForLong) {
  ServerProcess server({"--http-threads", "2"});
  // Every worker thread held by an idle keep-alive connection (as a client's connection pool
  // leaves them), then one more request: it waits until a keep-alive runs out.
  std::vector<std::unique_ptr<httplib::Client>> idle;
  for (int i = 0; i < 2; ++i) {
    idle.push_back(std::make_unique<httplib::Client>("127.0.0.1", server.port()));
    idle.back()->set_keep_alive(true);
    auto res = idle.back()->Get("/health");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
  }
  httplib::Client late("127.0.0.1", server.port());
  late.set_read_timeout(60);
  const auto start = std::chrono::steady_clock::now();
  auto res = late.Get("/v1/models");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_LT(seconds, 10) << "a new request waited for an idle connection's keep-alive to run out";
}

TEST(ServerShutdown, SigtermDrainsAndExitsCleanly) {
  ServerProcess server({"--shutdown-grace-seconds", "1"});
  // A long generation in flight when the signal arrives.
  std::thread client_thread([&] {
    httplib::Client client("127.0.0.1", server.port());
    client.set_read_timeout(60);
    json body = {{"model", server.model()},
                 {"prompt", "In the beginning"},
                 {"max_tokens", 6000},
                 {"stream", true},
                 {"ignore_eos", true}};
    client.Post("/v1/completions", body.dump(), "application/json");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int status = server.stop(SIGTERM, std::chrono::seconds(20));
  client_thread.join();
  EXPECT_EQ(status, 0) << server.log();
  EXPECT_NE(server.log().find("SIGTERM received"), std::string::npos);
  EXPECT_NE(server.log().find("m3 serve: stopped"), std::string::npos);
}

} // namespace
} // namespace m3::test_support
