#include "server/server_context.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "core/error.h"
#include "server/api_error.h"

namespace m3::server {

using json = nlohmann::ordered_json;

std::optional<GenerationPiece> StreamReader::next(bool &gone) {
  auto piece = generation_.next(std::chrono::milliseconds(250));
  if (piece)
    return piece;
  if (client_gone_())
    gone = true;
  else if (std::chrono::steady_clock::now() - last_write_ > std::chrono::seconds(2))
    gone = !write(": keep-alive\n\n");
  return piece;
}

bool StreamReader::write(const std::string &event) {
  last_write_ = std::chrono::steady_clock::now();
  return write_(event);
}

std::string random_id(const std::string &prefix) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static const char kAlphabet[] = "0123456789abcdef";
  std::string id = prefix;
  for (int i = 0; i < 24; ++i)
    id += kAlphabet[rng() % 16];
  return id;
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void check_admission(ServerContext &ctx, const std::string &model) {
  if (model != ctx.model.name())
    throw ApiError(404, "not_found_error",
                   "The model '" + model + "' does not exist; this server serves '" +
                       ctx.model.name() + "'",
                   "model");
  if (ctx.draining)
    throw ApiError(503, "service_unavailable", "the server is shutting down");
  if (ctx.model.engine().stats().num_waiting >= ctx.max_waiting_requests)
    throw ApiError(429, "rate_limit_error",
                   "the server is overloaded (" + std::to_string(ctx.max_waiting_requests) +
                       " requests waiting); retry later");
}

Request make_engine_request(ServerContext &ctx, std::vector<int32_t> prompt,
                            const GenerationOptions &options) {
  const int64_t limit = ctx.model.max_model_len();
  const int64_t prompt_len = int64_t(prompt.size());
  if (prompt_len == 0)
    invalid_request("the prompt is empty");
  if (prompt_len >= limit)
    invalid_request("This model's maximum context length is " + std::to_string(limit) +
                        " tokens. However, your prompt has " + std::to_string(prompt_len) +
                        " tokens (no room for the output).",
                    "messages");
  Request request;
  request.sampling = options.sampling;
  if (request.sampling.max_tokens == 0) {
    request.sampling.max_tokens = int32_t(limit - prompt_len);
  } else if (prompt_len + request.sampling.max_tokens > limit) {
    invalid_request("This model's maximum context length is " + std::to_string(limit) +
                        " tokens. However, you requested " +
                        std::to_string(prompt_len + request.sampling.max_tokens) + " tokens (" +
                        std::to_string(prompt_len) + " in the prompt, " +
                        std::to_string(request.sampling.max_tokens) +
                        " for the completion). Reduce the prompt or max_tokens.",
                    "max_tokens");
  }
  // The end-of-turn token is the model's EOS: ignore_eos generates past it (as vLLM does).
  if (!request.sampling.ignore_eos)
    for (int32_t id : ctx.model.stop_token_ids())
      request.sampling.stop_token_ids.push_back(id);
  request.prompt = std::move(prompt);
  return request;
}

std::unique_ptr<TextGeneration> start_generation(ServerContext &ctx, Request request,
                                                 const GenerationOptions &options) {
  Engine::Submitted submitted;
  try {
    submitted = ctx.model.engine().submit(std::move(request));
  } catch (const Error &error) {
    if (ctx.draining)
      throw ApiError(503, "service_unavailable", error.what());
    invalid_request(error.what());
  }
  return std::make_unique<TextGeneration>(ctx.model.engine(), ctx.model.tokenizer(), submitted,
                                          options.stop);
}

json usage_json(const TextGeneration &g) {
  return {{"prompt_tokens", g.prompt_tokens()},
          {"completion_tokens", g.completion_tokens()},
          {"total_tokens", g.prompt_tokens() + g.completion_tokens()},
          {"prompt_tokens_details", {{"cached_tokens", g.cached_prompt_tokens()}}}};
}

json chat_logprobs(const Tokenizer &tokenizer, const std::vector<GeneratedToken> &tokens) {
  auto entry = [&](int32_t id, float logprob) {
    const std::string_view raw = tokenizer.token_bytes(id);
    json bytes = json::array();
    for (unsigned char c : raw)
      bytes.push_back(int(c));
    const int32_t ids[1] = {id};
    return json{{"token", tokenizer.decode(ids)}, {"logprob", logprob}, {"bytes", bytes}};
  };
  json out = json::array();
  for (const GeneratedToken &t : tokens) {
    json item = entry(t.id, t.logprob);
    json top = json::array();
    for (const TokenLogprob &alt : t.top_logprobs)
      top.push_back(entry(alt.token, alt.logprob));
    item["top_logprobs"] = top;
    out.push_back(item);
  }
  return out;
}

std::string sse_event(const json &payload) {
  return "data: " + payload.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

void log_generation(const std::string &endpoint, const std::string &id, const TextGeneration &g,
                    bool stream, bool client_gone) {
  std::fprintf(stderr,
               "m3 serve: request id=%s endpoint=%s stream=%d prompt_tokens=%d cached_tokens=%d "
               "completion_tokens=%d ttft_s=%.3f finish=%s%s\n",
               id.c_str(), endpoint.c_str(), int(stream), g.prompt_tokens(),
               g.cached_prompt_tokens(), g.completion_tokens(), g.seconds_to_first_token(),
               finish_reason_name(g.finish_reason()), client_gone ? " client_disconnected=1" : "");
}

} // namespace m3::server
