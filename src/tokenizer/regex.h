#pragma once
// PCRE2 regex (UTF + UCP, JIT-compiled) for the pre-tokenizer patterns of tokenizer.json.
// Subjects must be valid UTF-8: the encoder validates once per call, not per match.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace m3 {

class Regex {
 public:
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Calls on_match(begin, end) for each successive non-overlapping, non-empty match.
  void for_each_match(std::string_view subject,
                      const std::function<void(size_t, size_t)>& on_match) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace m3
