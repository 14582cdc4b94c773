#pragma once
// The M3 mixture-of-experts block (shared m3-model.md §3.5): fp32 sigmoid router, correction bias
// for the choice only, renormalised top-k, routed_scaling_factor on the routed sum, plus the
// shared expert.
#include <cstdint>
#include <vector>

#include "model/config.h"
#include "model/weights.h"

namespace m3::cpu {

struct MoeRouting {
  int top_k = 0;
  std::vector<int32_t> experts; // [rows, top_k], by descending biased score
  std::vector<float> weights;   // [rows, top_k], unbiased scores (renormalised when configured)
};

MoeRouting route_tokens(const std::vector<float> &x, int64_t rows, const LayerWeights &layer,
                        const ModelConfig &config);

// x [rows, hidden] (already post-attention-normed) -> [rows, hidden].
std::vector<float> moe_forward(const std::vector<float> &x, int64_t rows, const LayerWeights &layer,
                               const ModelConfig &config);

} // namespace m3::cpu
