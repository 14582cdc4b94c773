#pragma once
#include <string>

namespace m3 {

// The whole file as bytes; throws m3::Error naming the path when it cannot be read.
std::string read_text_file(const std::string &path);

} // namespace m3
