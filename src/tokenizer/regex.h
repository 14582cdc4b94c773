#pragma once
// PCRE2 regex (UTF + UCP, JIT-compiled) for the pre-tokenizer patterns of tokenizer.json.
// Subjects must be valid UTF-8: the encoder validates once per call, not per match.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace m3 {

class Regex {
public:
  explicit Regex(const std::string &pattern);
  ~Regex();
  Regex(const Regex &) = delete;
  Regex &operator=(const Regex &) = delete;

  // Calls on_match(begin, end) for each successive non-overlapping, non-empty match.
  template <typename OnMatch>
  void for_each_match(std::string_view subject, OnMatch &&on_match) const {
    size_t begin = 0, end = 0;
    for (size_t offset = 0; find(subject, offset, begin, end); offset = end)
      on_match(begin, end);
  }

  // The first non-empty match at or after offset, if any.
  bool find(std::string_view subject, size_t offset, size_t &begin, size_t &end) const;

private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

} // namespace m3
