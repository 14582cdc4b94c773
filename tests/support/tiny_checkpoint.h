#pragma once
// Tiny random MiniMax-M3-architecture checkpoints for loader tests: mixed layer kinds, every
// naming the loader accepts, BF16/F32/F16/MXFP8 weights, single-file or sharded.
#include <string>

#include "safetensors_writer.h"

namespace m3::test_support {

enum class TinyNaming {
  kRelease,          // language_model.model.*, dense MLPs under mlp.*
  kTransformersSave, // same, but dense MLPs under block_sparse_moe.{gate,up,down}_proj
  kTextOnly,         // model.* and lm_head.weight
};

struct TinyCheckpointOptions {
  TinyNaming naming = TinyNaming::kRelease;
  bool legacy_config = true;         // released keys, else transformers-style keys
  std::string weight_dtype = "BF16"; // BF16, F32, F16 or MXFP8
  int num_shards = 0;                // 0: one model.safetensors
  bool tied_embeddings = false;
};

// The tiny model's sizes. Layers: 0 full+dense, 1 sparse+MoE, 2 full+MoE, 3 sparse+dense.
struct TinyShape {
  static constexpr int kHidden = 64, kLayers = 4, kHeads = 4, kKvHeads = 2, kHeadDim = 32;
  static constexpr int kRotaryDim = 16, kVocab = 96, kExperts = 4, kExpertsPerToken = 2;
  static constexpr int kExpertInter = 32, kSharedInter = 32, kDenseInter = 96;
  static constexpr int kIndexHeads = 2, kIndexDim = 32, kBlock = 4, kTopk = 2;
  static bool sparse(int layer) { return layer % 2 == 1; }
  static bool moe(int layer) { return layer == 1 || layer == 2; }
};

struct TinyCheckpoint {
  std::string dir;
  TensorMap tensors; // every tensor written, by name
};

std::string tiny_config_json(bool legacy, bool tied_embeddings);
// Writes config.json and random weights into dir (which must exist).
TinyCheckpoint write_tiny_checkpoint(const std::string &dir, const TinyCheckpointOptions &options);

} // namespace m3::test_support
