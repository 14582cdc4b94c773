// The vision 3D RoPE against its formula (m3-model.md §10.3), on fresh random inputs, and how it
// differs from transformers 5.17's 2D axial vision rotary (written out here from its source:
// inv_freq over head_dim / 2 channels, cos/sin = cat(h * inv, w * inv) twice, all channels
// rotated, no time axis).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "vision/vision_config.h"
#include "vision/vision_rope.h"

namespace m3::vision {
namespace {

std::vector<float> random_values(size_t n, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = normal(rng);
  return v;
}

// x1' = x1 cos - x2 sin, x2' = x2 cos + x1 sin over pairs (c, c + half), in double.
std::vector<double> neox(const std::vector<float> &x, const std::vector<double> &angles,
                         int head_dim) {
  const int half = int(angles.size());
  std::vector<double> out(x.begin(), x.begin() + head_dim);
  for (int c = 0; c < half; ++c) {
    out[c] = x[c] * std::cos(angles[c]) - x[c + half] * std::sin(angles[c]);
    out[c + half] = x[c + half] * std::cos(angles[c]) + x[c] * std::sin(angles[c]);
  }
  return out;
}

std::vector<double> spec_angles(const PatchCoord &p, int axis_dim, double theta) {
  std::vector<double> angles;
  for (int32_t position : {p.t, p.h, p.w})
    for (int i = 0; i < axis_dim / 2; ++i)
      angles.push_back(position * std::pow(theta, -2.0 * i / axis_dim));
  return angles;
}

TEST(VisionRope, AxisSplitFollowsHeadDim) {
  VisionConfig c;
  c.hidden_size = 1280, c.num_heads = 16;
  EXPECT_EQ(c.rope_axis_dim(), 26); // 78 of 80 channels rotated, 2 pass through
  c.hidden_size = 120, c.num_heads = 3;
  EXPECT_EQ(c.rope_axis_dim(), 12); // head_dim 40: 36 rotated, 4 pass through
}

TEST(VisionRope, MatchesTheFormulaOnRandomInputs) {
  std::random_device seed;
  std::mt19937 rng(seed());
  for (const int head_dim : {80, 40, 64}) {
    const int heads = 3, axis_dim = 2 * ((head_dim / 3) / 2);
    const std::vector<PatchCoord> coords = window_order_coords(3, 4, 6);
    const int64_t rows = int64_t(coords.size());
    std::vector<float> x = random_values(size_t(rows) * heads * head_dim, rng);
    const std::vector<float> original = x;
    rope_3d(x.data(), rows, heads, head_dim, axis_dim, 10000.0, coords.data());
    double worst = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int h = 0; h < heads; ++h) {
        const size_t base = (size_t(r) * heads + h) * head_dim;
        const std::vector<float> head(original.begin() + base, original.begin() + base + head_dim);
        const std::vector<double> expected =
            neox(head, spec_angles(coords[r], axis_dim, 10000.0), head_dim);
        for (int c = 0; c < head_dim; ++c)
          worst = std::max(worst, std::fabs(x[base + c] - expected[c]));
        for (int c = 3 * axis_dim; c < head_dim; ++c) // pass-through channels untouched
          EXPECT_EQ(x[base + c], original[base + c]);
      }
    EXPECT_LT(worst, 2e-5) << "head_dim " << head_dim;
  }
}

TEST(VisionRope, CoordinatesFollowTheMergeWindowOrder) {
  const std::vector<PatchCoord> c = window_order_coords(2, 4, 4);
  ASSERT_EQ(c.size(), 32u);
  const int expected[8][3] = {{0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 1, 1},
                              {0, 0, 2}, {0, 0, 3}, {0, 1, 2}, {0, 1, 3}};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(c[i].t, expected[i][0]);
    EXPECT_EQ(c[i].h, expected[i][1]);
    EXPECT_EQ(c[i].w, expected[i][2]);
  }
  EXPECT_EQ(c[16].t, 1); // second temporal group starts after 16 patches
  EXPECT_EQ(c[31].h, 3);
  EXPECT_EQ(c[31].w, 3);
  EXPECT_THROW(window_order_coords(1, 3, 4), m3::Error);
}

TEST(VisionRope, DiffersFromTransformersAxialRotary) {
  std::random_device seed;
  std::mt19937 rng(seed());
  const int head_dim = 80;
  const std::vector<PatchCoord> coords = window_order_coords(1, 4, 4);
  std::vector<float> x = random_values(coords.size() * head_dim, rng);
  const std::vector<float> original = x;
  rope_3d(x.data(), int64_t(coords.size()), 1, head_dim, 26, 10000.0, coords.data());
  double largest_gap = 0;
  for (size_t r = 0; r < coords.size(); ++r) {
    // transformers 5.17: inv[i] = theta^(-2i/40), i < 20; angles = [h * inv, w * inv], 40 pairs.
    std::vector<double> angles;
    for (int32_t position : {coords[r].h, coords[r].w})
      for (int i = 0; i < 20; ++i)
        angles.push_back(position * std::pow(10000.0, -2.0 * i / 40));
    const std::vector<float> head(original.begin() + r * head_dim,
                                  original.begin() + (r + 1) * head_dim);
    const std::vector<double> theirs = neox(head, angles, head_dim);
    for (int c = 0; c < head_dim; ++c)
      largest_gap = std::max(largest_gap, std::fabs(x[r * head_dim + c] - theirs[c]));
  }
  // Same input, same positions: the two schemes rotate different channel pairs by different
  // angles (only the (0, 0) patch agrees), so the outputs differ at O(1).
  EXPECT_GT(largest_gap, 0.5);
}

} // namespace
} // namespace m3::vision
