#pragma once
// Element types found in checkpoints and their conversion to float.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace m3 {

enum class DType { kF32, kBF16, kF16, kF8E4M3, kU8 };

// Bytes per element.
size_t dtype_size(DType dtype);
// Name as written in safetensors headers ("F32", "BF16", "F16", "F8_E4M3", "U8").
const char* dtype_name(DType dtype);
// Parses a safetensors dtype name; throws m3::Error for anything unsupported.
DType dtype_from_name(const std::string& name);

inline float bf16_to_f32(uint16_t bits) {
  uint32_t widened = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof value);
  return value;
}

// Round to nearest even, as torch does when casting to bfloat16.
inline uint16_t f32_to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if (std::isnan(value)) return uint16_t((bits >> 16) | 0x40);
  bits += 0x7FFF + ((bits >> 16) & 1);
  return uint16_t(bits >> 16);
}

inline float f16_to_f32(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000) << 16;
  uint32_t exponent = (bits >> 10) & 0x1F;
  uint32_t mantissa = bits & 0x3FF;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(float(mantissa), -24);
  } else if (exponent == 31) {
    magnitude = mantissa ? NAN : INFINITY;
  } else {
    magnitude = std::ldexp(float(mantissa | 0x400), int(exponent) - 25);
  }
  uint32_t out;
  std::memcpy(&out, &magnitude, sizeof out);
  out |= sign;
  std::memcpy(&magnitude, &out, sizeof out);
  return magnitude;
}

// OCP FP8 E4M3 ("e4m3fn"): bias 7, no infinities, S.1111.111 is NaN.
inline float e4m3_to_f32(uint8_t bits) {
  int exponent = (bits >> 3) & 0xF;
  int mantissa = bits & 0x7;
  float magnitude;
  if (exponent == 0xF && mantissa == 0x7) {
    magnitude = NAN;
  } else if (exponent == 0) {
    magnitude = std::ldexp(float(mantissa), -9);
  } else {
    magnitude = std::ldexp(float(8 + mantissa), exponent - 10);
  }
  return (bits & 0x80) ? -magnitude : magnitude;
}

// OCP MX E8M0 scale: 2^(bits - 127); 255 is NaN.
inline float e8m0_to_f32(uint8_t bits) {
  return bits == 255 ? NAN : std::ldexp(1.0f, int(bits) - 127);
}

}  // namespace m3
