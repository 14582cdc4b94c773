#pragma once
// GPT-2's byte <-> printable character mapping used by ByteLevel vocabularies: every byte is
// shown as one code point (printable Latin-1 as itself, the rest from U+0100 up).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace m3::byte_level {

// The character standing for each byte.
const std::array<char32_t, 256> &byte_to_char();

// The bytes a vocabulary token stands for, or nullopt when it holds a character outside the map.
std::optional<std::string> token_to_bytes(std::string_view token);

// The vocabulary spelling (UTF-8) of one raw byte.
std::string byte_to_token(uint8_t byte);

} // namespace m3::byte_level
