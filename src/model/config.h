#pragma once
// The text model's hyper-parameters, normalised from either config.json style
// (released legacy keys or the newer transformers keys; see shared m3-model.md §2).
#include <cstdint>
#include <string>
#include <vector>

namespace m3 {

enum class AttentionKind { kFull, kSparse };  // dense causal GQA | MiniMax Sparse Attention
enum class MlpKind { kDense, kMoe };

struct ModelConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;             // query heads
  int num_kv_heads = 0;          // GQA groups; q head h uses kv head h / (num_heads / num_kv_heads)
  int head_dim = 0;
  int rotary_dim = 0;            // NeoX rotation on the first rotary_dim channels of each head
  double rope_theta = 0;
  float rms_norm_eps = 1e-6f;    // Gemma (1 + w) RMSNorm everywhere
  int64_t max_position_embeddings = 0;
  bool tie_word_embeddings = false;

  std::vector<AttentionKind> attention_kinds;  // [num_layers]
  std::vector<MlpKind> mlp_kinds;              // [num_layers]

  // MLPs (clamped SwiGLU-OAI: g = min(g, limit), u = clamp(u, +-limit), g*sigmoid(alpha*g)*(u+beta))
  int64_t dense_intermediate_size = 0;
  int64_t expert_intermediate_size = 0;
  int64_t shared_intermediate_size = 0;  // 0 when there is no shared expert
  float swiglu_alpha = 1.702f;
  float swiglu_limit = 7.0f;
  float swiglu_beta = 1.0f;

  // MoE routing: sigmoid scores, +bias for the choice only, renormalise, x routed_scaling_factor.
  int num_experts = 0;
  int num_experts_per_token = 0;
  int num_shared_experts = 0;
  float routed_scaling_factor = 1.0f;
  bool norm_topk_prob = true;

  // MSA indexer (sparse layers only).
  int index_num_heads = 0;   // one index query head per KV group
  int index_head_dim = 0;
  int index_block_size = 0;  // tokens per MSA block (= KV page size)
  int index_topk_blocks = 0; // blocks kept per (token, KV group), local block included
  int index_local_blocks = 1;

  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;
  std::string source_style;  // "legacy" or "transformers", for `m3 info`

  int queries_per_kv() const { return num_heads / num_kv_heads; }
  bool has_sparse_layers() const;
  // BF16 bytes the KV cache holds per token: K and V in every layer plus the index key in sparse
  // layers (MiniMax-M3: 137,472).
  int64_t kv_bytes_per_token() const;
  // Parameters of the text model implied by the config (embeddings, every layer, final norm,
  // untied LM head); the vision tower is not part of ModelConfig.
  int64_t parameter_count() const;
};

// Reads <dir>/config.json (a VL config's text_config is used when present), fills defaults,
// and validates every field; throws m3::Error naming the offending key.
ModelConfig load_model_config(const std::string& model_dir);
ModelConfig parse_model_config(const std::string& json_text);

}  // namespace m3
