#pragma once
// Native types that cross the engine queue: what a request asks for and what comes back.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "model/forward_batch.h"

namespace m3 {

struct SamplingParams {
  float temperature = 1.0f; // 0 = greedy
  float top_p = 1.0f;
  int32_t top_k = 0; // 0 = off
  float min_p = 0.0f;
  std::optional<uint64_t> seed;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  float repetition_penalty = 1.0f;
  int32_t top_logprobs = -1; // -1 = no logprobs; 0.. = logprobs with that many alternatives
  int32_t max_tokens = 16;
  bool ignore_eos = false;
  std::vector<int32_t> stop_token_ids; // besides the model's eos
};

// Constrained decoding: restricts the next token. Called on the engine thread only.
class TokenConstraint {
public:
  virtual ~TokenConstraint() = default;
  // allowed has one entry per vocab id; set allowed[t] = 1 for every permitted token.
  virtual void allowed_tokens(std::vector<uint8_t> &allowed) = 0;
  virtual void accept(int32_t token) = 0;
};

struct Request {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  std::shared_ptr<TokenConstraint> constraint; // null = unconstrained
  // Vision features replacing the token embedding at some prompt positions (one mask entry per
  // prompt token); null for a text-only prompt.
  std::shared_ptr<const PromptEmbeddings> embeddings;
};

enum class FinishReason { kNone, kStop, kLength, kCancelled, kError };
const char *finish_reason_name(FinishReason reason);

struct TokenLogprob {
  int32_t token;
  float logprob;
};

struct TokenEvent {
  int32_t token = -1; // -1 when the event only reports the finish
  float logprob = 0;
  std::vector<TokenLogprob> top_logprobs;
  FinishReason finish = FinishReason::kNone;
  bool stopped_by_token = false; // finish came from eos/stop token (the token is not text)
  int32_t prompt_tokens = 0;
  int32_t cached_prompt_tokens = 0; // prompt tokens served from the prefix cache
};

// One request's token events, produced by the engine thread and consumed by one HTTP thread.
class RequestStream {
public:
  void push(TokenEvent event);
  // Waits up to timeout; nullopt on timeout.
  std::optional<TokenEvent> pop(std::chrono::milliseconds timeout);
  bool finished() const;

private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<TokenEvent> events_;
  bool finished_ = false;
};

} // namespace m3
