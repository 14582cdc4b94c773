#include "chat/output_parser.h"

namespace m3::chat {

nlohmann::ordered_json ToolCallDelta::to_openai() const {
  nlohmann::ordered_json delta = {{"index", index}};
  if (!id.empty()) {
    delta["id"] = id;
    delta["type"] = "function";
    delta["function"] = {{"name", name}, {"arguments", arguments}};
  } else {
    delta["function"] = {{"arguments", arguments}};
  }
  return delta;
}

nlohmann::ordered_json ParsedOutput::to_json() const {
  auto text_or_null = [](const std::string &text) {
    return text.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(text);
  };
  nlohmann::ordered_json calls = nlohmann::ordered_json::array();
  for (const ToolCall &call : tool_calls)
    calls.push_back(call.to_openai());
  return {{"content", text_or_null(content)},
          {"reasoning_content", text_or_null(reasoning_content)},
          {"tool_calls", std::move(calls)}};
}

OutputParser::OutputParser(ThinkingMode mode, const nlohmann::json &tools,
                           ToolCallParsing tool_parsing)
    : reasoning_(mode), tool_calls_(tools), tool_parsing_(tool_parsing) {}

Delta OutputParser::feed(std::string_view text) { return collect(reasoning_.feed(text), false); }

Delta OutputParser::finish() { return collect(reasoning_.finish(), true); }

Delta OutputParser::collect(ReasoningSplit split, bool at_end) {
  Delta delta;
  delta.reasoning = std::move(split.reasoning);
  parsed_.reasoning_content += delta.reasoning;
  if (tool_parsing_ == ToolCallParsing::kOff) {
    delta.content = std::move(split.content);
    parsed_.content += delta.content;
    return delta;
  }
  ToolCallUpdate update = tool_calls_.feed(split.content);
  if (at_end) {
    ToolCallUpdate tail = tool_calls_.finish();
    update.content += tail.content;
    for (ToolCall &call : tail.calls)
      update.calls.push_back(std::move(call));
  }
  delta.content = std::move(update.content);
  for (ToolCall &call : update.calls) {
    int index = static_cast<int>(parsed_.tool_calls.size());
    delta.tool_calls.push_back({index, call.id, call.name, ""});
    delta.tool_calls.push_back({index, "", "", call.arguments_json()});
    parsed_.tool_calls.push_back(std::move(call));
  }
  parsed_.content += delta.content;
  return delta;
}

ParsedOutput parse_output(std::string_view text, ThinkingMode mode, const nlohmann::json &tools,
                          ToolCallParsing tool_parsing) {
  OutputParser parser(mode, tools, tool_parsing);
  parser.feed(text);
  parser.finish();
  return parser.parsed();
}

} // namespace m3::chat
