// The PCRE2 wrapper: Unicode property classes agree with utf8proc's (newer) Unicode tables on
// random code points, inside and outside character classes (\s is Unicode White_Space, as in
// Oniguruma), and successive matching skips empty matches.
#include <gtest/gtest.h>

#include <utf8proc.h>

#include <random>

#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace m3 {
namespace {

bool whole_match(const Regex &regex, const std::string &text) {
  size_t begin = 0, end = 0;
  return regex.find(text, 0, begin, end) && begin == 0 && end == text.size();
}

TEST(Regex, PropertyClassesFollowUtf8procCategories) {
  const Regex letter(R"(\p{L})"), symbol(R"(\p{S})"), other_symbol(R"(\p{So})"),
      not_letter(R"(\P{L})"), o200k_other(R"([^\s\p{L}\p{N}])"), space(R"(\s)"), not_space(R"(\S)"),
      digit(R"(\d)");
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 40000; ++round) {
    // Half near the planes where Unicode 15 added characters, half anywhere.
    char32_t c = round % 2 ? rng() % 0x32400 : rng() % 0x10FFFF;
    const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    if (category == UTF8PROC_CATEGORY_CS)
      continue;
    const char *name = utf8proc_category_string(static_cast<utf8proc_int32_t>(c));
    std::string text;
    utf8::append(text, c);
    SCOPED_TRACE(testing::Message() << "U+" << std::hex << static_cast<uint32_t>(c) << " " << name);
    ASSERT_EQ(whole_match(letter, text), name[0] == 'L');
    ASSERT_EQ(whole_match(not_letter, text), name[0] != 'L');
    ASSERT_EQ(whole_match(symbol, text), name[0] == 'S');
    ASSERT_EQ(whole_match(other_symbol, text), std::string(name) == "So");
    ASSERT_EQ(whole_match(space, text), unicode::is_whitespace(c));
    ASSERT_EQ(whole_match(not_space, text), !unicode::is_whitespace(c));
    ASSERT_EQ(whole_match(digit, text), std::string(name) == "Nd");
    ASSERT_EQ(whole_match(o200k_other, text),
              name[0] != 'L' && name[0] != 'N' && !unicode::is_whitespace(c));
  }
}

TEST(Regex, FindsSuccessiveMatchesAndSkipsEmptyOnes) {
  const Regex words(R"(\p{L}*)");
  std::vector<std::string> found;
  const std::string text = "ab 日本 c";
  words.for_each_match(
      text, [&](size_t begin, size_t end) { found.push_back(text.substr(begin, end - begin)); });
  EXPECT_EQ(found, (std::vector<std::string>{"ab", "日本", "c"}));
}

} // namespace
} // namespace m3
