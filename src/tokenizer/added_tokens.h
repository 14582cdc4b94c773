#pragma once
// Added tokens of tokenizer.json, found in the text before normalization/BPE (HF's
// AddedVocabulary): leftmost-longest matching with the single_word, lstrip and rstrip flags.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace m3 {

struct AddedToken {
  int32_t id;
  std::string content;
  bool special;
  bool single_word;
  bool lstrip;
  bool rstrip;
  bool normalized;
};

class AddedTokenMatcher {
public:
  // A piece of the text: either plain text [begin, end) or a matched token (id >= 0).
  struct Segment {
    size_t begin, end;
    int32_t id;
  };

  // patterns[i] is what tokens[i] matches (its content, normalized for normalized tokens).
  AddedTokenMatcher(std::vector<AddedToken> tokens, std::vector<std::string> patterns);
  bool empty() const { return tokens_.empty(); }

  // Cuts text into plain and token segments. Special tokens are ignored unless parse_special.
  void split(std::string_view text, bool parse_special, std::vector<Segment> &out) const;

private:
  std::vector<AddedToken> tokens_;
  std::vector<std::string> patterns_;
  std::array<std::vector<uint32_t>, 256> by_first_byte_; // token indices, longest first
};

} // namespace m3
