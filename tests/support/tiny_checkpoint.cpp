#include "tiny_checkpoint.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

namespace m3::test_support {

using nlohmann::json;
using S = TinyShape;

namespace {

class RandomTensors {
public:
  explicit RandomTensors(const std::string &weight_dtype)
      : weight_dtype_(weight_dtype), rng_(std::random_device{}()) {}

  // A float tensor in `dtype` (BF16, F32 or F16) with random finite values.
  RawTensor plain(const std::string &dtype, std::vector<int64_t> shape) {
    RawTensor t{dtype, shape, {}};
    std::normal_distribution<float> normal(0.f, 0.5f);
    for (int64_t i = 0, n = count(shape); i < n; ++i) {
      float value = normal(rng_);
      uint32_t bits;
      std::memcpy(&bits, &value, 4);
      if (dtype == "F32") {
        append(t.bytes, bits, 4);
      } else if (dtype == "BF16") {
        append(t.bytes, bits >> 16, 2); // truncation: any finite bf16 will do
      } else if (dtype == "F16") {
        uint32_t exponent = 1 + rng_() % 30, mantissa = rng_() % 1024, sign = rng_() % 2;
        append(t.bytes, (sign << 15) | (exponent << 10) | mantissa, 2);
      } else {
        throw std::invalid_argument("no random generator for " + dtype);
      }
    }
    return t;
  }

  // Norms and other vectors: the checkpoint's float dtype (BF16 in an MXFP8 checkpoint).
  RawTensor vector(int64_t n) { return plain(float_dtype(), {n}); }

  // A linear weight [rows, cols]: MXFP8 (plus its scale tensor) or the plain dtype.
  void matrix(TensorMap &out, const std::string &name, int64_t rows, int64_t cols) {
    if (weight_dtype_ != "MXFP8") {
      out[name] = plain(weight_dtype_, {rows, cols});
      return;
    }
    RawTensor weight{"F8_E4M3", {rows, cols}, {}};
    for (int64_t i = 0; i < rows * cols; ++i) {
      uint8_t byte = uint8_t(rng_());
      if ((byte & 0x7F) == 0x7F)
        byte ^= 0x01; // avoid NaN encodings
      weight.bytes.push_back(char(byte));
    }
    RawTensor scales{"U8", {rows, cols / 32}, {}};
    for (int64_t i = 0; i < rows * cols / 32; ++i)
      scales.bytes.push_back(char(120 + rng_() % 15));
    out[name] = weight;
    out[name + "_scale_inv"] = scales;
  }

  std::string float_dtype() const { return weight_dtype_ == "MXFP8" ? "BF16" : weight_dtype_; }

private:
  static int64_t count(const std::vector<int64_t> &shape) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  static void append(std::string &bytes, uint32_t value, int size) {
    for (int i = 0; i < size; ++i)
      bytes.push_back(char((value >> (8 * i)) & 0xFF));
  }

  std::string weight_dtype_;
  std::mt19937 rng_;
};

} // namespace

std::string tiny_config_json(bool legacy, bool tied_embeddings) {
  json text = {{"hidden_size", S::kHidden},
               {"num_hidden_layers", S::kLayers},
               {"num_attention_heads", S::kHeads},
               {"num_key_value_heads", S::kKvHeads},
               {"head_dim", S::kHeadDim},
               {"vocab_size", S::kVocab},
               {"num_local_experts", S::kExperts},
               {"num_experts_per_tok", S::kExpertsPerToken},
               {"intermediate_size", S::kExpertInter},
               {"shared_intermediate_size", S::kSharedInter},
               {"dense_intermediate_size", S::kDenseInter},
               {"rms_norm_eps", 1e-6},
               {"routed_scaling_factor", 2.0},
               {"swiglu_alpha", 1.702},
               {"swiglu_limit", 7.0},
               {"tie_word_embeddings", tied_embeddings}};
  std::vector<int> sparse_freq, moe_freq;
  std::vector<std::string> layer_types, mlp_types;
  for (int l = 0; l < S::kLayers; ++l) {
    sparse_freq.push_back(S::sparse(l));
    moe_freq.push_back(S::moe(l));
    layer_types.push_back(S::sparse(l) ? "minimax_m3_sparse" : "full_attention");
    mlp_types.push_back(S::moe(l) ? "sparse" : "dense");
  }
  const double partial = double(S::kRotaryDim) / S::kHeadDim;
  if (legacy) {
    text["model_type"] = "minimax_m2";
    text["hidden_act"] = "swigluoai";
    text["rope_theta"] = 10000;
    text["rotary_dim"] = S::kRotaryDim;
    text["partial_rotary_factor"] = partial;
    text["moe_layer_freq"] = moe_freq;
    text["n_shared_experts"] = 1;
    text["scoring_func"] = "sigmoid";
    text["use_routing_bias"] = true;
    text["sparse_attention_config"] = {{"use_sparse_attention", true},
                                       {"sparse_attention_freq", sparse_freq},
                                       {"sparse_disable_index_value", sparse_freq},
                                       {"sparse_num_index_heads", S::kIndexHeads},
                                       {"sparse_index_dim", S::kIndexDim},
                                       {"sparse_block_size", S::kBlock},
                                       {"sparse_topk_blocks", S::kTopk},
                                       {"sparse_local_block", 1},
                                       {"sparse_init_block", 0},
                                       {"sparse_score_type", "max"}};
  } else {
    text["model_type"] = "minimax_m3_vl_text";
    text["hidden_act"] = "silu";
    text["rope_parameters"] = {
        {"rope_type", "default"}, {"rope_theta", 10000.0}, {"partial_rotary_factor", partial}};
    text["layer_types"] = layer_types;
    text["mlp_layer_types"] = mlp_types;
    text["index_n_heads"] = S::kIndexHeads;
    text["index_head_dim"] = S::kIndexDim;
    text["index_block_size"] = S::kBlock;
    text["index_topk_blocks"] = S::kTopk;
    text["index_local_blocks"] = 1;
  }
  json root = {{"model_type", "minimax_m3_vl"},
               {"architectures", {"MiniMaxM3SparseForConditionalGeneration"}},
               {"text_config", text},
               {"vision_config", {{"model_type", "clip_vision_model"}, {"hidden_size", 32}}}};
  return root.dump(2);
}

TinyCheckpoint write_tiny_checkpoint(const std::string &dir, const TinyCheckpointOptions &o) {
  TinyCheckpoint out{dir, {}};
  RandomTensors random(o.weight_dtype);
  TensorMap &t = out.tensors;
  const bool text_only = o.naming == TinyNaming::kTextOnly;
  const std::string model = text_only ? "model." : "language_model.model.";
  const std::string float_dtype = random.float_dtype();
  t[model + "embed_tokens.weight"] = random.plain(float_dtype, {S::kVocab, S::kHidden});
  if (!o.tied_embeddings)
    t[text_only ? "lm_head.weight" : "language_model.lm_head.weight"] =
        random.plain(float_dtype, {S::kVocab, S::kHidden});
  t[model + "norm.weight"] = random.vector(S::kHidden);
  for (int l = 0; l < S::kLayers; ++l) {
    const std::string base = model + "layers." + std::to_string(l) + ".";
    const std::string attn = base + "self_attn.";
    t[base + "input_layernorm.weight"] = random.vector(S::kHidden);
    t[base + "post_attention_layernorm.weight"] = random.vector(S::kHidden);
    random.matrix(t, attn + "q_proj.weight", S::kHeads * S::kHeadDim, S::kHidden);
    random.matrix(t, attn + "k_proj.weight", S::kKvHeads * S::kHeadDim, S::kHidden);
    random.matrix(t, attn + "v_proj.weight", S::kKvHeads * S::kHeadDim, S::kHidden);
    random.matrix(t, attn + "o_proj.weight", S::kHidden, S::kHeads * S::kHeadDim);
    t[attn + "q_norm.weight"] = random.vector(S::kHeadDim);
    t[attn + "k_norm.weight"] = random.vector(S::kHeadDim);
    if (S::sparse(l)) {
      random.matrix(t, attn + "index_q_proj.weight", S::kIndexHeads * S::kIndexDim, S::kHidden);
      random.matrix(t, attn + "index_k_proj.weight", S::kIndexDim, S::kHidden);
      t[attn + "index_q_norm.weight"] = random.vector(S::kIndexDim);
      t[attn + "index_k_norm.weight"] = random.vector(S::kIndexDim);
    }
    const std::string moe = base + "block_sparse_moe.";
    if (!S::moe(l)) {
      const std::string mlp = o.naming == TinyNaming::kTransformersSave ? moe : base + "mlp.";
      random.matrix(t, mlp + "gate_proj.weight", S::kDenseInter, S::kHidden);
      random.matrix(t, mlp + "up_proj.weight", S::kDenseInter, S::kHidden);
      random.matrix(t, mlp + "down_proj.weight", S::kHidden, S::kDenseInter);
      continue;
    }
    t[moe + "gate.weight"] = random.plain("F32", {S::kExperts, S::kHidden});
    t[moe + "e_score_correction_bias"] = random.plain("F32", {S::kExperts});
    for (int e = 0; e < S::kExperts; ++e) {
      const std::string expert = moe + "experts." + std::to_string(e) + ".";
      random.matrix(t, expert + "w1.weight", S::kExpertInter, S::kHidden);
      random.matrix(t, expert + "w3.weight", S::kExpertInter, S::kHidden);
      random.matrix(t, expert + "w2.weight", S::kHidden, S::kExpertInter);
    }
    random.matrix(t, moe + "shared_experts.gate_proj.weight", S::kSharedInter, S::kHidden);
    random.matrix(t, moe + "shared_experts.up_proj.weight", S::kSharedInter, S::kHidden);
    random.matrix(t, moe + "shared_experts.down_proj.weight", S::kHidden, S::kSharedInter);
  }
  // Tensors the text model does not use, in a dtype it cannot convert: must be ignored.
  if (!text_only) {
    t["vision_tower.vision_model.embeddings.position_ids"] = {"I64", {2}, std::string(16, '\0')};
    t["language_model.model.mtp.layers.0.eh_proj.weight"] = random.plain("BF16", {2, 2});
  }
  write_text(dir + "/config.json", tiny_config_json(o.legacy_config, o.tied_embeddings));
  if (o.num_shards > 0) {
    write_sharded(dir, t, o.num_shards);
  } else {
    write_safetensors(dir + "/model.safetensors", t);
  }
  return out;
}

} // namespace m3::test_support
