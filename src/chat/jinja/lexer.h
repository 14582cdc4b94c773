#pragma once
// Jinja2 lexer with HF's settings: trim_blocks and lstrip_blocks on, keep_trailing_newline off.
// Whitespace control (`{%-`, `-%}`, `{%+`, `+%}`), comments and `{% raw %}` are resolved here, so
// the parser only sees text, tags and expression tokens.
#include <string>
#include <vector>

namespace m3::jinja {

enum class TokenType {
  Text,
  VarBegin,
  VarEnd,
  BlockBegin,
  BlockEnd,
  Name,
  String,
  Integer,
  Float,
  Operator,
  End
};

struct Token {
  TokenType type;
  std::string text; // decoded string literal, name, operator or number text
  int line = 1;
};

std::vector<Token> tokenize(const std::string &source);

} // namespace m3::jinja
