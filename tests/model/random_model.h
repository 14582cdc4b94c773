#pragma once
// A small random M3 model held in memory (no files): the checkpoint's weights point into
// buffers owned here. Sizes are small but keep every feature active: sparse layers with a block
// size and top-k that make selection matter, MoE with a shared expert and a correction bias.
#include <deque>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "model/weights.h"

namespace m3::test_model {

inline ModelConfig small_config() {
  ModelConfig c;
  c.vocab_size = 61;
  c.hidden_size = 32;
  c.num_layers = 4;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 16;
  c.rotary_dim = 8;
  c.rope_theta = 10000.0;
  c.rms_norm_eps = 1e-6f;
  c.max_position_embeddings = 4096;
  c.attention_kinds = {AttentionKind::kFull, AttentionKind::kSparse, AttentionKind::kSparse,
                       AttentionKind::kFull};
  c.mlp_kinds = {MlpKind::kDense, MlpKind::kMoe, MlpKind::kMoe, MlpKind::kMoe};
  c.dense_intermediate_size = 24;
  c.expert_intermediate_size = 16;
  c.shared_intermediate_size = 16;
  c.num_experts = 5;
  c.num_experts_per_token = 2;
  c.num_shared_experts = 1;
  c.routed_scaling_factor = 2.0f;
  c.index_num_heads = 2;
  c.index_head_dim = 16;
  c.index_block_size = 4;
  c.index_topk_blocks = 3;
  c.index_local_blocks = 1;
  c.source_style = "transformers";
  return c;
}

class RandomModel {
public:
  RandomModel(const ModelConfig &config, unsigned seed) : rng_(seed) {
    checkpoint.config = config;
    const ModelConfig &c = config;
    ModelWeights &w = checkpoint.weights;
    const int64_t h = c.hidden_size;
    w.embed_tokens = weight(c.vocab_size, h, 1.0f);
    w.final_norm = weight(1, h, 0.3f);
    w.lm_head = weight(c.vocab_size, h, 0.3f);
    for (int l = 0; l < c.num_layers; ++l) {
      LayerWeights layer;
      layer.input_norm = weight(1, h, 0.3f);
      layer.post_attention_norm = weight(1, h, 0.3f);
      layer.q_proj = weight(int64_t(c.num_heads) * c.head_dim, h, 0.3f);
      layer.k_proj = weight(int64_t(c.num_kv_heads) * c.head_dim, h, 0.3f);
      layer.v_proj = weight(int64_t(c.num_kv_heads) * c.head_dim, h, 0.3f);
      layer.o_proj = weight(h, int64_t(c.num_heads) * c.head_dim, 0.2f);
      layer.q_norm = weight(1, c.head_dim, 0.3f);
      layer.k_norm = weight(1, c.head_dim, 0.3f);
      if (c.attention_kinds[l] == AttentionKind::kSparse) {
        layer.index_q_proj = weight(int64_t(c.index_num_heads) * c.index_head_dim, h, 0.3f);
        layer.index_k_proj = weight(c.index_head_dim, h, 0.3f);
        layer.index_q_norm = weight(1, c.index_head_dim, 0.3f);
        layer.index_k_norm = weight(1, c.index_head_dim, 0.3f);
      }
      if (c.mlp_kinds[l] == MlpKind::kMoe) {
        layer.router = weight(c.num_experts, h, 0.5f);
        layer.router_bias = weight(1, c.num_experts, 0.3f);
        for (int e = 0; e < c.num_experts; ++e)
          layer.experts.push_back(mlp(c.expert_intermediate_size, h));
        if (c.num_shared_experts > 0)
          layer.shared_expert = mlp(c.shared_intermediate_size, h);
      } else {
        layer.dense_mlp = mlp(c.dense_intermediate_size, h);
      }
      w.layers.push_back(std::move(layer));
    }
  }

  Checkpoint checkpoint;

private:
  // Alternates float32 and bfloat16 storage so both conversion paths run.
  Weight weight(int64_t rows, int64_t cols, float scale) {
    std::normal_distribution<float> normal(0.0f, scale);
    Weight out;
    out.rows = rows;
    out.cols = cols;
    if ((count_++ & 1) == 0) {
      auto &data = f32_.emplace_back(size_t(rows * cols));
      for (auto &x : data)
        x = normal(rng_);
      out.dtype = DType::kF32;
      out.data = data.data();
    } else {
      auto &data = bf16_.emplace_back(size_t(rows * cols));
      for (auto &x : data)
        x = f32_to_bf16(normal(rng_));
      out.dtype = DType::kBF16;
      out.data = data.data();
    }
    return out;
  }
  ExpertWeights mlp(int64_t inter, int64_t hidden) {
    return {weight(inter, hidden, 0.4f), weight(inter, hidden, 0.4f), weight(hidden, inter, 0.3f)};
  }

  std::mt19937 rng_;
  int count_ = 0;
  std::deque<std::vector<float>> f32_;
  std::deque<std::vector<uint16_t>> bf16_;
};

} // namespace m3::test_model
