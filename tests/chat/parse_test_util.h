#pragma once
// Helpers shared by the output-parser tests: feeding text in pieces and comparing results
// (tool-call ids are random, so they are compared for shape only).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/output_parser.h"

namespace m3::chat::test {

// Parses `text` fed as the pieces between `cuts` (sorted offsets), also rebuilding the result from
// the streamed deltas alone, and checks the two agree.
inline ParsedOutput parse_in_pieces(std::string_view text, const std::vector<size_t> &cuts,
                                    ThinkingMode mode, const nlohmann::json &tools) {
  OutputParser parser(mode, tools);
  ParsedOutput from_deltas;
  auto absorb = [&](const Delta &delta) {
    from_deltas.reasoning_content += delta.reasoning;
    from_deltas.content += delta.content;
    for (const ToolCallDelta &piece : delta.tool_calls) {
      EXPECT_EQ(piece.index,
                static_cast<int>(from_deltas.tool_calls.size()) - (piece.id.empty() ? 1 : 0));
      if (!piece.id.empty()) {
        from_deltas.tool_calls.push_back({piece.id, piece.name, {}});
        EXPECT_EQ(piece.arguments, "");
      } else {
        from_deltas.tool_calls.back().arguments = nlohmann::ordered_json::parse(piece.arguments);
      }
    }
  };
  size_t begin = 0;
  for (size_t cut : cuts) {
    absorb(parser.feed(text.substr(begin, cut - begin)));
    begin = cut;
  }
  absorb(parser.feed(text.substr(begin)));
  absorb(parser.finish());
  const ParsedOutput &parsed = parser.parsed();
  EXPECT_EQ(from_deltas.content, parsed.content);
  EXPECT_EQ(from_deltas.reasoning_content, parsed.reasoning_content);
  EXPECT_EQ(from_deltas.tool_calls.size(), parsed.tool_calls.size());
  for (size_t i = 0; i < parsed.tool_calls.size() && i < from_deltas.tool_calls.size(); ++i) {
    EXPECT_EQ(from_deltas.tool_calls[i].id, parsed.tool_calls[i].id);
    EXPECT_EQ(from_deltas.tool_calls[i].name, parsed.tool_calls[i].name);
    EXPECT_EQ(from_deltas.tool_calls[i].arguments, parsed.tool_calls[i].arguments);
  }
  return parsed;
}

// Same content, reasoning, call names and arguments (argument key order included); ids differ.
inline void expect_same_output(const ParsedOutput &got, const ParsedOutput &want,
                               const std::string &context) {
  SCOPED_TRACE(context);
  EXPECT_EQ(got.content, want.content);
  EXPECT_EQ(got.reasoning_content, want.reasoning_content);
  ASSERT_EQ(got.tool_calls.size(), want.tool_calls.size());
  for (size_t i = 0; i < got.tool_calls.size(); ++i) {
    EXPECT_EQ(got.tool_calls[i].name, want.tool_calls[i].name);
    EXPECT_EQ(got.tool_calls[i].arguments_json(), want.tool_calls[i].arguments_json());
    EXPECT_TRUE(got.tool_calls[i].id.starts_with("call_"));
  }
}

// Every single split point, and every pair of split points when the text is short.
inline void expect_split_invariant(std::string_view text, ThinkingMode mode,
                                   const nlohmann::json &tools) {
  ParsedOutput whole = parse_in_pieces(text, {}, mode, tools);
  for (size_t cut = 0; cut <= text.size(); ++cut)
    expect_same_output(parse_in_pieces(text, {cut}, mode, tools), whole,
                       "split at " + std::to_string(cut));
  if (text.size() > 120)
    return;
  for (size_t a = 1; a < text.size(); ++a)
    for (size_t b = a + 1; b < text.size(); ++b)
      expect_same_output(parse_in_pieces(text, {a, b}, mode, tools), whole,
                         "splits at " + std::to_string(a) + "," + std::to_string(b));
}

// Random piece sizes 1..max_piece from a fresh seed (printed on failure).
inline void expect_random_chunks_invariant(std::string_view text, ThinkingMode mode,
                                           const nlohmann::json &tools, int rounds = 20) {
  ParsedOutput whole = parse_in_pieces(text, {}, mode, tools);
  std::random_device device;
  for (int round = 0; round < rounds; ++round) {
    unsigned seed = device();
    std::mt19937 rng(seed);
    size_t max_piece = 1 + rng() % 24;
    std::vector<size_t> cuts;
    for (size_t at = 1 + rng() % max_piece; at < text.size(); at += 1 + rng() % max_piece)
      cuts.push_back(at);
    expect_same_output(parse_in_pieces(text, cuts, mode, tools), whole,
                       "random pieces, seed " + std::to_string(seed));
  }
}

} // namespace m3::chat::test
