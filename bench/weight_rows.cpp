// Row-to-float conversion throughput (the inner loop of every CPU matmul), one core:
// `bench_weight_rows [rows] [cols]` (default 4096 x 6144, one M3 hidden-width matrix).
// Prints the best of 5 passes over all rows, per dtype, in million elements per second.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "model/weights.h"

int main(int argc, char **argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 4096;
  const int64_t cols = argc > 2 ? std::atoll(argv[2]) : 6144;
  if (rows <= 0 || cols <= 0 || cols % 32 != 0) {
    std::fprintf(stderr, "usage: %s [rows] [cols, a multiple of 32]\n", argv[0]);
    return 2;
  }
  std::mt19937 rng(std::random_device{}());
  std::vector<uint8_t> data(size_t(rows * cols * 4));
  for (auto &byte : data)
    byte = uint8_t(rng() & 0x77); // finite values in every format
  std::vector<uint8_t> scales(size_t(rows * cols / 32));
  for (auto &scale : scales)
    scale = uint8_t(120 + rng() % 15);
  std::vector<float> row(cols);
  const std::pair<m3::DType, const char *> dtypes[] = {{m3::DType::kF32, "F32"},
                                                       {m3::DType::kBF16, "BF16"},
                                                       {m3::DType::kF16, "F16"},
                                                       {m3::DType::kF8E4M3, "MXFP8"}};
  for (const auto &[dtype, name] : dtypes) {
    const m3::Weight weight{dtype, data.data(), rows, cols,
                            dtype == m3::DType::kF8E4M3 ? scales.data() : nullptr};
    double best = 1e30, checksum = 0;
    for (int pass = 0; pass < 5; ++pass) {
      const auto start = std::chrono::steady_clock::now();
      for (int64_t r = 0; r < rows; ++r) {
        weight.row_to_f32(r, row.data());
        checksum += row[r % cols];
      }
      best = std::min(
          best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::printf("%-6s %8.0f M elements/s  (%.1f GB/s of floats written; checksum %g)\n", name,
                double(rows * cols) / best / 1e6, double(rows * cols) * 4 / best / 1e9, checksum);
  }
  return 0;
}
