// Weight::row_to_f32 / to_f32 for every checkpoint dtype, element by element against the
// reference decoders in tests/support/float_formats.h, on random and exhaustive bit patterns.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "float_formats.h"
#include "model/weights.h"

namespace m3 {
namespace {

void expect_same_value(float actual, double expected, const std::string &where) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << where << ": got " << actual;
  } else {
    EXPECT_EQ(actual, float(expected)) << where;
  }
}

// Checks both entry points: every row through row_to_f32, and the whole tensor through to_f32.
template <typename Reference>
void expect_weight_decodes(const Weight &weight, Reference reference) {
  const std::vector<float> all = weight.to_f32();
  ASSERT_EQ(all.size(), size_t(weight.rows * weight.cols));
  std::vector<float> row(weight.cols);
  for (int64_t r = 0; r < weight.rows; ++r) {
    weight.row_to_f32(r, row.data());
    for (int64_t c = 0; c < weight.cols; ++c) {
      const double expected = reference(r, c);
      const std::string where = "row " + std::to_string(r) + " col " + std::to_string(c);
      expect_same_value(row[c], expected, where);
      expect_same_value(all[r * weight.cols + c], expected, where);
    }
  }
}

// n random bit patterns of a 16- or 32-bit format.
template <typename Bits> std::vector<Bits> random_bits(size_t n) {
  std::mt19937 rng(std::random_device{}());
  std::vector<Bits> bits(n);
  for (auto &b : bits)
    b = Bits(rng());
  return bits;
}

// Every 16-bit pattern once, in a fresh random order.
std::vector<uint16_t> every_16_bit_pattern() {
  std::vector<uint16_t> bits(65536);
  for (uint32_t i = 0; i < 65536; ++i)
    bits[i] = uint16_t(i);
  std::shuffle(bits.begin(), bits.end(), std::mt19937(std::random_device{}()));
  return bits;
}

TEST(WeightConversion, F32RandomBits) {
  const std::vector<uint32_t> bits = random_bits<uint32_t>(7 * 33);
  const Weight w{DType::kF32, bits.data(), 7, 33, nullptr};
  expect_weight_decodes(
      w, [&](int64_t r, int64_t c) { return test_support::reference_f32(bits[r * 33 + c]); });
}

TEST(WeightConversion, Bf16EveryBitPattern) {
  const std::vector<uint16_t> bits = every_16_bit_pattern();
  const Weight w{DType::kBF16, bits.data(), 256, 256, nullptr};
  expect_weight_decodes(
      w, [&](int64_t r, int64_t c) { return test_support::reference_bf16(bits[r * 256 + c]); });
}

// Rows whose width is not a multiple of the converter's chunk exercise its tail.
TEST(WeightConversion, Bf16RandomBitsOddWidth) {
  const std::vector<uint16_t> bits = random_bits<uint16_t>(9 * 203);
  const Weight w{DType::kBF16, bits.data(), 9, 203, nullptr};
  expect_weight_decodes(
      w, [&](int64_t r, int64_t c) { return test_support::reference_bf16(bits[r * 203 + c]); });
}

TEST(WeightConversion, F16EveryBitPattern) {
  const std::vector<uint16_t> bits = every_16_bit_pattern();
  const Weight w{DType::kF16, bits.data(), 128, 512, nullptr};
  expect_weight_decodes(
      w, [&](int64_t r, int64_t c) { return test_support::reference_f16(bits[r * 512 + c]); });
}

// MXFP8: W[r, c] = e4m3(q[r, c]) * 2^(s[r, c / 32] - 127), every E4M3 byte and every scale byte.
TEST(WeightConversion, Mxfp8RandomDataEveryScale) {
  std::mt19937 rng(std::random_device{}());
  const int64_t rows = 64, cols = 256, blocks = cols / 32;
  std::vector<uint8_t> data(rows * cols), scales(rows * blocks);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = uint8_t(i < 256 ? i : rng());
  for (size_t i = 0; i < scales.size(); ++i)
    scales[i] = uint8_t(i < 256 ? i : rng());
  std::shuffle(data.begin(), data.end(), rng);
  std::shuffle(scales.begin(), scales.end(), rng);
  const Weight w{DType::kF8E4M3, data.data(), rows, cols, scales.data()};
  expect_weight_decodes(w, [&](int64_t r, int64_t c) {
    return test_support::reference_e4m3(data[r * cols + c]) *
           test_support::reference_e8m0(scales[r * blocks + c / 32]);
  });
}

TEST(WeightConversion, OneDimensionalWeight) {
  std::vector<uint16_t> bits = {0x3F80, 0xC000, 0x0001, 0x7F80}; // 1, -2, tiny, +inf
  const Weight w{DType::kBF16, bits.data(), 1, 4, nullptr};
  const std::vector<float> values = w.to_f32();
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[1], -2.0f);
  EXPECT_EQ(values[2], float(std::ldexp(1.0, -133)));
  EXPECT_TRUE(std::isinf(values[3]));
}

} // namespace
} // namespace m3
