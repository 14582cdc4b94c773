#include "chat/tool_call_parser.h"

#include <algorithm>
#include <random>

#include "chat/markers.h"
#include "chat/namespaced_tags.h"
#include "chat/tool_arguments.h"

namespace m3::chat {

namespace {

constexpr size_t npos = std::string_view::npos;
constexpr std::string_view kSpaces = " \n\t\r";

bool is_proper_prefix_of(std::string_view text, std::string_view whole) {
  return text.size() < whole.size() && whole.substr(0, text.size()) == text;
}

size_t leading_spaces(std::string_view text) {
  size_t count = text.find_first_not_of(kSpaces);
  return count == npos ? text.size() : count;
}

enum class CallStart { kWait, kNotACall, kWrapper, kBareInvoke, kStrayClose };

// What the namespace token at the start of `text` begins, and how many bytes that consumes. A
// wrapper counts only once an invoke (or its own close) follows it, so "<tool_call>" followed by
// prose is released as content.
CallStart classify_call_start(std::string_view text, bool at_end, size_t &consumed) {
  auto wait_or_reject = [&](std::string_view partial,
                            std::initializer_list<std::string_view> wholes) {
    if (!at_end)
      for (std::string_view whole : wholes)
        if (partial.empty() || is_proper_prefix_of(partial, whole))
          return CallStart::kWait;
    return CallStart::kNotACall;
  };
  size_t pos = kToolNamespace.size();
  pos += leading_spaces(text.substr(pos));
  std::string_view tag = text.substr(pos);
  if (tag.starts_with("<invoke")) {
    consumed = 0;
    return CallStart::kBareInvoke;
  }
  if (tag.starts_with("</tool_call>")) {
    consumed = pos + std::string_view("</tool_call>").size();
    return CallStart::kStrayClose;
  }
  if (!tag.starts_with("<tool_call>"))
    return wait_or_reject(tag, {"<tool_call>", "<invoke", "</tool_call>"});
  size_t after_wrapper = pos + std::string_view("<tool_call>").size();
  size_t next = after_wrapper + leading_spaces(text.substr(after_wrapper));
  std::string_view follow = text.substr(next);
  if (!follow.starts_with(kToolNamespace))
    return wait_or_reject(follow, {kToolNamespace});
  size_t inner = next + kToolNamespace.size();
  inner += leading_spaces(text.substr(inner));
  std::string_view inner_tag = text.substr(inner);
  if (!inner_tag.starts_with("<invoke") && !inner_tag.starts_with("</tool_call>"))
    return wait_or_reject(inner_tag, {"<invoke", "</tool_call>"});
  consumed = after_wrapper;
  return CallStart::kWrapper;
}

} // namespace

std::string new_tool_call_id() {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  std::string id = "call_";
  for (int i = 0; i < 24; ++i)
    id += kAlphabet[pick(generator)];
  return id;
}

std::string ToolCall::arguments_json() const {
  return arguments.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

nlohmann::ordered_json ToolCall::to_openai() const {
  return {{"id", id},
          {"type", "function"},
          {"function", {{"name", name}, {"arguments", arguments_json()}}}};
}

ToolCallParser::ToolCallParser(const nlohmann::json &tools) {
  if (!tools.is_array())
    return;
  for (const nlohmann::json &tool : tools) {
    const nlohmann::json &function = tool.contains("function") ? tool["function"] : tool;
    if (!function.is_object() || !function.contains("name") || !function["name"].is_string())
      continue;
    schemas_[function["name"].get<std::string>()] =
        function.contains("parameters") ? function["parameters"] : nlohmann::json();
  }
}

ToolCallUpdate ToolCallParser::feed(std::string_view text) {
  pending_.append(text);
  return drain(false);
}

ToolCallUpdate ToolCallParser::finish() {
  ToolCallUpdate out = drain(true);
  state_ = State::kText;
  return out;
}

ToolCallUpdate ToolCallParser::drain(bool at_end) {
  ToolCallUpdate out;
  std::string_view rest = pending_;
  while (!rest.empty()) {
    bool progressed =
        state_ == State::kText ? step_text(rest, out, at_end) : step_block(rest, out, at_end);
    if (!progressed)
      break;
  }
  keep_unconsumed(pending_, rest);
  return out;
}

bool ToolCallParser::step_text(std::string_view &rest, ToolCallUpdate &out, bool at_end) {
  size_t token = rest.find(kToolNamespace);
  if (token == npos) {
    size_t held = at_end ? 0 : held_back_suffix(rest, {kToolNamespace});
    out.content.append(rest.substr(0, rest.size() - held));
    rest.remove_prefix(rest.size() - held);
    return false;
  }
  out.content.append(rest.substr(0, token));
  rest.remove_prefix(token);
  size_t consumed = 0;
  switch (classify_call_start(rest, at_end, consumed)) {
  case CallStart::kWait:
    return false;
  case CallStart::kNotACall:
    out.content.append(kToolNamespace);
    rest.remove_prefix(kToolNamespace.size());
    return true;
  case CallStart::kStrayClose: // an orphan close tag: dropped
    rest.remove_prefix(consumed);
    return true;
  case CallStart::kWrapper:
  case CallStart::kBareInvoke:
    rest.remove_prefix(consumed);
    state_ = State::kBlock;
    return true;
  }
  return false;
}

bool ToolCallParser::step_block(std::string_view &rest, ToolCallUpdate &out, bool at_end) {
  size_t spaces = leading_spaces(rest);
  std::string_view after = rest.substr(spaces);
  if (after.empty()) { // whitespace between invokes; dropped once the block goes on or ends
    if (at_end)
      rest = {};
    return false;
  }
  if (!after.starts_with(kToolNamespace)) {
    if (!at_end && is_proper_prefix_of(after, kToolNamespace))
      return false;
    rest = after; // prose: the block ended without its close tag
    state_ = State::kText;
    return true;
  }
  NamespacedTag tag;
  switch (read_namespaced_tag(after, 0, tag)) {
  case TagRead::kIncomplete:
    if (at_end)
      rest = {};
    return false;
  case TagRead::kNotATag:
    rest = after;
    state_ = State::kText;
    return true;
  case TagRead::kTag:
    break;
  }
  rest = after;
  if (tag.name == "tool_call") {
    rest.remove_prefix(tag.end);
    if (tag.closing)
      state_ = State::kText;
    return true;
  }
  if (tag.name != "invoke" || tag.closing) { // a stray tag outside any invoke
    rest.remove_prefix(tag.end);
    return true;
  }
  // Find this invoke's close; another invoke or the block's close first means it was cut short.
  // Resume where the last feed stopped looking: a long argument is scanned once, not per piece.
  for (size_t pos = std::max(tag.end, invoke_scan_from_);;) {
    size_t token = rest.find(kToolNamespace, pos);
    NamespacedTag next;
    TagRead read = token == npos ? TagRead::kIncomplete : read_namespaced_tag(rest, token, next);
    if (read == TagRead::kIncomplete) {
      if (at_end) {
        rest = {}; // truncated: only this invoke is lost
        invoke_scan_from_ = 0;
      } else {
        invoke_scan_from_ = token != npos ? token : rest.size() - kToolNamespace.size() + 1;
      }
      return false;
    }
    if (read == TagRead::kNotATag) {
      pos = token + kToolNamespace.size();
      continue;
    }
    if (next.name == "invoke" && next.closing) {
      emit_invoke(rest.substr(0, next.end), out);
      rest.remove_prefix(next.end);
      invoke_scan_from_ = 0;
      return true;
    }
    if (next.name == "invoke" || next.name == "tool_call") {
      rest.remove_prefix(token); // cut short by the next invoke or the block's close
      invoke_scan_from_ = 0;
      return true;
    }
    pos = next.end;
  }
}

void ToolCallParser::emit_invoke(std::string_view invoke, ToolCallUpdate &out) const {
  NamespacedTag open;
  if (read_namespaced_tag(invoke, 0, open) != TagRead::kTag)
    return;
  auto name = tag_attribute(open.attributes, "name");
  if (!name || name->empty())
    return;
  size_t close = invoke.rfind(kToolNamespace);
  auto schema = schemas_.find(*name);
  auto arguments =
      decode_invoke_arguments(invoke.substr(open.end, close - open.end),
                              schema == schemas_.end() ? nlohmann::json() : schema->second);
  if (!arguments)
    return;
  out.calls.push_back(ToolCall{new_tool_call_id(), *name, std::move(*arguments)});
}

} // namespace m3::chat
