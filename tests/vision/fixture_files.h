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

} // namespace m3::test
