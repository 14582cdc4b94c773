#include "model/token_ids_file.h"

#include <charconv>
#include <fstream>
#include <limits>

#include "core/error.h"

namespace m3 {

std::vector<int32_t> read_token_ids(const std::string &path) {
  std::ifstream in(path);
  require(bool(in), "cannot read token ids from " + path);
  std::vector<int32_t> ids;
  std::string word;
  while (in >> word) {
    int64_t value = -1;
    const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
    require(error == std::errc() && end == word.data() + word.size() && value >= 0 &&
                value <= std::numeric_limits<int32_t>::max(),
            path + ": '" + word + "' is not a token id (token " + std::to_string(ids.size()) + ")");
    ids.push_back(int32_t(value));
  }
  return ids;
}

} // namespace m3
