#pragma once
// Non-owning views of checkpoint tensors (they point into mmapped safetensors files) and the
// per-layer weight set of the M3 text model. Kernels convert rows to float on the fly, so BF16,
// F16, F32 and MXFP8 checkpoints run without a converted copy.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "model/config.h"

namespace m3 {

// A 1-D or 2-D weight [rows, cols] (1-D: rows == 1). For F8_E4M3, scale_e8m0 holds the MXFP8
// block scales [rows, cols / 32]: W[r, c] = e4m3(data[r, c]) * 2^(scale[r, c / 32] - 127).
struct Weight {
  DType dtype = DType::kF32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  const uint8_t* scale_e8m0 = nullptr;

  bool empty() const { return data == nullptr; }
  // Writes row r as cols floats.
  void row_to_f32(int64_t r, float* out) const;
  // The whole tensor as floats (for small tensors: norms, biases, routers).
  std::vector<float> to_f32() const;
};

struct ExpertWeights {
  Weight gate;  // [inter, hidden]  (release name w1)
  Weight up;    // [inter, hidden]  (w3)
  Weight down;  // [hidden, inter]  (w2)
};

struct LayerWeights {
  Weight input_norm;          // [hidden]
  Weight post_attention_norm; // [hidden]
  Weight q_proj;              // [num_heads * head_dim, hidden]
  Weight k_proj;              // [num_kv_heads * head_dim, hidden]
  Weight v_proj;              // [num_kv_heads * head_dim, hidden]
  Weight o_proj;              // [hidden, num_heads * head_dim]
  Weight q_norm;              // [head_dim], shared by all heads
  Weight k_norm;              // [head_dim]
  // Sparse (MSA) layers only.
  Weight index_q_proj;        // [index_num_heads * index_head_dim, hidden], head-major
  Weight index_k_proj;        // [index_head_dim, hidden], one shared key head
  Weight index_q_norm;        // [index_head_dim]
  Weight index_k_norm;        // [index_head_dim]
  // Dense MLP layers: mlp.{gate,up,down}_proj.
  ExpertWeights dense_mlp;
  // MoE layers.
  Weight router;              // [num_experts, hidden], fp32
  Weight router_bias;         // [num_experts], fp32 e_score_correction_bias (choice only)
  std::vector<ExpertWeights> experts;  // [num_experts]
  ExpertWeights shared_expert;         // empty when num_shared_experts == 0
};

struct ModelWeights {
  Weight embed_tokens;  // [vocab, hidden]
  Weight final_norm;    // [hidden]
  Weight lm_head;       // [vocab, hidden] (embed_tokens when tied)
  std::vector<LayerWeights> layers;
};

class SafetensorsArchive;  // core/safetensors.h

// A loaded checkpoint: config, the mapped files that own the bytes, and the bound weights.
struct Checkpoint {
  ModelConfig config;
  std::shared_ptr<SafetensorsArchive> archive;
  ModelWeights weights;
};

// Binds one tensor of `archive` after checking its shape: 1-D as [1, n], N-D as [shape[0],
// product of the rest] (F32, BF16, F16; 2-D also MXFP8 with <name>_scale_inv). Throws m3::Error
// naming the tensor.
Weight bind_weight(const SafetensorsArchive& archive, const std::string& name,
                   const std::vector<int64_t>& shape);

// Loads <dir>/config.json and binds every tensor the config needs (release naming and the
// transformers save_pretrained variants, and text-only checkpoints under model./lm_head.;
// single-file or sharded). Only headers are read: binding maps pointers, it does not touch tensor
// data. Missing, mis-shaped or unsupported tensors throw m3::Error with the tensor's name; an
// F8_E4M3 weight needs its U8 E8M0 <name>_scale_inv [rows, cols / 32].
Checkpoint load_checkpoint(const std::string& model_dir);

}  // namespace m3
