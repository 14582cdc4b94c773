#pragma once
// UTF-8 encoding shared by the tokenizer and the chat template engine.
#include <string>

namespace m3::utf8 {

// Appends the UTF-8 encoding of a Unicode scalar value.
void append(std::string &out, char32_t code_point);

} // namespace m3::utf8
