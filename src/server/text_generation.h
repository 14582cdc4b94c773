#pragma once
// Turns one engine request's token events into text on the HTTP thread: incremental UTF-8-safe
// detokenisation, stop strings (held back until they can no longer match, cut at the match, and
// the engine request cancelled), and per-token logprob records.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "runtime/engine.h"
#include "tokenizer/tokenizer.h"

namespace m3::server {

struct GeneratedToken {
  int32_t id;
  float logprob;
  std::vector<TokenLogprob> top_logprobs;
};

struct GenerationPiece {
  std::string text;                   // text that is final (never retracted)
  std::vector<GeneratedToken> tokens; // tokens produced since the previous piece
  FinishReason finish = FinishReason::kNone;
};

class TextGeneration {
public:
  TextGeneration(Engine &engine, const Tokenizer &tokenizer, Engine::Submitted submitted,
                 std::vector<std::string> stop_strings);
  ~TextGeneration(); // cancels an unfinished request
  TextGeneration(const TextGeneration &) = delete;
  TextGeneration &operator=(const TextGeneration &) = delete;

  // Waits up to timeout for events; nullopt on timeout. After a piece with finish set, the
  // generation is over.
  std::optional<GenerationPiece> next(std::chrono::milliseconds timeout);
  void cancel();
  bool finished() const { return finish_ != FinishReason::kNone; }
  FinishReason finish_reason() const { return finish_; }

  uint64_t request_id() const { return id_; }
  int32_t prompt_tokens() const { return prompt_tokens_; }
  int32_t cached_prompt_tokens() const { return cached_tokens_; }
  int32_t completion_tokens() const { return completion_tokens_; }
  double seconds_to_first_token() const { return ttft_; }

private:
  void absorb(const TokenEvent &event, GenerationPiece &piece);
  // Moves the part of pending_ that cannot be the start of a stop string into piece.
  void release_text(GenerationPiece &piece, bool at_end);

  Engine &engine_;
  uint64_t id_;
  std::shared_ptr<RequestStream> stream_;
  IncrementalDetokenizer detokenizer_;
  std::vector<std::string> stop_strings_;
  std::string pending_;
  FinishReason finish_ = FinishReason::kNone;
  int32_t prompt_tokens_ = 0;
  int32_t cached_tokens_ = 0;
  int32_t completion_tokens_ = 0;
  std::chrono::steady_clock::time_point start_;
  double ttft_ = 0;
};

} // namespace m3::server
