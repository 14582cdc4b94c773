#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace m3 {

IncrementalDetokenizer::IncrementalDetokenizer(Tokenizer tokenizer, bool skip_special)
    : tokenizer_(std::move(tokenizer)), skip_special_(skip_special) {}

std::string IncrementalDetokenizer::push(int32_t id) {
  const std::string_view bytes = tokenizer_.token_bytes(id);
  if (tokenizer_.is_special(id)) {
    if (skip_special_)
      return {};
    // A special token ends any unfinished character: it can no longer be completed.
    std::string out = flush();
    out += bytes;
    return out;
  }
  pending_ += bytes;
  const size_t complete = utf8::complete_prefix_length(pending_);
  std::string out = utf8::lossy(std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return out;
}

std::string IncrementalDetokenizer::flush() {
  std::string out = utf8::lossy(pending_);
  pending_.clear();
  return out;
}

} // namespace m3
