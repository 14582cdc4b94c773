// The server under concurrency: 32 streaming clients with disconnects (pages come back, metrics
// prove it), non-streaming clients that hang up (their requests are cancelled), batch invariance of
// greedy output, and prefix caching across conversation turns (hits counted, output identical to a
// server without prefix caching).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

#include "server_process.h"

namespace m3::test_support {
namespace {

using json = nlohmann::json;

double metric(const std::string &metrics, const std::string &name) {
  std::smatch match;
  const std::regex line(
      "\n" + std::regex_replace(name, std::regex(R"([\{\}\[\]\.\+\*\?\^\$\|\(\)\\])"), R"(\$&)") +
      R"((\{[^}]*\})? ([-+0-9.eE]+|NaN))");
  if (!std::regex_search(metrics, match, line))
    throw std::runtime_error("no metric " + name);
  return std::stod(match[2]);
}

std::string get(const ServerProcess &server, const std::string &path) {
  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Get(path.c_str());
  if (!res || res->status != 200)
    throw std::runtime_error("GET " + path + " failed");
  return res->body;
}

json post(const ServerProcess &server, const std::string &path, const json &body) {
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(300);
  auto res = client.Post(path.c_str(), body.dump(), "application/json");
  if (!res)
    throw std::runtime_error("POST " + path + " got no response");
  if (res->status != 200)
    throw std::runtime_error("POST " + path + ": " + res->body);
  return json::parse(res->body);
}

TEST(ServerLoad, ConcurrentStreamsWithDisconnectsReleaseEveryPage) {
  ServerProcess server({"--max-num-seqs", "16"}); // fewer slots than clients: requests queue
  auto [status, output] = run_command("node tests/server/load.mjs " + server.base_url() + " " +
                                      server.model() + " 32 3");
  ASSERT_EQ(status, 0) << output << "\n" << server.log().substr(0, 3000);
  json summary = json::parse(output.substr(output.find('{')));
  EXPECT_EQ(summary["finished"].get<int>(), 24 * 3);
  EXPECT_EQ(summary["aborted"].get<int>(), 8 * 3);
  // Cancellation is processed by the engine within a step; give it a moment.
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = get(server, "/metrics");
    if (metric(metrics, "m3:kv_cache_pages_in_use") == 0 &&
        metric(metrics, "vllm:num_requests_running") == 0)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(metric(metrics, "m3:kv_cache_pages_in_use"), 0) << metrics;
  EXPECT_EQ(metric(metrics, "vllm:kv_cache_usage_perc"), 0);
  EXPECT_EQ(metric(metrics, "vllm:num_requests_running"), 0);
  EXPECT_EQ(metric(metrics, "vllm:num_requests_waiting"), 0);
  EXPECT_GE(metric(metrics, "vllm:request_success_total{model_name=\"" + server.model() +
                                "\",finished_reason=\"abort\"}"),
            1)
      << "disconnected streams are cancelled in the engine";
  EXPECT_GE(metric(metrics, "vllm:time_to_first_token_seconds_count"), 96);
  EXPECT_TRUE(server.running());
  EXPECT_EQ(get(server, "/health"), "{}");
  // A clean exit after the load: under `make test-asan` a leak or memory error fails here.
  EXPECT_EQ(server.stop(), 0) << server.log().substr(0, 6000);
}

// Polls /metrics until done(metrics) or the timeout; returns the last metrics text.
template <typename Done>
std::string wait_for_metrics(const ServerProcess &server, std::chrono::seconds timeout, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string metrics = get(server, "/metrics");
  while (!done(metrics) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    metrics = get(server, "/metrics");
  }
  return metrics;
}

// Sends one HTTP POST over a raw socket and returns the socket, without reading the answer.
int send_post(int port, const std::string &path, const std::string &body) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot connect to the server");
  const std::string request = "POST " + path +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                              "Content-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  if (send(fd, request.data(), request.size(), 0) != ssize_t(request.size()))
    throw std::runtime_error("cannot send the request");
  return fd;
}

// What a failed disconnect check prints: the server's log (request lines, errors) and metrics.
std::string server_state(const ServerProcess &server, const std::string &metrics) {
  return "\n--- server log:\n" + server.log() + "--- metrics:\n" + metrics;
}

// A fresh prompt: twelve words drawn at random.
std::string random_text(std::mt19937 &rng) {
  static const std::vector<std::string> kWords = {"light",    "waters", "earth",  "firmament",
                                                  "darkness", "seed",   "heaven", "fowl",
                                                  "evening",  "morning"};
  std::string text = "And";
  for (int i = 0; i < 12; ++i)
    text += " " + kWords[rng() % kWords.size()];
  return text;
}

TEST(ServerDisconnect, NonStreamingRequestOfAGoneClientIsCancelled) {
  ServerProcess server({"--max-model-len", "8192"});
  const std::string aborted =
      "vllm:request_success_total{model_name=\"" + server.model() + "\",finished_reason=\"abort\"}";
  std::mt19937 rng(std::random_device{}());
  // Seconds of generation (the chat template's system prompt takes ~300 of the 8192 tokens): far
  // longer than seeing the request run and cancelling it take, even on a loaded machine.
  constexpr int kMaxTokens = 7500;
  for (const std::string path : {"/v1/completions", "/v1/chat/completions"}) {
    SCOPED_TRACE(path);
    json body = {{"model", server.model()}, {"max_tokens", kMaxTokens}, {"ignore_eos", true}};
    if (path == "/v1/completions")
      body["prompt"] = random_text(rng);
    else
      body["messages"] = {{{"role", "user"}, {"content", random_text(rng)}}};
    const std::string before = get(server, "/metrics");
    const int fd = send_post(server.port(), path, body.dump());
    std::string metrics = wait_for_metrics(server, std::chrono::seconds(60), [](const auto &m) {
      return metric(m, "vllm:num_requests_running") == 1 &&
             metric(m, "m3:kv_cache_pages_in_use") > 0;
    });
    if (metric(metrics, "vllm:num_requests_running") != 1) {
      char answer[2048] = {};
      recv(fd, answer, sizeof answer - 1, MSG_DONTWAIT);
      close(fd);
      FAIL() << "the request never ran; the server answered: " << answer
             << server_state(server, metrics);
    }
    close(fd);
    const auto closed_at = std::chrono::steady_clock::now();
    metrics = wait_for_metrics(server, std::chrono::seconds(30), [](const auto &m) {
      return metric(m, "m3:kv_cache_pages_in_use") == 0 &&
             metric(m, "vllm:num_requests_running") == 0;
    });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - closed_at).count();
    EXPECT_EQ(metric(metrics, "m3:kv_cache_pages_in_use"), 0) << server_state(server, metrics);
    EXPECT_EQ(metric(metrics, "vllm:num_requests_running"), 0);
    const double generated = metric(metrics, "vllm:generation_tokens_total") -
                             metric(before, "vllm:generation_tokens_total");
    EXPECT_EQ(metric(metrics, aborted) - metric(before, aborted), 1)
        << "the request was cancelled, not run to its end (pages freed after " << seconds << " s)"
        << server_state(server, metrics);
    EXPECT_LT(generated, kMaxTokens);
    std::printf("%s: pages freed %.0f ms after the client hung up (%.0f of %d tokens made)\n",
                path.c_str(), seconds * 1000, generated, kMaxTokens);
  }
  EXPECT_NE(server.log().find("stream=0 prompt_tokens="), std::string::npos);
  EXPECT_NE(server.log().find("client_disconnected=1"), std::string::npos) << server.log();
  EXPECT_EQ(get(server, "/health"), "{}");
  // A clean exit: under `make test-asan` a leak or memory error fails here.
  EXPECT_EQ(server.stop(), 0) << server.log().substr(0, 6000);
}

// A streaming request waiting in the queue writes nothing that would reveal a gone client; it
// still leaves the queue soon after its client hangs up (well before the 2 s SSE keep-alive).
TEST(ServerDisconnect, QueuedStreamOfAGoneClientLeavesTheQueue) {
  ServerProcess server({"--max-model-len", "8192", "--max-num-seqs", "1"});
  const std::string aborted =
      "vllm:request_success_total{model_name=\"" + server.model() + "\",finished_reason=\"abort\"}";
  std::mt19937 rng(std::random_device{}());
  auto request = [&](bool stream) {
    return json{{"model", server.model()},
                {"prompt", random_text(rng)},
                {"max_tokens", 8000},
                {"ignore_eos", true},
                {"stream", stream}}
        .dump();
  };
  // One long request holds the only sequence slot; a streaming one waits behind it.
  const int running_fd = send_post(server.port(), "/v1/completions", request(false));
  std::string metrics = wait_for_metrics(server, std::chrono::seconds(60), [](const auto &m) {
    return metric(m, "vllm:num_requests_running") == 1;
  });
  ASSERT_EQ(metric(metrics, "vllm:num_requests_running"), 1) << server_state(server, metrics);
  const int queued_fd = send_post(server.port(), "/v1/completions", request(true));
  metrics = wait_for_metrics(server, std::chrono::seconds(60), [](const auto &m) {
    return metric(m, "vllm:num_requests_waiting") == 1;
  });
  ASSERT_EQ(metric(metrics, "vllm:num_requests_waiting"), 1) << server_state(server, metrics);
  const double aborted_before = metric(metrics, aborted);
  close(queued_fd);
  const auto closed_at = std::chrono::steady_clock::now();
  metrics = wait_for_metrics(server, std::chrono::seconds(30), [](const auto &m) {
    return metric(m, "vllm:num_requests_waiting") == 0;
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - closed_at).count();
  EXPECT_EQ(metric(metrics, "vllm:num_requests_waiting"), 0);
  EXPECT_EQ(metric(metrics, aborted) - aborted_before, 1) << server_state(server, metrics);
  EXPECT_LT(seconds, 1.0) << "the queued stream was noticed only by its keep-alive write (2 s)"
                          << server_state(server, metrics);
  EXPECT_EQ(metric(metrics, "vllm:num_requests_running"), 1) << "the long request runs on";
  std::printf("queued stream left the queue %.0f ms after the client hung up\n", seconds * 1000);
  close(running_fd);
  metrics = wait_for_metrics(server, std::chrono::seconds(30), [](const auto &m) {
    return metric(m, "m3:kv_cache_pages_in_use") == 0;
  });
  EXPECT_EQ(metric(metrics, "m3:kv_cache_pages_in_use"), 0);
  EXPECT_EQ(server.stop(), 0) << server.log().substr(0, 6000);
}

TEST(ServerBatching, GreedyOutputIsTheSameAloneAndInABatch) {
  ServerProcess server({"--no-enable-prefix-caching"});
  auto request = [&](const std::string &prompt) {
    return json{
        {"model", server.model()}, {"prompt", prompt}, {"max_tokens", 24}, {"temperature", 0}};
  };
  const std::string probe = "And the LORD spake unto Moses, saying";
  const std::string alone = post(server, "/v1/completions", request(probe))["choices"][0]["text"];
  std::vector<std::future<json>> others;
  std::vector<std::string> prompts;
  for (int i = 0; i < 8; ++i) {
    std::string prompt = "Verse " + std::to_string(i * 7 + 3) + ":";
    for (int j = 0; j <= i; ++j)
      prompt += " and the waters prevailed";
    prompts.push_back(prompt);
  }
  for (const auto &prompt : prompts)
    others.push_back(std::async(std::launch::async, [&, prompt] {
      return post(server, "/v1/completions", request(prompt));
    }));
  auto batched = std::async(std::launch::async,
                            [&] { return post(server, "/v1/completions", request(probe)); });
  for (auto &f : others)
    f.get();
  EXPECT_EQ(batched.get()["choices"][0]["text"], alone);
  EXPECT_GT(metric(get(server, "/metrics"), "m3:engine_steps_total"), 0);
}

TEST(ServerPrefixCache, SecondTurnReusesPagesAndMatchesAnUncachedServer) {
  ServerProcess cached;
  ServerProcess uncached({"--no-enable-prefix-caching"});
  json turn = {{"model", cached.model()},
               {"max_tokens", 16},
               {"temperature", 0},
               {"chat_template_kwargs", {{"thinking_mode", "disabled"}}},
               {"messages", {{{"role", "user"}, {"content", "Tell me about Noah and the ark."}}}}};
  json first = post(cached, "/v1/chat/completions", turn);
  EXPECT_EQ(first["choices"][0]["message"],
            post(uncached, "/v1/chat/completions", turn)["choices"][0]["message"]);
  const double hits_before = metric(get(cached, "/metrics"), "vllm:prefix_cache_hits_total");

  turn["messages"].push_back(
      {{"role", "assistant"}, {"content", first["choices"][0]["message"]["content"]}});
  turn["messages"].push_back({{"role", "user"}, {"content", "And what came after the flood?"}});
  json second = post(cached, "/v1/chat/completions", turn);
  json reference = post(uncached, "/v1/chat/completions", turn);
  EXPECT_EQ(second["choices"][0]["message"], reference["choices"][0]["message"]);
  const int cached_tokens = second["usage"]["prompt_tokens_details"]["cached_tokens"];
  EXPECT_GE(cached_tokens, first["usage"]["prompt_tokens"].get<int>() / 32 * 32 - 32)
      << "the first turn's full pages are reused";
  EXPECT_EQ(reference["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  EXPECT_GE(metric(get(cached, "/metrics"), "vllm:prefix_cache_hits_total") - hits_before,
            cached_tokens);
}

} // namespace
} // namespace m3::test_support
