#pragma once
// Splits MiniMax-M3 output into reasoning (<mm:think>...</mm:think>) and content, incrementally.
//
// The request's thinking mode only decides where the output starts:
//   enabled  - the prompt ends with <mm:think>, so the output starts inside reasoning;
//   disabled - the prompt ends with </mm:think>, so the output starts in content;
//   adaptive - the model may open a think block itself or answer directly.
// After that the rules are the same for every mode: <mm:think> opens reasoning, </mm:think> closes
// it (a bare closer outside reasoning, e.g. the "</mm:think>answer" prefix, is dropped), and the
// tool namespace token ends reasoning too (a model may jump into a call without closing its
// thoughts), the token itself then belongs to content. Marker text never reaches either output.
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace m3::chat {

enum class ThinkingMode { kEnabled, kDisabled, kAdaptive };

// "enabled" | "disabled" | "adaptive"; anything else is a user error (m3::Error).
ThinkingMode parse_thinking_mode(std::string_view name);
// The mode of an OpenAI chat request: chat_template_kwargs.thinking_mode, default adaptive
// (what the official template does when the kwarg is unset).
ThinkingMode thinking_mode_of_request(const nlohmann::json &request);

struct ReasoningSplit {
  std::string reasoning;
  std::string content;
};

class ReasoningParser {
public:
  explicit ReasoningParser(ThinkingMode mode);

  // Returns the text that is now certain; bytes that may start a marker are held back.
  ReasoningSplit feed(std::string_view text);
  // End of output: releases whatever is held back.
  ReasoningSplit finish();

private:
  enum class State { kStart, kReasoning, kContent };
  ReasoningSplit drain(bool at_end);

  ThinkingMode mode_;
  State state_ = State::kStart;
  std::string pending_;
};

} // namespace m3::chat
