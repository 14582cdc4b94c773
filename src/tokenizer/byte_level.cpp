#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace m3::byte_level {

const std::array<char32_t, 256> &byte_to_char() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> result{};
    char32_t next_unprintable = 256;
    for (int byte = 0; byte < 256; ++byte) {
      const bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) ||
                             (byte >= 0xAE && byte <= 0xFF);
      result[byte] = printable ? static_cast<char32_t>(byte) : next_unprintable++;
    }
    return result;
  }();
  return table;
}

namespace {

// Inverse of byte_to_char over the code points below 324 that it uses; -1 elsewhere.
const std::array<int16_t, 324> &char_to_byte() {
  static const std::array<int16_t, 324> table = [] {
    std::array<int16_t, 324> result;
    result.fill(-1);
    for (int byte = 0; byte < 256; ++byte)
      result[byte_to_char()[byte]] = static_cast<int16_t>(byte);
    return result;
  }();
  return table;
}

} // namespace

std::optional<std::string> token_to_bytes(std::string_view token) {
  std::string bytes;
  for (size_t pos = 0; pos < token.size();) {
    const char32_t c = utf8::next(token, pos);
    if (c >= char_to_byte().size() || char_to_byte()[c] < 0)
      return std::nullopt;
    bytes += static_cast<char>(char_to_byte()[c]);
  }
  return bytes;
}

std::string byte_to_token(uint8_t byte) {
  std::string token;
  utf8::append(token, byte_to_char()[byte]);
  return token;
}

} // namespace m3::byte_level
