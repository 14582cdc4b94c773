#include "vision/vision_rope.h"

#include <cmath>

#include "core/error.h"
#include "model/cpu_ops.h"

namespace m3::vision {

std::vector<PatchCoord> window_order_coords(int grid_t, int grid_h, int grid_w) {
  require(grid_h % 2 == 0 && grid_w % 2 == 0, "patch grid must be even in height and width");
  std::vector<PatchCoord> coords;
  coords.reserve(size_t(grid_t) * grid_h * grid_w);
  for (int t = 0; t < grid_t; ++t)
    for (int hb = 0; hb < grid_h / 2; ++hb)
      for (int wb = 0; wb < grid_w / 2; ++wb)
        for (int hi = 0; hi < 2; ++hi)
          for (int wi = 0; wi < 2; ++wi)
            coords.push_back({t, hb * 2 + hi, wb * 2 + wi});
  return coords;
}

void rope_3d(float *x, int64_t rows, int num_heads, int head_dim, int axis_dim, double theta,
             const PatchCoord *coords) {
  const int pairs_per_axis = axis_dim / 2;
  const int half = 3 * pairs_per_axis; // rotated channels / 2
  require(axis_dim % 2 == 0 && 2 * half <= head_dim, "3D RoPE does not fit the head");
  // The reference computes angles in float32 (position * inv_freq); so do we.
  std::vector<float> inv(pairs_per_axis);
  for (int i = 0; i < pairs_per_axis; ++i)
    inv[i] = float(1.0 / std::pow(theta, double(2 * i) / axis_dim));
  std::vector<float> cos_row(half), sin_row(half);
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t position[3] = {coords[r].t, coords[r].h, coords[r].w};
    for (int axis = 0; axis < 3; ++axis)
      for (int i = 0; i < pairs_per_axis; ++i) {
        const float angle = float(position[axis]) * inv[i];
        cos_row[axis * pairs_per_axis + i] = std::cos(angle);
        sin_row[axis * pairs_per_axis + i] = std::sin(angle);
      }
    cpu::rotate_half_pairs(x + r * num_heads * head_dim, num_heads, head_dim, half, cos_row.data(),
                           sin_row.data());
  }
}

} // namespace m3::vision
