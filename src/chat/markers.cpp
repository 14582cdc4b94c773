#include "chat/markers.h"

#include <algorithm>

namespace m3::chat {

size_t held_back_suffix(std::string_view text, std::initializer_list<std::string_view> markers) {
  size_t longest = 0;
  for (std::string_view marker : markers) {
    size_t limit = std::min(text.size(), marker.size() - 1);
    for (size_t length = limit; length > longest; --length) {
      if (text.substr(text.size() - length) == marker.substr(0, length)) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

} // namespace m3::chat
