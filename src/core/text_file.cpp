#include "core/text_file.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace m3 {

std::string read_text_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  require(bool(in), "cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

} // namespace m3
