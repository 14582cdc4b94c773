#include "chat/reasoning_parser.h"

#include <nlohmann/json.hpp>

#include "chat/markers.h"
#include "core/error.h"

namespace m3::chat {

namespace {

bool is_proper_prefix_of(std::string_view text, std::string_view marker) {
  return text.size() < marker.size() && marker.substr(0, text.size()) == text;
}

// Earliest occurrence of any of `markers` in `text` at or after `from`.
struct Found {
  size_t position = std::string_view::npos;
  std::string_view marker;
};
Found find_first(std::string_view text, std::initializer_list<std::string_view> markers) {
  Found found;
  for (std::string_view marker : markers) {
    size_t position = text.find(marker);
    if (position < found.position)
      found = {position, marker};
  }
  return found;
}

} // namespace

ThinkingMode parse_thinking_mode(std::string_view name) {
  if (name == "enabled")
    return ThinkingMode::kEnabled;
  if (name == "disabled")
    return ThinkingMode::kDisabled;
  if (name == "adaptive")
    return ThinkingMode::kAdaptive;
  fail("unknown thinking_mode '" + std::string(name) +
       "' (expected enabled, disabled or adaptive)");
}

ThinkingMode thinking_mode_of_request(const nlohmann::json &request) {
  auto kwargs = request.find("chat_template_kwargs");
  if (kwargs == request.end() || !kwargs->is_object())
    return ThinkingMode::kAdaptive;
  auto mode = kwargs->find("thinking_mode");
  if (mode == kwargs->end() || mode->is_null())
    return ThinkingMode::kAdaptive;
  require(mode->is_string(), "chat_template_kwargs.thinking_mode must be a string");
  return parse_thinking_mode(mode->get<std::string>());
}

ReasoningParser::ReasoningParser(ThinkingMode mode) : mode_(mode) {}

ReasoningSplit ReasoningParser::feed(std::string_view text) {
  pending_.append(text);
  return drain(false);
}

ReasoningSplit ReasoningParser::finish() { return drain(true); }

ReasoningSplit ReasoningParser::drain(bool at_end) {
  ReasoningSplit out;
  std::string_view rest = pending_;
  while (!rest.empty()) {
    if (state_ == State::kStart) {
      // A leading opener (or closer) only restates the mode; wait until it can be recognised.
      if (rest.starts_with(kThinkOpen)) {
        rest.remove_prefix(kThinkOpen.size());
        state_ = State::kReasoning;
      } else if (rest.starts_with(kThinkClose)) {
        rest.remove_prefix(kThinkClose.size());
        state_ = State::kContent;
      } else if (!at_end && (is_proper_prefix_of(rest, kThinkOpen) ||
                             is_proper_prefix_of(rest, kThinkClose))) {
        break;
      } else {
        state_ = mode_ == ThinkingMode::kEnabled ? State::kReasoning : State::kContent;
      }
      continue;
    }
    const bool reasoning = state_ == State::kReasoning;
    std::string &sink = reasoning ? out.reasoning : out.content;
    Found found = reasoning ? find_first(rest, {kThinkClose, kThinkOpen, kToolNamespace})
                            : find_first(rest, {kThinkOpen, kThinkClose});
    if (found.position == std::string_view::npos) {
      size_t held = at_end      ? 0
                    : reasoning ? held_back_suffix(rest, {kThinkClose, kThinkOpen, kToolNamespace})
                                : held_back_suffix(rest, {kThinkOpen, kThinkClose});
      sink.append(rest.substr(0, rest.size() - held));
      rest.remove_prefix(rest.size() - held);
      break;
    }
    sink.append(rest.substr(0, found.position));
    rest.remove_prefix(found.position);
    if (found.marker == kToolNamespace) {
      state_ = State::kContent; // the tool parser gets the token
    } else {
      rest.remove_prefix(found.marker.size());
      if (found.marker == kThinkOpen)
        state_ = State::kReasoning;
      if (found.marker == kThinkClose)
        state_ = State::kContent;
    }
  }
  keep_unconsumed(pending_, rest);
  return out;
}

} // namespace m3::chat
