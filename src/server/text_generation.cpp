#include "server/text_generation.h"

#include <algorithm>

namespace m3::server {

TextGeneration::TextGeneration(Engine &engine, const Tokenizer &tokenizer,
                               Engine::Submitted submitted, std::vector<std::string> stop_strings)
    : engine_(engine), id_(submitted.id), stream_(std::move(submitted.stream)),
      detokenizer_(tokenizer, /*skip_special=*/false), stop_strings_(std::move(stop_strings)),
      start_(std::chrono::steady_clock::now()) {}

TextGeneration::~TextGeneration() { cancel(); }

void TextGeneration::cancel() {
  if (!stream_->finished())
    engine_.cancel(id_);
}

std::optional<GenerationPiece> TextGeneration::next(std::chrono::milliseconds timeout) {
  auto event = stream_->pop(timeout);
  if (!event)
    return std::nullopt;
  GenerationPiece piece;
  absorb(*event, piece);
  // Take whatever else is already queued, so slow readers catch up in one piece.
  while (!finished()) {
    auto more = stream_->pop(std::chrono::milliseconds(0));
    if (!more)
      break;
    absorb(*more, piece);
  }
  piece.finish = finish_;
  return piece;
}

void TextGeneration::absorb(const TokenEvent &event, GenerationPiece &piece) {
  if (finished())
    return; // e.g. the cancellation that follows a stop-string match
  prompt_tokens_ = event.prompt_tokens;
  cached_tokens_ = event.cached_prompt_tokens;
  if (event.token >= 0) {
    if (completion_tokens_ == 0)
      ttft_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    ++completion_tokens_;
    piece.tokens.push_back({event.token, event.logprob, event.top_logprobs});
    // An eos/stop token ends the text; it is not part of it.
    if (!event.stopped_by_token)
      pending_ += detokenizer_.push(event.token);
  }
  if (event.finish != FinishReason::kNone) {
    pending_ += detokenizer_.flush();
    finish_ = event.finish;
  }
  // Earliest stop-string match wins.
  size_t cut = std::string::npos;
  for (const auto &stop : stop_strings_)
    cut = std::min(cut, pending_.find(stop));
  if (cut != std::string::npos) {
    pending_.resize(cut);
    if (finish_ == FinishReason::kNone)
      engine_.cancel(id_);
    finish_ = FinishReason::kStop;
  }
  release_text(piece, finished());
}

void TextGeneration::release_text(GenerationPiece &piece, bool at_end) {
  size_t hold = 0;
  if (!at_end) {
    for (const auto &stop : stop_strings_)
      for (size_t n = std::min(stop.size() - 1, pending_.size()); n > hold; --n)
        if (pending_.compare(pending_.size() - n, n, stop, 0, n) == 0) {
          hold = n;
          break;
        }
  }
  piece.text += pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
}

} // namespace m3::server
