#pragma once
// Token id files used by the CLI contract: whitespace-separated decimal ids.
#include <cstdint>
#include <string>
#include <vector>

namespace m3 {

// Reads every id in the file; throws m3::Error naming the file for an unreadable file or a token
// that is not a non-negative 32-bit integer.
std::vector<int32_t> read_token_ids(const std::string &path);

} // namespace m3
