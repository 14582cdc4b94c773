#pragma once
// Damaged copies of valid media files for the decoder and server fuzz tests: one of a random
// truncation, a few bit flips, a run of random bytes (headers included) or a 0xff-filled field
// near the start (huge dimensions, sizes and counts).
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace m3::test {

inline std::vector<uint8_t> corrupt_copy(std::vector<uint8_t> bytes, std::mt19937 &rng) {
  const size_t size = bytes.size();
  auto position = [&](size_t end) {
    return std::uniform_int_distribution<size_t>(0, end - 1)(rng);
  };
  switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
  case 0:
    bytes.resize(position(size));
    break;
  case 1: {
    const int flips = std::uniform_int_distribution<int>(1, 16)(rng);
    for (int i = 0; i < flips; ++i)
      bytes[position(size)] ^= uint8_t(1u << std::uniform_int_distribution<int>(0, 7)(rng));
    break;
  }
  case 2: {
    const size_t start = position(size);
    const size_t length =
        std::min<size_t>(size - start, std::uniform_int_distribution<size_t>(1, 64)(rng));
    for (size_t i = 0; i < length; ++i)
      bytes[start + i] = uint8_t(rng());
    break;
  }
  default: {
    const size_t start = position(std::min<size_t>(size, 64));
    std::fill(bytes.begin() + start, bytes.begin() + std::min(size, start + 4), uint8_t(0xff));
    break;
  }
  }
  return bytes;
}

} // namespace m3::test
