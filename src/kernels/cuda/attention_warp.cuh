#pragma once
// Per-warp attention state shared by the attention kernels: a warp holds the 16 q heads of one
// query (rows g and g + 8 of the mma/wgmma fragment layout), its output accumulators and softmax
// statistics, and writes either the final output or a block-normalised partial (O, LSE).
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/mma.cuh"

namespace m3::cuda::detail {

constexpr int kRowBytes = kHeadDim * 2;
constexpr int kTileBytes = kBlockSize * kRowBytes; // one K or V block of one KV head

struct WarpState {
  uint32_t q[8][4]; // A fragments: heads g, g + 8 of the group, 128 dims in 8 k-steps
  float o[16][4];   // output accumulators: 16 n-tiles of 8 dims
  float m[2], l[2]; // running max (log2 domain) and per-thread partial row sums
};

// A fragments of the 16 heads (g and g + 8 per thread) of one query: [16, 128] at q_heads.
__device__ __forceinline__ void load_query(uint32_t (&q)[8][4], const __nv_bfloat16 *q_heads, int g,
                                           int tig) {
  const __nv_bfloat16 *row0 = q_heads + g * kHeadDim;
  const __nv_bfloat16 *row1 = q_heads + (g + 8) * kHeadDim;
#pragma unroll
  for (int ks = 0; ks < 8; ++ks) {
    const int col = ks * 16 + 2 * tig;
    q[ks][0] = *reinterpret_cast<const uint32_t *>(row0 + col);
    q[ks][1] = *reinterpret_cast<const uint32_t *>(row1 + col);
    q[ks][2] = *reinterpret_cast<const uint32_t *>(row0 + col + 8);
    q[ks][3] = *reinterpret_cast<const uint32_t *>(row1 + col + 8);
  }
}

__device__ __forceinline__ void reset_state(WarpState &s) {
#pragma unroll
  for (int nt = 0; nt < 16; ++nt)
#pragma unroll
    for (int c = 0; c < 4; ++c)
      s.o[nt][c] = 0.f;
  s.m[0] = s.m[1] = -INFINITY;
  s.l[0] = s.l[1] = 0.f;
}

// Normalises the output of heads g and g + 8 and hands it to write(head, n_tile, word): word = the
// bf16 pair of columns 8 n_tile + 2 tig, + 1; writes the LSE (entries lse_stride apart, if lse).
// A state that saw no key gives O = 0, LSE = -inf.
template <typename WriteWord>
__device__ __forceinline__ void finish_output(WarpState &s, float *lse, size_t lse_stride, int lane,
                                              WriteWord &&write) {
  const int g = lane / 4, tig = lane % 4;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    s.l[r] += __shfl_xor_sync(0xffffffffu, s.l[r], 1);
    s.l[r] += __shfl_xor_sync(0xffffffffu, s.l[r], 2);
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int head = g + 8 * r;
    const float inverse = s.l[r] > 0.f ? 1.f / s.l[r] : 0.f;
#pragma unroll
    for (int nt = 0; nt < 16; ++nt)
      write(head, nt, pack_bf16(s.o[nt][2 * r] * inverse, s.o[nt][2 * r + 1] * inverse));
    if (lse != nullptr && tig == 0)
      lse[head * lse_stride] =
          s.l[r] > 0.f ? (s.m[r] + __log2f(s.l[r])) * 0.6931471805599453f : -INFINITY;
  }
}

// Writes the normalised output of heads g and g + 8: out rows are [head, 128] with row_stride
// elements between heads.
__device__ __forceinline__ void store_output(WarpState &s, __nv_bfloat16 *out, size_t row_stride,
                                             float *lse, size_t lse_stride, int lane) {
  const int tig = lane % 4;
  finish_output(s, lse, lse_stride, lane, [&](int head, int nt, uint32_t word) {
    *reinterpret_cast<uint32_t *>(out + head * row_stride + nt * 8 + 2 * tig) = word;
  });
}

} // namespace m3::cuda::detail
