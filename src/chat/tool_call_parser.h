#pragma once
// Finds MiniMax-M3 tool calls in the content stream, incrementally:
//
//   ]<]minimax[>[<tool_call>\n
//   ]<]minimax[>[<invoke
//   name="f">]<]minimax[>[<arg>value]<]minimax[>[</arg>]<]minimax[>[</invoke>\n
//   ]<]minimax[>[</tool_call>
//
// Text outside blocks is content, byte for byte. A call is released once its </invoke> arrives
// (arguments are then complete and typed; a model that stops mid-call loses only that invoke, and
// no partial arguments ever go out). Tolerated: whitespace between the namespace token and '<',
// several invokes per block, back-to-back blocks, a bare invoke without the wrapper, a missing
// outer close, text after a block. A wrapper open that is not followed by an invoke (a false
// wrapper) is released as content, and so is any held text at the end of the output that never
// became a call. Malformed invokes (no name, tags that do not nest) are dropped.
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace m3::chat {

struct ToolCall {
  std::string id; // "call_" + 24 random alphanumerics
  std::string name;
  nlohmann::ordered_json arguments; // a JSON object, keys in the order the model wrote them

  std::string arguments_json() const; // OpenAI's `arguments` string
  // {"id", "type": "function", "function": {"name", "arguments"}}
  nlohmann::ordered_json to_openai() const;
};

struct ToolCallUpdate {
  std::string content;
  std::vector<ToolCall> calls;
};

class ToolCallParser {
public:
  // `tools`: the request's OpenAI "tools" array (null or empty when there are none); each
  // function's "parameters" schema types the arguments. Unknown function names still become
  // calls (validation is the caller's job), with types inferred.
  explicit ToolCallParser(const nlohmann::json &tools);

  ToolCallUpdate feed(std::string_view text);
  ToolCallUpdate finish();

private:
  enum class State { kText, kBlock };
  ToolCallUpdate drain(bool at_end);
  // Each returns false when it must wait for more text.
  bool step_text(std::string_view &rest, ToolCallUpdate &out, bool at_end);
  bool step_block(std::string_view &rest, ToolCallUpdate &out, bool at_end);
  void emit_invoke(std::string_view invoke, ToolCallUpdate &out) const;

  std::unordered_map<std::string, nlohmann::json> schemas_; // function name -> parameters
  State state_ = State::kText;
  std::string pending_;
  size_t invoke_scan_from_ = 0; // where the open invoke's close search resumes in pending_
};

// A fresh "call_..." id.
std::string new_tool_call_id();

} // namespace m3::chat
