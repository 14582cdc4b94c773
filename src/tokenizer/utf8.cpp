#include "tokenizer/utf8.h"

namespace m3::utf8 {

namespace {

// How many bytes of a sequence starting at text[pos] are a valid prefix of some well-formed
// character (Unicode Table 3-7), and how long the full sequence must be. Returns {valid, needed}.
struct Prefix {
  size_t valid;
  size_t needed;
};

Prefix scan_sequence(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80)
    return {1, 1};
  size_t needed;
  uint8_t second_lo = 0x80, second_hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    needed = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    needed = 3;
    if (lead == 0xE0)
      second_lo = 0xA0;
    if (lead == 0xED)
      second_hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    needed = 4;
    if (lead == 0xF0)
      second_lo = 0x90;
    if (lead == 0xF4)
      second_hi = 0x8F;
  } else {
    return {0, 1};
  }
  size_t valid = 1;
  for (; valid < needed && pos + valid < text.size(); ++valid) {
    const uint8_t lo = valid == 1 ? second_lo : 0x80;
    const uint8_t hi = valid == 1 ? second_hi : 0xBF;
    if (byte(valid) < lo || byte(valid) > hi)
      break;
  }
  return {valid, needed};
}

} // namespace

size_t valid_sequence_length(std::string_view text, size_t pos) {
  const Prefix prefix = scan_sequence(text, pos);
  return prefix.valid == prefix.needed ? prefix.needed : 0;
}

bool is_valid(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const size_t length = valid_sequence_length(text, pos);
    if (length == 0)
      return false;
    pos += length;
  }
  return true;
}

std::string lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t pos = 0; pos < bytes.size();) {
    const Prefix prefix = scan_sequence(bytes, pos);
    if (prefix.valid == prefix.needed) {
      out.append(bytes.substr(pos, prefix.needed));
      pos += prefix.needed;
    } else {
      out += "\xEF\xBF\xBD";
      pos += prefix.valid == 0 ? 1 : prefix.valid;
    }
  }
  return out;
}

size_t complete_prefix_length(std::string_view bytes) {
  // An incomplete character is at most 3 bytes long, so only the tail needs a look.
  const size_t first = bytes.size() > 3 ? bytes.size() - 3 : 0;
  for (size_t start = first; start < bytes.size(); ++start) {
    if ((static_cast<uint8_t>(bytes[start]) & 0xC0) == 0x80)
      continue;
    const Prefix prefix = scan_sequence(bytes, start);
    if (prefix.valid < prefix.needed && start + prefix.valid == bytes.size())
      return start;
  }
  return bytes.size();
}

char32_t next(std::string_view text, size_t &pos) {
  const auto byte = [&](size_t i) {
    return static_cast<char32_t>(static_cast<uint8_t>(text[pos + i]));
  };
  const char32_t lead = byte(0);
  char32_t cp;
  size_t length;
  if (lead < 0x80) {
    cp = lead, length = 1;
  } else if (lead < 0xE0) {
    cp = ((lead & 0x1F) << 6) | (byte(1) & 0x3F), length = 2;
  } else if (lead < 0xF0) {
    cp = ((lead & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F), length = 3;
  } else {
    cp = ((lead & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) |
         (byte(3) & 0x3F);
    length = 4;
  }
  pos += length;
  return cp;
}

} // namespace m3::utf8
