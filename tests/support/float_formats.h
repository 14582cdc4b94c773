#pragma once
// Reference decoders of the checkpoint float formats, written from the format definitions
// (sign, biased exponent, mantissa) in double precision, independently of core/dtype.h.
#include <cmath>
#include <cstdint>

namespace m3::test_support {

// A binary float with the given field widths. has_infinity: IEEE-style all-ones exponent
// (inf/NaN); otherwise OCP "fn" style where only the all-ones pattern is NaN (E4M3).
inline double decode_binary_float(uint32_t bits, int exponent_bits, int mantissa_bits,
                                  bool has_infinity) {
  const uint32_t mantissa_mask = (1u << mantissa_bits) - 1;
  const uint32_t exponent_mask = (1u << exponent_bits) - 1;
  const uint32_t mantissa = bits & mantissa_mask;
  const uint32_t exponent = (bits >> mantissa_bits) & exponent_mask;
  const double sign = (bits >> (mantissa_bits + exponent_bits)) & 1 ? -1.0 : 1.0;
  const int bias = (1 << (exponent_bits - 1)) - 1;
  if (exponent == exponent_mask) {
    if (has_infinity)
      return mantissa == 0 ? sign * INFINITY : NAN;
    if (mantissa == mantissa_mask)
      return NAN;
  }
  const double fraction = double(mantissa) / double(1u << mantissa_bits);
  if (exponent == 0)
    return sign * fraction * std::pow(2.0, 1 - bias);
  return sign * (1.0 + fraction) * std::pow(2.0, int(exponent) - bias);
}

inline double reference_f32(uint32_t bits) { return decode_binary_float(bits, 8, 23, true); }
inline double reference_bf16(uint16_t bits) { return decode_binary_float(bits, 8, 7, true); }
inline double reference_f16(uint16_t bits) { return decode_binary_float(bits, 5, 10, true); }
inline double reference_e4m3(uint8_t bits) { return decode_binary_float(bits, 4, 3, false); }
// OCP MX E8M0 scale: 2^(bits - 127), 255 = NaN.
inline double reference_e8m0(uint8_t bits) {
  return bits == 255 ? NAN : std::pow(2.0, int(bits) - 127);
}

} // namespace m3::test_support
