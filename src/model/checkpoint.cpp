// load_checkpoint: binds the tensors the config needs, under the release names or the variants
// other producers write (m3-model.md §7), checking every shape against the config.
#include <filesystem>

#include "core/error.h"
#include "core/safetensors.h"
#include "model/weights.h"

namespace m3 {

namespace {

constexpr int64_t kMxBlock = 32;

class Binder {
public:
  explicit Binder(const SafetensorsArchive &archive) : archive_(archive) {}

  bool has(const std::string &name) const { return archive_.find(name) != nullptr; }

  // A 1-D ([n]) or N-D float weight; 2-D ones may be MXFP8.
  Weight bind(const std::string &name, const std::vector<int64_t> &shape) const {
    const TensorInfo &tensor = archive_.get(name);
    require(tensor.shape == shape, "tensor " + name + " has shape " + tensor.shape_string() +
                                       " in " + *tensor.file + ", expected " + shape_string(shape) +
                                       " from config.json");
    Weight weight;
    weight.data = tensor.data;
    // N-D tensors (the vision Conv3d) are viewed as [shape[0], product of the rest].
    weight.rows = shape.size() >= 2 ? shape[0] : 1;
    weight.cols = tensor.numel() / weight.rows;
    if (tensor.dtype == "F32") {
      weight.dtype = DType::kF32;
    } else if (tensor.dtype == "BF16") {
      weight.dtype = DType::kBF16;
    } else if (tensor.dtype == "F16") {
      weight.dtype = DType::kF16;
    } else if (tensor.dtype == "F8_E4M3" && shape.size() == 2) {
      weight.dtype = DType::kF8E4M3;
      weight.scale_e8m0 = bind_mx_scales(name, weight.rows, weight.cols);
    } else {
      fail("tensor " + name + " in " + *tensor.file + " has dtype " + tensor.dtype +
           ", expected F32, BF16, F16" + (shape.size() == 2 ? " or F8_E4M3 (MXFP8)" : ""));
    }
    return weight;
  }

private:
  // E8M0 exponents [rows, cols / 32] stored next to an F8_E4M3 weight as <name>_scale_inv.
  const uint8_t *bind_mx_scales(const std::string &name, int64_t rows, int64_t cols) const {
    require(cols % kMxBlock == 0, "MXFP8 tensor " + name + " has " + std::to_string(cols) +
                                      " columns, not a multiple of 32");
    const std::string scale_name = name + "_scale_inv";
    const TensorInfo *scales = archive_.find(scale_name);
    require(scales != nullptr,
            "MXFP8 tensor " + name + " has no block scales (" + scale_name + ")");
    require(scales->dtype == "U8" || scales->dtype == "F8_E8M0",
            "tensor " + scale_name + " has dtype " + scales->dtype + ", expected U8 (E8M0)");
    const std::vector<int64_t> expected = {rows, cols / kMxBlock};
    require(scales->shape == expected, "tensor " + scale_name + " has shape " +
                                           scales->shape_string() + ", expected " +
                                           shape_string(expected));
    return static_cast<const uint8_t *>(scales->data);
  }

  const SafetensorsArchive &archive_;
};

// Where the text model lives: release VL checkpoints prefix it with language_model.,
// text-only ones do not.
struct Naming {
  std::string model;   // "<model>embed_tokens.weight", "<model>layers.N."
  std::string lm_head; // the LM head tensor
};

Naming detect_naming(const Binder &binder) {
  const Naming candidates[] = {{"language_model.model.", "language_model.lm_head.weight"},
                               {"model.", "lm_head.weight"}};
  for (const auto &naming : candidates)
    if (binder.has(naming.model + "embed_tokens.weight"))
      return naming;
  fail("checkpoint has neither language_model.model.embed_tokens.weight nor "
       "model.embed_tokens.weight");
}

ExpertWeights bind_mlp(const Binder &binder, const std::string &prefix, const char *gate,
                       const char *up, const char *down, int64_t hidden, int64_t inter) {
  ExpertWeights mlp;
  mlp.gate = binder.bind(prefix + gate + ".weight", {inter, hidden});
  mlp.up = binder.bind(prefix + up + ".weight", {inter, hidden});
  mlp.down = binder.bind(prefix + down + ".weight", {hidden, inter});
  return mlp;
}

LayerWeights bind_layer(const Binder &binder, const ModelConfig &c, const std::string &base,
                        int layer) {
  const int64_t h = c.hidden_size;
  const int64_t d = c.head_dim;
  LayerWeights w;
  w.input_norm = binder.bind(base + "input_layernorm.weight", {h});
  w.post_attention_norm = binder.bind(base + "post_attention_layernorm.weight", {h});
  const std::string attn = base + "self_attn.";
  w.q_proj = binder.bind(attn + "q_proj.weight", {c.num_heads * d, h});
  w.k_proj = binder.bind(attn + "k_proj.weight", {c.num_kv_heads * d, h});
  w.v_proj = binder.bind(attn + "v_proj.weight", {c.num_kv_heads * d, h});
  w.o_proj = binder.bind(attn + "o_proj.weight", {h, c.num_heads * d});
  w.q_norm = binder.bind(attn + "q_norm.weight", {d});
  w.k_norm = binder.bind(attn + "k_norm.weight", {d});
  if (c.attention_kinds[layer] == AttentionKind::kSparse) {
    const int64_t index_dim = c.index_head_dim;
    w.index_q_proj = binder.bind(attn + "index_q_proj.weight", {c.index_num_heads * index_dim, h});
    w.index_k_proj = binder.bind(attn + "index_k_proj.weight", {index_dim, h});
    w.index_q_norm = binder.bind(attn + "index_q_norm.weight", {index_dim});
    w.index_k_norm = binder.bind(attn + "index_k_norm.weight", {index_dim});
  }
  const std::string moe = base + "block_sparse_moe.";
  if (c.mlp_kinds[layer] == MlpKind::kDense) {
    // Release: mlp.*; transformers save_pretrained: block_sparse_moe.{gate,up,down}_proj.
    const bool saved_by_transformers =
        !binder.has(base + "mlp.gate_proj.weight") && binder.has(moe + "gate_proj.weight");
    w.dense_mlp = bind_mlp(binder, saved_by_transformers ? moe : base + "mlp.", "gate_proj",
                           "up_proj", "down_proj", h, c.dense_intermediate_size);
    return w;
  }
  w.router = binder.bind(moe + "gate.weight", {c.num_experts, h});
  w.router_bias = binder.bind(moe + "e_score_correction_bias", {c.num_experts});
  w.experts.reserve(c.num_experts);
  for (int e = 0; e < c.num_experts; ++e)
    w.experts.push_back(bind_mlp(binder, moe + "experts." + std::to_string(e) + ".", "w1", "w3",
                                 "w2", h, c.expert_intermediate_size));
  w.shared_expert = bind_mlp(binder, moe + "shared_experts.", "gate_proj", "up_proj", "down_proj",
                             h, c.shared_intermediate_size);
  return w;
}

} // namespace

Weight bind_weight(const SafetensorsArchive &archive, const std::string &name,
                   const std::vector<int64_t> &shape) {
  return Binder(archive).bind(name, shape);
}

Checkpoint load_checkpoint(const std::string &model_dir) {
  Checkpoint checkpoint;
  checkpoint.config = load_model_config(model_dir);
  checkpoint.archive = std::make_shared<SafetensorsArchive>(model_dir);
  const ModelConfig &c = checkpoint.config;
  const Binder binder(*checkpoint.archive);
  const Naming naming = detect_naming(binder);
  ModelWeights &weights = checkpoint.weights;
  weights.embed_tokens =
      binder.bind(naming.model + "embed_tokens.weight", {c.vocab_size, c.hidden_size});
  weights.final_norm = binder.bind(naming.model + "norm.weight", {c.hidden_size});
  weights.lm_head = c.tie_word_embeddings
                        ? weights.embed_tokens
                        : binder.bind(naming.lm_head, {c.vocab_size, c.hidden_size});
  weights.layers.reserve(c.num_layers);
  for (int layer = 0; layer < c.num_layers; ++layer)
    weights.layers.push_back(
        bind_layer(binder, c, naming.model + "layers." + std::to_string(layer) + ".", layer));
  return checkpoint;
}

} // namespace m3
