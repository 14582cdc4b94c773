#include "model/weights.h"

#include <array>
#include <bit>

#include "core/error.h"
#include "core/safetensors.h"

namespace m3 {

namespace {

constexpr int64_t kMxBlock = 32; // MXFP8: one E8M0 scale per 32 consecutive elements of a row

// Decoded values of every E4M3 byte and every E8M0 scale byte.
struct ByteTables {
  std::array<float, 256> e4m3;
  std::array<float, 256> e8m0;
  ByteTables() {
    for (int b = 0; b < 256; ++b) {
      e4m3[b] = e4m3_to_f32(uint8_t(b));
      e8m0[b] = e8m0_to_f32(uint8_t(b));
    }
  }
};

const ByteTables &byte_tables() {
  static const ByteTables tables;
  return tables;
}

const std::array<float, 65536> &f16_table() {
  static const auto table = [] {
    std::array<float, 65536> values{};
    for (uint32_t bits = 0; bits < 65536; ++bits)
      values[bits] = f16_to_f32(uint16_t(bits));
    return values;
  }();
  return table;
}

} // namespace

void Weight::row_to_f32(int64_t r, float *out) const {
  switch (dtype) {
  case DType::kF32: {
    std::memcpy(out, static_cast<const float *>(data) + r * cols, cols * sizeof(float));
    return;
  }
  case DType::kBF16: {
    // Widen in fixed-size integer chunks: a loop the compiler vectorizes at -O2.
    const uint16_t *row = static_cast<const uint16_t *>(data) + r * cols;
    constexpr int64_t kChunk = 64;
    uint32_t widened[kChunk];
    int64_t c = 0;
    for (; c + kChunk <= cols; c += kChunk) {
      for (int64_t i = 0; i < kChunk; ++i)
        widened[i] = uint32_t(row[c + i]) << 16;
      std::memcpy(out + c, widened, sizeof widened);
    }
    for (; c < cols; ++c)
      out[c] = std::bit_cast<float>(uint32_t(row[c]) << 16);
    return;
  }
  case DType::kF16: {
    const uint16_t *row = static_cast<const uint16_t *>(data) + r * cols;
    const float *table = f16_table().data();
    for (int64_t c = 0; c < cols; ++c)
      out[c] = table[row[c]];
    return;
  }
  case DType::kF8E4M3: {
    const uint8_t *row = static_cast<const uint8_t *>(data) + r * cols;
    const ByteTables &tables = byte_tables();
    require(scale_e8m0 != nullptr, "an F8_E4M3 weight needs its E8M0 block scales");
    const uint8_t *scales = scale_e8m0 + r * (cols / kMxBlock);
    for (int64_t block = 0; block < cols / kMxBlock; ++block) {
      const float scale = tables.e8m0[scales[block]];
      const uint8_t *in = row + block * kMxBlock;
      float *dst = out + block * kMxBlock;
      for (int64_t i = 0; i < kMxBlock; ++i)
        dst[i] = tables.e4m3[in[i]] * scale;
    }
    return;
  }
  case DType::kU8:
    break;
  }
  fail(std::string("cannot convert a ") + dtype_name(dtype) + " weight to float");
}

std::vector<float> Weight::to_f32() const {
  std::vector<float> out(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    row_to_f32(r, out.data() + r * cols);
  return out;
}

} // namespace m3
