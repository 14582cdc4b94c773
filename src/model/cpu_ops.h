#pragma once
// Plain float32 CPU building blocks of the M3 forward (shared m3-model.md §3). Activations are
// row-major [rows, width]; weights are checkpoint views converted row by row.
#include <cstdint>
#include <vector>

#include "model/weights.h"

namespace m3::cpu {

// Σ a[i]·b[i] with eight partial sums (vectorisable without reassociating one sum).
float dot(const float *a, const float *b, int64_t n);

// y[rows, W.rows] = x[rows, W.cols] · Wᵀ. Threaded over W's rows; each weight row is converted
// to float once per call.
void matmul(const float *x, int64_t rows, const Weight &weight, float *y);
std::vector<float> matmul(const std::vector<float> &x, int64_t rows, const Weight &weight);

// Gemma RMSNorm in place over each width-sized row: x * rsqrt(mean(x²) + eps) * (1 + w).
// Used for hidden rows (width = hidden) and per-head norms (width = head_dim, w shared by heads).
void gemma_rmsnorm(float *x, int64_t num_rows, int64_t width, const std::vector<float> &weight,
                   float eps);

// The NeoX rotation of one row's heads (x is [num_heads, head_dim]): every head's channel pair
// (c, c + half) turns by the angle whose cosine and sine are cos[c] and sin[c].
void rotate_half_pairs(float *x, int num_heads, int head_dim, int half, const float *cos,
                       const float *sin);

// NeoX RoPE in place on the first rotary_dim channels of every head: pairs (c, c + rotary_dim/2)
// rotate by position * theta^(-2c/rotary_dim). x is [rows, num_heads, head_dim].
void rope_neox(float *x, int64_t rows, int num_heads, int head_dim, int rotary_dim, double theta,
               const int32_t *positions);

// Clamped SwiGLU-OAI: out[i] = min(g, limit) * sigmoid(alpha * min(g, limit)) *
// (clamp(u, ±limit) + beta).
struct SwigluOai {
  float alpha = 1.702f;
  float limit = 7.0f;
  float beta = 1.0f;
  float operator()(float gate, float up) const;
};

// The gated MLP used by dense layers, routed experts and the shared expert:
// down · swiglu_oai(gate · x, up · x) for x [rows, hidden] -> [rows, hidden].
std::vector<float> gated_mlp(const std::vector<float> &x, int64_t rows,
                             const ExpertWeights &weights, const SwigluOai &activation);

} // namespace m3::cpu
