#include "model/moe.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "model/cpu_ops.h"

namespace m3::cpu {

MoeRouting route_tokens(const std::vector<float> &x, int64_t rows, const LayerWeights &layer,
                        const ModelConfig &config) {
  const int num_experts = config.num_experts, top_k = config.num_experts_per_token;
  const std::vector<float> logits = matmul(x, rows, layer.router);
  const std::vector<float> bias = layer.router_bias.empty() ? std::vector<float>(num_experts, 0.0f)
                                                            : layer.router_bias.to_f32();
  MoeRouting routing;
  routing.top_k = top_k;
  routing.experts.resize(size_t(rows) * top_k);
  routing.weights.resize(size_t(rows) * top_k);
  std::vector<float> scores(num_experts), choice(num_experts);
  std::vector<int32_t> order(num_experts);
  for (int64_t r = 0; r < rows; ++r) {
    for (int e = 0; e < num_experts; ++e) {
      scores[e] = 1.0f / (1.0f + std::exp(-logits[r * num_experts + e]));
      choice[e] = scores[e] + bias[e];
    }
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + top_k, order.end(), [&](int32_t a, int32_t b) {
      return choice[a] != choice[b] ? choice[a] > choice[b] : a < b;
    });
    float total = 0;
    for (int j = 0; j < top_k; ++j)
      total += scores[order[j]];
    for (int j = 0; j < top_k; ++j) {
      routing.experts[r * top_k + j] = order[j];
      routing.weights[r * top_k + j] =
          config.norm_topk_prob ? scores[order[j]] / total : scores[order[j]];
    }
  }
  return routing;
}

std::vector<float> moe_forward(const std::vector<float> &x, int64_t rows, const LayerWeights &layer,
                               const ModelConfig &config) {
  const int64_t hidden = config.hidden_size;
  const SwigluOai activation{config.swiglu_alpha, config.swiglu_limit, config.swiglu_beta};
  const MoeRouting routing = route_tokens(x, rows, layer, config);
  std::vector<float> out(size_t(rows * hidden), 0.0f);
  // Each expert runs once over the rows routed to it.
  std::vector<std::vector<std::pair<int64_t, float>>> assigned(config.num_experts);
  for (int64_t r = 0; r < rows; ++r)
    for (int j = 0; j < routing.top_k; ++j)
      assigned[routing.experts[r * routing.top_k + j]].push_back(
          {r, routing.weights[r * routing.top_k + j]});
  std::vector<float> gathered;
  for (int e = 0; e < config.num_experts; ++e) {
    const auto &members = assigned[e];
    if (members.empty())
      continue;
    gathered.resize(members.size() * hidden);
    for (size_t i = 0; i < members.size(); ++i)
      std::copy_n(&x[members[i].first * hidden], hidden, &gathered[i * hidden]);
    const std::vector<float> expert_out =
        gated_mlp(gathered, int64_t(members.size()), layer.experts[e], activation);
    for (size_t i = 0; i < members.size(); ++i) {
      float *dst = &out[members[i].first * hidden];
      for (int64_t c = 0; c < hidden; ++c)
        dst[c] += members[i].second * expert_out[i * hidden + c];
    }
  }
  for (float &v : out)
    v *= config.routed_scaling_factor;
  if (!layer.shared_expert.gate.empty()) {
    const std::vector<float> shared = gated_mlp(x, rows, layer.shared_expert, activation);
    for (size_t i = 0; i < out.size(); ++i)
      out[i] += shared[i];
  }
  return out;
}

} // namespace m3::cpu
