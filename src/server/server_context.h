#pragma once
// State shared by the HTTP handlers of one server, and helpers every generation endpoint uses:
// admission checks, the engine request from validated options, logprobs/usage JSON, one log
// line per request.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/feature_cache.h"
#include "server/metrics.h"
#include "server/openai_request.h"
#include "server/served_model.h"
#include "server/text_generation.h"
#include "vision/request_media.h"

namespace m3::server {

struct ServerContext {
  explicit ServerContext(ServedModel &served) : model(served) {}
  ServedModel &model;
  RequestPolicy policy;
  vision::MediaPolicy media;                       // fetching and limits of image/video parts
  FeatureCache vision_features{size_t(256) << 20}; // tower outputs of recently seen media
  bool reasoning_parser = true;                    // --reasoning-parser minimax_m3
  bool tool_call_parser = true;                    // --tool-call-parser minimax_m3
  int32_t max_waiting_requests = 256;              // beyond this, 429
  HttpCounters http;
  std::atomic<bool> draining{false}; // SIGTERM: no new requests
};

// What a generation endpoint returns: `complete`, which waits for the whole answer and gives its
// JSON body, or `stream`, which writes SSE events through `write` (false = the client is gone) and
// returns when the generation is over. Both cancel the generation once `client_gone` says the
// client left.
using SseWriter = std::function<bool(const std::string &event)>;
using ClientGone = std::function<bool()>;
struct EndpointResponse {
  std::function<nlohmann::ordered_json(const ClientGone &client_gone)> complete;
  std::function<void(const SseWriter &write, const ClientGone &client_gone)> stream;
};

// The endpoint's answer for a prepared run (a class with complete() and stream(write)): the run
// lives as long as its stream does.
template <typename Run> EndpointResponse respond(std::shared_ptr<Run> run, bool stream) {
  EndpointResponse response;
  if (stream)
    response.stream = [run](const SseWriter &write, const ClientGone &client_gone) {
      run->stream(write, client_gone);
    };
  else
    response.complete = [run](const ClientGone &client_gone) { return run->complete(client_gone); };
  return response;
}

// While streaming: the next piece of the generation, or nullopt after a short wait. A wait without
// events checks whether the client left (then `gone` is set: a request still in the queue has
// nothing to write that would reveal it); after 2 s without events it writes an SSE comment,
// which keeps proxies open.
class StreamReader {
public:
  StreamReader(TextGeneration &generation, const SseWriter &write, const ClientGone &client_gone)
      : generation_(generation), write_(write), client_gone_(client_gone) {}
  std::optional<GenerationPiece> next(bool &gone);
  // Writes an event; false when the client is gone.
  bool write(const std::string &event);

private:
  TextGeneration &generation_;
  const SseWriter &write_;
  const ClientGone &client_gone_;
  std::chrono::steady_clock::time_point last_write_ = std::chrono::steady_clock::now();
};

std::string random_id(const std::string &prefix);
int64_t unix_time();

// 404 for another model name, 503 while draining, 429 when the queue is full.
void check_admission(ServerContext &ctx, const std::string &model);

// The engine request: checks the prompt against the context limit (400) and fills max_tokens
// (default: the rest of the context) and, unless ignore_eos, the end-of-turn stop tokens.
Request make_engine_request(ServerContext &ctx, std::vector<int32_t> prompt,
                            const GenerationOptions &options);

// Starts the generation in the engine (m3::Error from the engine becomes a 400).
std::unique_ptr<TextGeneration> start_generation(ServerContext &ctx, Request request,
                                                 const GenerationOptions &options);

nlohmann::ordered_json usage_json(const TextGeneration &generation);
// Chat-style logprobs entries ({token, logprob, bytes, top_logprobs}) for tokens.
nlohmann::ordered_json chat_logprobs(const Tokenizer &tokenizer,
                                     const std::vector<GeneratedToken> &tokens);
std::string sse_event(const nlohmann::ordered_json &payload);

// One structured log line per finished generation request.
void log_generation(const std::string &endpoint, const std::string &id,
                    const TextGeneration &generation, bool stream, bool client_gone);

} // namespace m3::server
