#pragma once
// UTF-8 helpers so string operations count and cut code points like Python's str does.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/utf8.h"

namespace m3::jinja::utf8 {

bool is_ascii(std::string_view text);
std::vector<char32_t> decode(std::string_view text); // invalid bytes map to U+FFFD
using m3::utf8::append;
std::string encode(const std::vector<char32_t> &code_points, size_t begin, size_t end);
size_t length(std::string_view text); // number of code points
// Python's str.isspace() for one code point.
bool is_python_space(char32_t code_point);

} // namespace m3::jinja::utf8
