#pragma once
// UTF-8 helpers shared by the encoder (input validation), the decoders (lossy output) and the
// incremental detokenizer (never emit half a character).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/utf8.h"  // append

namespace m3::utf8 {

// Length of the well-formed sequence starting at text[pos], or 0 when it is ill-formed or
// truncated. Follows the Unicode "maximal subpart" rules (no overlongs, no surrogates).
size_t valid_sequence_length(std::string_view text, size_t pos);

bool is_valid(std::string_view text);

// Replaces every ill-formed subsequence with U+FFFD (one per maximal subpart, as Rust's
// String::from_utf8_lossy and HF tokenizers' decoders do).
std::string lossy(std::string_view bytes);

// Length of the longest prefix that does not end inside a sequence that could still be completed
// by more bytes. Bytes after it are the start of a well-formed but incomplete character.
size_t complete_prefix_length(std::string_view bytes);

// Decodes the code point at text[pos] (text must be valid there) and advances pos.
char32_t next(std::string_view text, size_t &pos);

} // namespace m3::utf8
