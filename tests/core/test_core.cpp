#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>
#include <vector>

#include "core/base64.h"
#include "core/dtype.h"
#include "core/utf8.h"
#include "core/error.h"
#include "core/parallel.h"

namespace m3 {
namespace {

TEST(DType, Bf16RoundTripAndRounding) {
  std::mt19937 rng(std::random_device{}());
  std::normal_distribution<float> dist(0.f, 100.f);
  for (int i = 0; i < 10000; ++i) {
    float x = dist(rng);
    float y = bf16_to_f32(f32_to_bf16(x));
    EXPECT_LE(std::fabs(x - y), std::fabs(x) * (1.0f / 256)) << x;
  }
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  // 1 + 2^-8 is exactly between two bf16 values: ties go to even (1.0).
  EXPECT_EQ(f32_to_bf16(1.0f + 1.0f / 256), 0x3F80);
  EXPECT_EQ(f32_to_bf16(1.0f + 3.0f / 256), 0x3F82);
}

TEST(DType, F16Values) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7C00)));
}

TEST(DType, E4M3AndE8M0Values) {
  EXPECT_EQ(e4m3_to_f32(0x38), 1.0f);           // exponent 7, mantissa 0
  EXPECT_EQ(e4m3_to_f32(0x7E), 448.0f);         // largest finite
  EXPECT_EQ(e4m3_to_f32(0x01), std::ldexp(1.0f, -9));  // smallest subnormal
  EXPECT_EQ(e4m3_to_f32(0xB8), -1.0f);
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0x7F)));
  EXPECT_EQ(e8m0_to_f32(127), 1.0f);
  EXPECT_EQ(e8m0_to_f32(130), 8.0f);
  EXPECT_EQ(e8m0_to_f32(120), 1.0f / 128);
  EXPECT_TRUE(std::isnan(e8m0_to_f32(255)));
}

TEST(DType, NamesRoundTripAndUnknownFails) {
  for (DType t : {DType::kF32, DType::kBF16, DType::kF16, DType::kF8E4M3, DType::kU8})
    EXPECT_EQ(dtype_from_name(dtype_name(t)), t);
  EXPECT_THROW(dtype_from_name("F64"), Error);
}

TEST(Base64, DecodesBothAlphabetsSkipsWhitespaceAndRejectsMalformedText) {
  auto bytes = [](std::string_view s) { return std::vector<uint8_t>(s.begin(), s.end()); };
  EXPECT_EQ(decode_base64("aGVsbG8="), bytes("hello"));
  EXPECT_EQ(decode_base64("aGVs\nbG8="), bytes("hello"));
  EXPECT_EQ(decode_base64("-_8="), (std::vector<uint8_t>{0xFB, 0xFF}));  // URL-safe
  EXPECT_EQ(decode_base64("+/8="), (std::vector<uint8_t>{0xFB, 0xFF}));
  EXPECT_EQ(decode_base64(""), std::vector<uint8_t>{});
  EXPECT_FALSE(decode_base64("aGVsbG8=x").has_value());  // data after padding
  EXPECT_FALSE(decode_base64("aGV*").has_value());
  EXPECT_FALSE(decode_base64("a").has_value());          // dangling partial byte
  EXPECT_FALSE(decode_base64("aGVsbG8===").has_value());
}

TEST(Utf8, AppendEncodesEveryLength) {
  std::string out;
  for (char32_t cp : {U'A', U'\u00e9', U'\u20ac', U'\U0001F999'}) utf8::append(out, cp);
  EXPECT_EQ(out, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\xA6\x99");
}

TEST(ThreadPool, CoversEveryIndexOnce) {
  ThreadPool pool(3);
  for (int64_t count : {1, 2, 3, 7, 1000}) {
    std::vector<std::atomic<int>> hits(count);
    pool.parallel_for(count, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) hits[i]++;
    });
    for (int64_t i = 0; i < count; ++i) EXPECT_EQ(hits[i].load(), 1) << count << " " << i;
  }
}

}  // namespace
}  // namespace m3
