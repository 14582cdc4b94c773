#pragma once
// Character classes and pattern helpers matching the Rust semantics of HF tokenizers.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace m3::unicode {

// Rust char::is_whitespace (the Unicode White_Space property).
bool is_whitespace(char32_t c);

// Rust char::is_alphanumeric or '_' (word characters for added tokens' single_word flag).
bool is_word_character(char32_t c);

// Start of the character that ends at byte offset end (> 0) of valid UTF-8.
size_t previous_char_start(std::string_view text, size_t end);

// A tokenizer.json pattern ({"Regex": r} or {"String": s}) as a PCRE2 pattern; strings match
// literally.
std::string pattern_regex(const nlohmann::json &pattern);

} // namespace m3::unicode
