#pragma once
// MiniMax-M3 generated text -> OpenAI `reasoning_content`, `content` and `tool_calls`, streaming
// (feed pieces as they are detokenised, then finish) or all at once (parse_output). Both give the
// same result for any split of the text.
//
// Streaming deltas map one to one onto OpenAI chat.completion.chunk fields: `reasoning` ->
// delta.reasoning_content, `content` -> delta.content, each ToolCallDelta -> one entry of
// delta.tool_calls (ToolCallDelta::to_openai). A call produces two deltas when its invoke is
// complete: {index, id, type, function: {name, arguments: ""}} then {index, function: {arguments}}.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/reasoning_parser.h"
#include "chat/tool_call_parser.h"

namespace m3::chat {

struct ToolCallDelta {
  int index = 0;         // position of the call in the response
  std::string id;        // set on a call's first delta only
  std::string name;      // set on a call's first delta only
  std::string arguments; // a piece of the arguments JSON string

  nlohmann::ordered_json to_openai() const;
};

struct Delta {
  std::string reasoning;
  std::string content;
  std::vector<ToolCallDelta> tool_calls;

  bool empty() const { return reasoning.empty() && content.empty() && tool_calls.empty(); }
};

struct ParsedOutput {
  std::string content;
  std::string reasoning_content;
  std::vector<ToolCall> tool_calls;

  // {"content", "reasoning_content", "tool_calls"}; empty strings become null.
  nlohmann::ordered_json to_json() const;
};

// kOff leaves tool-call markup in content, e.g. for a request with tool_choice "none".
enum class ToolCallParsing { kOn, kOff };

class OutputParser {
public:
  // `tools`: the request's OpenAI "tools" array (or null).
  OutputParser(ThinkingMode mode, const nlohmann::json &tools,
               ToolCallParsing tool_parsing = ToolCallParsing::kOn);

  Delta feed(std::string_view text);
  Delta finish(); // end of generation: flushes held-back text, drops an unfinished invoke
  // Everything parsed so far (complete after finish()).
  const ParsedOutput &parsed() const { return parsed_; }

private:
  Delta collect(ReasoningSplit split, bool at_end);

  ReasoningParser reasoning_;
  ToolCallParser tool_calls_;
  ToolCallParsing tool_parsing_;
  ParsedOutput parsed_;
};

ParsedOutput parse_output(std::string_view text, ThinkingMode mode, const nlohmann::json &tools,
                          ToolCallParsing tool_parsing = ToolCallParsing::kOn);

} // namespace m3::chat
