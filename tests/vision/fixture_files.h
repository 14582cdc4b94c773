#pragma once
// Reading the vision reference fixtures (tests/fixtures/vision, written by
// scripts/gen_golden_vl.py from transformers 5.17 on the GPU machine).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace m3::test {

inline std::filesystem::path vision_fixtures() {
  const auto next_to_source =
      std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / "vision";
  return std::filesystem::exists(next_to_source) ? next_to_source
                                                 : std::filesystem::path("tests/fixtures/vision");
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::vector<float> read_floats(const std::filesystem::path &path) {
  const std::vector<uint8_t> bytes = read_bytes(path);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::copy(bytes.begin(), bytes.begin() + values.size() * sizeof(float),
            reinterpret_cast<uint8_t *>(values.data()));
  return values;
}

inline nlohmann::json read_json(const std::filesystem::path &path) {
  const std::vector<uint8_t> bytes = read_bytes(path);
  return nlohmann::json::parse(bytes.begin(), bytes.end());
}

inline std::string base64(const std::vector<uint8_t> &bytes) {
  static const char *kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t n = uint32_t(bytes[i]) << 16 |
                       (i + 1 < bytes.size() ? uint32_t(bytes[i + 1]) << 8 : 0) |
                       (i + 2 < bytes.size() ? uint32_t(bytes[i + 2]) : 0);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += i + 1 < bytes.size() ? kAlphabet[n >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

} // namespace m3::test
