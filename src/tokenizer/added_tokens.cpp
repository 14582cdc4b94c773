#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace m3 {

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens,
                                     std::vector<std::string> patterns)
    : tokens_(std::move(tokens)), patterns_(std::move(patterns)) {
  for (uint32_t i = 0; i < patterns_.size(); ++i)
    if (!patterns_[i].empty())
      by_first_byte_[static_cast<uint8_t>(patterns_[i][0])].push_back(i);
  for (auto &bucket : by_first_byte_)
    std::stable_sort(bucket.begin(), bucket.end(), [&](uint32_t a, uint32_t b) {
      return patterns_[a].size() > patterns_[b].size();
    });
}

namespace {

bool whitespace_at(std::string_view text, size_t pos) {
  return unicode::is_whitespace(utf8::next(text, pos));
}

bool word_character_before(std::string_view text, size_t pos) {
  if (pos == 0)
    return false;
  size_t start = unicode::previous_char_start(text, pos);
  return unicode::is_word_character(utf8::next(text, start));
}

bool word_character_at(std::string_view text, size_t pos) {
  return pos < text.size() && unicode::is_word_character(utf8::next(text, pos));
}

} // namespace

void AddedTokenMatcher::split(std::string_view text, bool parse_special,
                              std::vector<Segment> &out) const {
  size_t plain_begin = 0;
  for (size_t pos = 0; pos < text.size();) {
    const uint32_t *found = nullptr;
    for (const uint32_t &index : by_first_byte_[static_cast<uint8_t>(text[pos])])
      if (text.substr(pos).starts_with(patterns_[index])) {
        found = &index;
        break;
      }
    if (!found) {
      ++pos;
      continue;
    }
    const AddedToken &token = tokens_[*found];
    const size_t match_end = pos + patterns_[*found].size();
    // Like HF, a match that is then rejected still hides the text it covered from other tokens.
    const bool rejected = (token.special && !parse_special) ||
                          (token.single_word && (word_character_before(text, pos) ||
                                                 word_character_at(text, match_end)));
    if (rejected) {
      pos = match_end;
      continue;
    }
    size_t begin = pos, end = match_end;
    if (token.lstrip)
      while (begin > plain_begin) {
        const size_t start = unicode::previous_char_start(text, begin);
        if (!whitespace_at(text, start))
          break;
        begin = start;
      }
    if (token.rstrip)
      while (end < text.size() && whitespace_at(text, end)) {
        size_t next = end;
        utf8::next(text, next);
        end = next;
      }
    if (begin > plain_begin)
      out.push_back({plain_begin, begin, -1});
    out.push_back({begin, end, token.id});
    plain_begin = pos = end;
  }
  if (plain_begin < text.size())
    out.push_back({plain_begin, text.size(), -1});
}

} // namespace m3
