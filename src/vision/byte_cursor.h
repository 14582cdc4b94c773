#pragma once
// A read position in an in-memory media file, behind the decoders' read callbacks (libpng,
// giflib, FFmpeg's AVIO), which all read in order and may ask past the end.
#include <algorithm>
#include <cstdint>
#include <cstring>

namespace m3::vision {

struct ByteCursor {
  const uint8_t *data;
  size_t size;
  size_t offset = 0;

  size_t remaining() const { return size - offset; }
  // Copies up to n bytes to out and moves past them; returns how many there were.
  size_t read(uint8_t *out, size_t n) {
    n = std::min(n, remaining());
    std::memcpy(out, data + offset, n);
    offset += n;
    return n;
  }
};

} // namespace m3::vision
