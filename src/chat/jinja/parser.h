#pragma once
// Recursive-descent parser for Jinja2 statements and expressions (same precedence as Jinja2).
#include <string>
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"

namespace m3::jinja {

Body parse(const std::vector<Token> &tokens);

} // namespace m3::jinja
