#pragma once
// Base64 (standard and URL-safe alphabets) for data URLs.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace m3 {

// Decodes base64 text, skipping ASCII whitespace; nullopt when the text is not valid base64
// (bad characters, data after padding, more than two '=' or a dangling partial byte).
std::optional<std::vector<uint8_t>> decode_base64(std::string_view text);

} // namespace m3
