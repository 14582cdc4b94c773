// Reasoning split for every thinking mode (serving.md §2.5, §3 "bare </mm:think>", "marker as
// reasoning end"), one-shot and at every split point.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chat/reasoning_parser.h"
#include "core/error.h"
#include "parse_test_util.h"

namespace m3::chat {
namespace {

using test::expect_split_invariant;

struct Case {
  const char *name;
  ThinkingMode mode;
  std::string text;
  std::string reasoning;
  std::string content;
};

const Case kCases[] = {
    {"enabled: opener prefilled by the prompt", ThinkingMode::kEnabled,
     "The user wants a forecast.\nStep 2.</mm:think>It is sunny.",
     "The user wants a forecast.\nStep 2.", "It is sunny."},
    {"enabled: model repeats the opener", ThinkingMode::kEnabled, "<mm:think>plan</mm:think>answer",
     "plan", "answer"},
    {"enabled: empty reasoning", ThinkingMode::kEnabled, "</mm:think>answer", "", "answer"},
    {"enabled: truncated inside reasoning", ThinkingMode::kEnabled, "still thinking <mm:th",
     "still thinking <mm:th", ""},
    {"disabled: plain answer", ThinkingMode::kDisabled, "Hello, world!\nWhat's up?", "",
     "Hello, world!\nWhat's up?"},
    {"disabled: bare closer prefix dropped", ThinkingMode::kDisabled, "</mm:think>Hello", "",
     "Hello"},
    {"adaptive: model thinks", ThinkingMode::kAdaptive,
     "<mm:think>I'm\nthinking</mm:think>Hello, world!\nWhat's up?", "I'm\nthinking",
     "Hello, world!\nWhat's up?"},
    {"adaptive: bare closer prefix", ThinkingMode::kAdaptive, "</mm:think>Hello, world!", "",
     "Hello, world!"},
    {"adaptive: answers directly", ThinkingMode::kAdaptive, "Just an answer with </b> tags <i>.",
     "", "Just an answer with </b> tags <i>."},
    {"adaptive: reasoning after leading whitespace", ThinkingMode::kAdaptive,
     "\n<mm:think>hmm</mm:think>\n\nok", "hmm", "\n\n\nok"},
    {"tool namespace token ends reasoning and stays in content", ThinkingMode::kEnabled,
     "call it]<]minimax[>[<tool_call>", "call it", "]<]minimax[>[<tool_call>"},
    {"text that only looks like a marker", ThinkingMode::kEnabled,
     "a <mm:thinker> and ]<]minimax</mm:think>b <mm:thin", "a <mm:thinker> and ]<]minimax",
     "b <mm:thin"},
    {"second think block later in the output", ThinkingMode::kAdaptive,
     "<mm:think>one</mm:think>mid<mm:think>two</mm:think>end", "onetwo", "midend"},
    {"unicode around markers", ThinkingMode::kEnabled, "思考🙂</mm:think>答案é",
     "思考🙂", "答案é"},
    {"empty output", ThinkingMode::kAdaptive, "", "", ""},
};

TEST(ReasoningParser, SplitsEveryModeOneShot) {
  for (const Case &c : kCases) {
    SCOPED_TRACE(c.name);
    ReasoningParser parser(c.mode);
    ReasoningSplit first = parser.feed(c.text);
    ReasoningSplit last = parser.finish();
    EXPECT_EQ(first.reasoning + last.reasoning, c.reasoning);
    EXPECT_EQ(first.content + last.content, c.content);
  }
}

TEST(ReasoningParser, ByteAtATimeNeverReleasesMarkerText) {
  for (const Case &c : kCases) {
    SCOPED_TRACE(c.name);
    ReasoningParser parser(c.mode);
    std::string reasoning, content;
    for (char byte : c.text) {
      ReasoningSplit piece = parser.feed(std::string_view(&byte, 1));
      reasoning += piece.reasoning;
      content += piece.content;
      // Whatever went out so far is a prefix of the final answer: nothing is ever taken back.
      EXPECT_TRUE(std::string_view(c.reasoning).starts_with(reasoning)) << reasoning;
      EXPECT_TRUE(std::string_view(c.content).starts_with(content)) << content;
    }
    ReasoningSplit last = parser.finish();
    EXPECT_EQ(reasoning + last.reasoning, c.reasoning);
    EXPECT_EQ(content + last.content, c.content);
  }
}

TEST(ReasoningParser, EverySplitPointThroughTheFullParser) {
  for (const Case &c : kCases) {
    SCOPED_TRACE(c.name);
    expect_split_invariant(c.text, c.mode, nlohmann::json());
  }
}

TEST(ReasoningParser, HoldsBackOnlyWhatCouldStartAMarker) {
  ReasoningParser parser(ThinkingMode::kEnabled);
  EXPECT_EQ(parser.feed("abc</mm:th").reasoning, "abc");
  EXPECT_EQ(parser.feed("x").reasoning, "</mm:thx");
  EXPECT_EQ(parser.feed("]<]mini").reasoning, "");
  ReasoningSplit end = parser.finish();
  EXPECT_EQ(end.reasoning, "]<]mini");
}

TEST(ReasoningParser, ThinkingModeFromRequest) {
  using nlohmann::json;
  EXPECT_EQ(thinking_mode_of_request(json::object()), ThinkingMode::kAdaptive);
  EXPECT_EQ(
      thinking_mode_of_request(json{{"chat_template_kwargs", {{"thinking_mode", "enabled"}}}}),
      ThinkingMode::kEnabled);
  EXPECT_EQ(
      thinking_mode_of_request(json{{"chat_template_kwargs", {{"thinking_mode", "disabled"}}}}),
      ThinkingMode::kDisabled);
  EXPECT_EQ(
      thinking_mode_of_request(json{{"chat_template_kwargs", {{"thinking_mode", "adaptive"}}}}),
      ThinkingMode::kAdaptive);
  EXPECT_THROW(thinking_mode_of_request(json{{"chat_template_kwargs", {{"thinking_mode", "on"}}}}),
               m3::Error);
  EXPECT_THROW(thinking_mode_of_request(json{{"chat_template_kwargs", {{"thinking_mode", 1}}}}),
               m3::Error);
}

} // namespace
} // namespace m3::chat
