#pragma once
// The marker strings of MiniMax-M3 output (each one vocab token) and the hold-back rule that keeps
// streaming parsers from releasing the first bytes of a marker before the rest has arrived.
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace m3::chat {

inline constexpr std::string_view kThinkOpen = "<mm:think>";
inline constexpr std::string_view kThinkClose = "</mm:think>";
// Namespace token written before every tool-call tag, opening and closing.
inline constexpr std::string_view kToolNamespace = "]<]minimax[>[";

// Length of the longest suffix of `text` that is a proper prefix of one of `markers`: the bytes a
// streaming parser must hold back. Longest, not shortest: "]]<]" must keep "]<]", not "]".
size_t held_back_suffix(std::string_view text, std::initializer_list<std::string_view> markers);

// Drops the consumed front of a streaming parser's buffer, keeping `rest` (empty, or a view into
// the back of `buffer`) without copying it when nothing was consumed.
inline void keep_unconsumed(std::string &buffer, std::string_view rest) {
  if (rest.empty()) {
    buffer.clear();
  } else {
    buffer.erase(0, static_cast<size_t>(rest.data() - buffer.data()));
  }
}

} // namespace m3::chat
