#pragma once
// Constrained decoding for tool_choice required / named: a byte-level automaton over the M3
// tool-call syntax whose arguments follow each tool's JSON schema, used as a token mask. A token
// is allowed when its bytes keep the automaton alive; the end-of-turn token only once the call
// block is complete. So the output always parses into calls whose arguments satisfy the schema.
//
// Where the tokenizer has the namespace token and the <tool_call> wrappers as special tokens, the
// grammar requires those tokens (as the real model writes them), not byte-by-byte spellings.
//
// Schema coverage: object properties (required always emitted, optional ones may be, in schema
// order), string (well-formed UTF-8 without '<', bounded length, minLength), integer, number,
// boolean, enum/const, array (items, minItems/maxItems, bounded), nested objects, anyOf/oneOf
// (first non-null alternative), type lists (first non-null type). Anything else is generated as a
// string.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/request.h"
#include "tokenizer/tokenizer.h"

namespace m3::server {

struct ToolCallGrammarOptions {
  std::string only_function; // named tool_choice; empty = any tool
  bool parallel_calls = true;
  int max_calls = 3;
  int max_string_chars = 24;
  int max_array_items = 3;
  int max_number_digits = 9;
};

// tools: the request's validated OpenAI tools array. end_tokens: the ids that end the turn.
std::shared_ptr<TokenConstraint> make_tool_call_constraint(const Tokenizer &tokenizer,
                                                           const nlohmann::ordered_json &tools,
                                                           std::vector<int32_t> end_tokens,
                                                           const ToolCallGrammarOptions &options);

// The byte automaton alone (for tests): does `text` complete the grammar?
bool tool_call_grammar_accepts(const nlohmann::ordered_json &tools,
                               const ToolCallGrammarOptions &options, const std::string &text);

} // namespace m3::server
