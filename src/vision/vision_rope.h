#pragma once
// The vision tower's 3D rotary position embedding (m3-model.md §10.3; vLLM and SGLang's towers).
// Each head rotates 3 * axis_dim channels NeoX style: the first half of those channels pairs with
// the second half; pair i < axis_dim / 2 turns by t * inv[i], then h, then w, with
// inv[i] = theta^(-2i / axis_dim). Channels past 3 * axis_dim pass through (2 of 80).
#include <cstdint>
#include <vector>

namespace m3::vision {

struct PatchCoord {
  int32_t t = 0, h = 0, w = 0;
};

// Coordinates of the patch rows of one attention sequence (t from 0), in 2x2 merge-window order.
std::vector<PatchCoord> window_order_coords(int grid_t, int grid_h, int grid_w);

// Rotates x [rows, num_heads, head_dim] in place; coords [rows].
void rope_3d(float *x, int64_t rows, int num_heads, int head_dim, int axis_dim, double theta,
             const PatchCoord *coords);

} // namespace m3::vision
