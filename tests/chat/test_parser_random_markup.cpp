// Property tests on random sequences of M3 markup fragments (well-formed or not): parsing any text
// in random pieces gives the same result as parsing it whole, nothing crashes, and a parsed call
// never leaves its markers in content.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/markers.h"
#include "parse_test_util.h"

namespace m3::chat {
namespace {

std::string random_markup(std::mt19937 &rng) {
  const std::string token(kToolNamespace);
  const std::vector<std::string> fragments = {token,
                                              token + "<tool_call>\n",
                                              token + "</tool_call>",
                                              token + "<invoke name=\"get_time\">",
                                              token + "<invoke name='f'>",
                                              token + "</invoke>\n",
                                              token + "<city>",
                                              token + "</city>",
                                              token + "<item>",
                                              token + "</item>",
                                              token + "<n>",
                                              token + "</n>",
                                              token + " \n<",
                                              "<mm:think>",
                                              "</mm:think>",
                                              "]",
                                              "]<]",
                                              "<",
                                              ">",
                                              "text ",
                                              "\n",
                                              "  ",
                                              "42",
                                              "&lt;",
                                              "é",
                                              "<tool_call>",
                                              "</invoke>",
                                              "mini",
                                              "max[>["};
  std::string text;
  int count = 1 + static_cast<int>(rng() % 40);
  for (int i = 0; i < count; ++i)
    text += fragments[rng() % fragments.size()];
  return text;
}

TEST(ParserRandomMarkup, AnySplitGivesTheWholeResult) {
  const nlohmann::json tools = nlohmann::json::parse(R"([{"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {
      "city": {"type": "string"}, "n": {"type": "array", "items": {"type": "integer"}}}}}}])");
  unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int round = 0; round < 400; ++round) {
    std::string text = random_markup(rng);
    SCOPED_TRACE(text);
    ThinkingMode mode = static_cast<ThinkingMode>(rng() % 3);
    test::expect_random_chunks_invariant(text, mode, tools, 4);
    if (round % 20 == 0)
      test::expect_split_invariant(text, mode, tools);
  }
}

TEST(ParserRandomMarkup, WellFormedCallsLeaveNoMarkersInContent) {
  unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const std::string token(kToolNamespace);
  for (int round = 0; round < 200; ++round) {
    std::string prose = "p" + std::to_string(rng()) + (rng() % 2 ? "]" : " <b>");
    int calls = 1 + static_cast<int>(rng() % 3);
    std::string text = prose + token + "<tool_call>\n";
    for (int i = 0; i < calls; ++i)
      text += token + "<invoke name=\"f" + std::to_string(i) + "\">" + token + "<v>" +
              std::to_string(rng()) + token + "</v>" + token + "</invoke>\n";
    text += token + "</tool_call>" + (rng() % 2 ? "tail" : "");
    ParsedOutput parsed = parse_output(text, ThinkingMode::kDisabled, nlohmann::json());
    EXPECT_EQ(parsed.tool_calls.size(), static_cast<size_t>(calls)) << text;
    EXPECT_EQ(parsed.content.find("]<]"), std::string::npos) << parsed.content;
    EXPECT_TRUE(parsed.content.starts_with(prose)) << parsed.content;
  }
}

} // namespace
} // namespace m3::chat
