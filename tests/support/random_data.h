#pragma once
// Fresh random test inputs: every run draws a new seed and prints it, so a failure can be
// replayed by hard-coding the printed seed while debugging.
#include <cstdio>
#include <random>
#include <vector>

namespace m3::test_support {

inline unsigned fresh_seed() {
  const unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  return seed;
}

inline std::mt19937 fresh_rng() { return std::mt19937(fresh_seed()); }

// n draws of N(0, scale^2).
inline std::vector<float> random_vector(std::mt19937 &rng, size_t n, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> out(n);
  for (auto &x : out)
    x = normal(rng);
  return out;
}

} // namespace m3::test_support
