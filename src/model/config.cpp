#include "model/config.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"
#include "core/json_fields.h"
#include "core/text_file.h"

namespace m3 {

using nlohmann::json;

namespace {

// Defaults of transformers' MiniMaxM3VLTextConfig (5.17), which a save_pretrained config may
// rely on; values that transformers hard-codes are checked, not defaulted.
constexpr int64_t kDefaultVocab = 200064;
constexpr int64_t kDefaultHidden = 6144;
constexpr int kDefaultLayers = 60;
constexpr int kDefaultHeads = 64;
constexpr int kDefaultKvHeads = 4;
constexpr int kDefaultHeadDim = 128;
constexpr int64_t kDefaultMaxPositions = 524288;
constexpr double kDefaultRopeTheta = 5e6; // MiniMaxM2Config.default_theta
constexpr int64_t kDefaultDenseInter = 12288;
constexpr int64_t kDefaultExpertInter = 3072;
constexpr int64_t kDefaultSharedInter = 3072;
constexpr int kDefaultExperts = 128;
constexpr int kDefaultExpertsPerToken = 4;
constexpr double kDefaultRoutedScale = 2.0;
constexpr int kDefaultIndexHeads = 4;
constexpr int kDefaultIndexHeadDim = 128;
constexpr int kDefaultIndexBlock = 128;
constexpr int kDefaultIndexTopk = 16;
constexpr int kDefaultIndexLocal = 1;
constexpr int64_t kDefaultBos = 200034;
constexpr int64_t kDefaultEos = 200020;

int to_int(int64_t value, const std::string &what) {
  require(value >= 0 && value <= int64_t(1) << 30,
          what + " = " + std::to_string(value) + " is out of range");
  return int(value);
}

int64_t first_token_id(const JsonFields &fields, const std::string &key, int64_t fallback) {
  if (!fields.has(key))
    return fields.is_null(key) ? -1 : fallback;
  const json &value = fields.at(key);
  if (value.is_array()) {
    require(!value.empty() && value[0].is_number_integer(), fields.name(key) + " is malformed");
    return value[0].get<int64_t>();
  }
  return fields.integer(key, fallback);
}

// Per-layer kinds from the newer list of names (`layer_types`, `mlp_layer_types`) or the legacy
// 0/1 list (`sparse_attention_freq`, `moe_layer_freq`); when both are present they must agree
// (transformers would silently take the names).
template <typename Kind>
std::vector<Kind> layer_kinds(const JsonFields &names_in, const std::string &names_key,
                              const std::map<std::string, Kind> &kind_of_name,
                              const JsonFields *flags_in, const std::string &flags_key,
                              const Kind (&kind_of_flag)[2], int layers) {
  std::vector<Kind> from_names, from_flags;
  if (names_in.has(names_key)) {
    for (const auto &name : names_in.strings(names_key)) {
      auto it = kind_of_name.find(name);
      if (it == kind_of_name.end()) {
        std::string known;
        for (const auto &[known_name, kind] : kind_of_name)
          known += " " + known_name;
        fail(names_in.name(names_key) + " has unsupported entry '" + name + "' (expected" + known +
             ")");
      }
      from_names.push_back(it->second);
    }
  }
  if (flags_in != nullptr && flags_in->has(flags_key))
    for (int64_t flag : flags_in->integers(flags_key))
      from_flags.push_back(kind_of_flag[flag != 0]);
  const std::string flags_name = flags_in ? flags_in->name(flags_key) : "'" + flags_key + "'";
  require(!from_names.empty() || !from_flags.empty(), "config gives no per-layer kinds (need " +
                                                          names_in.name(names_key) + " or " +
                                                          flags_name + ")");
  require(from_names.empty() || from_flags.empty() || from_names == from_flags,
          names_in.name(names_key) + " disagrees with " + flags_name);
  auto kinds = from_names.empty() ? from_flags : from_names;
  require(int(kinds.size()) == layers, names_in.name(names_key) + " / " + flags_name + " has " +
                                           std::to_string(kinds.size()) + " entries for " +
                                           std::to_string(layers) + " layers");
  return kinds;
}

// RoPE as transformers builds it: theta and partial_rotary_factor from rope_parameters, else the
// legacy top-level keys; rotated channels = int(head_dim * factor). transformers ignores
// `rotary_dim`, so a legacy config whose rotary_dim disagrees is ambiguous and refused.
void parse_rope(const JsonFields &text, bool legacy, ModelConfig &config) {
  require(!text.has("rope_scaling"),
          text.name("rope_scaling") + " is not supported (M3 uses plain RoPE, no scaling)");
  double theta = text.number("rope_theta", kDefaultRopeTheta);
  double factor = text.number("partial_rotary_factor", 1.0);
  if (text.has("rope_parameters")) {
    require(text.at("rope_parameters").is_object(),
            text.name("rope_parameters") + " must be an object");
    JsonFields rope(text.at("rope_parameters"), "rope_parameters.");
    std::string type = rope.text("rope_type", rope.text("type", "default"));
    require(type == "default", rope.name("rope_type") + " = '" + type +
                                   "' is not supported (M3 uses plain RoPE, no scaling)");
    theta = rope.number("rope_theta", theta);
    factor = rope.number("partial_rotary_factor", factor);
  }
  require(theta > 0, "rope_theta must be positive");
  require(factor > 0 && factor <= 1, "partial_rotary_factor must be in (0, 1]");
  config.rope_theta = theta;
  config.rotary_dim = int(double(config.head_dim) * factor);
  if (legacy && text.has("rotary_dim")) {
    int64_t stated = text.integer("rotary_dim", 0);
    require(stated == config.rotary_dim,
            text.name("rotary_dim") + " = " + std::to_string(stated) + " disagrees with head_dim " +
                std::to_string(config.head_dim) + " x partial_rotary_factor " +
                std::to_string(factor) + " = " + std::to_string(config.rotary_dim));
  }
}

// MSA indexer sizes: the legacy sparse_attention_config wins over the flat index_* keys, as in
// transformers; the legacy-only knobs must hold the single values transformers hard-codes.
void parse_indexer(const JsonFields &text, const JsonFields *sparse, ModelConfig &config) {
  auto pick = [&](const char *legacy_key, const char *flat_key, int64_t fallback) {
    int64_t value = text.integer(flat_key, fallback);
    if (sparse != nullptr)
      value = sparse->integer(legacy_key, value);
    return to_int(value, flat_key);
  };
  config.index_num_heads = pick("sparse_num_index_heads", "index_n_heads", kDefaultIndexHeads);
  config.index_head_dim = pick("sparse_index_dim", "index_head_dim", kDefaultIndexHeadDim);
  config.index_block_size = pick("sparse_block_size", "index_block_size", kDefaultIndexBlock);
  config.index_topk_blocks = pick("sparse_topk_blocks", "index_topk_blocks", kDefaultIndexTopk);
  config.index_local_blocks = pick("sparse_local_block", "index_local_blocks", kDefaultIndexLocal);
  if (sparse == nullptr)
    return;
  sparse->expect<int64_t>("sparse_init_block", 0, "no sink blocks");
  sparse->expect<std::string>("sparse_score_type", "max", "block score is the max token score");
  if (sparse->has("sparse_disable_index_value")) {
    const json &flags = sparse->at("sparse_disable_index_value");
    std::vector<int64_t> per_layer;
    if (flags.is_array()) {
      per_layer = sparse->integers("sparse_disable_index_value");
    } else {
      per_layer.assign(config.num_layers, sparse->integer("sparse_disable_index_value", 1));
    }
    require(int(per_layer.size()) == config.num_layers,
            sparse->name("sparse_disable_index_value") + " length differs from num_hidden_layers");
    for (int layer = 0; layer < config.num_layers; ++layer)
      require(config.attention_kinds[layer] != AttentionKind::kSparse || per_layer[layer] == 1,
              sparse->name("sparse_disable_index_value") + " is not 1 on sparse layer " +
                  std::to_string(layer) + " (only the score-only indexer is supported)");
  }
  if (sparse->has("use_sparse_attention") && !sparse->boolean("use_sparse_attention", true))
    require(!config.has_sparse_layers(), sparse->name("use_sparse_attention") +
                                             " is false but sparse_attention_freq lists sparse "
                                             "layers");
}

// Keys for features M3 does not have; transformers would ignore them and run something else.
void reject_unsupported(const JsonFields &text) {
  text.expect<bool>("attention_output_gate", false, "no output gate");
  text.expect<bool>("attention_bias", false, "no attention biases");
  text.expect<bool>("mlp_bias", false, "no MLP biases");
  text.expect<bool>("use_gemma_norm", true, "norms are Gemma (1 + w)");
  text.expect<bool>("use_qk_norm", true, "q/k norms are always applied");
  text.expect<std::string>("qk_norm_type", "per_head", "one q/k norm weight shared by all heads");
  text.expect<double>("swiglu_beta", 1.0, "transformers adds exactly 1 to the up branch");
  text.expect<std::string>("scoring_func", "sigmoid", "the router uses sigmoid scores");
  text.expect<bool>("use_routing_bias", true, "the router always adds e_score_correction_bias");
  text.expect<bool>("norm_topk_prob", true, "routing weights are always renormalised");
  text.expect<int64_t>("n_shared_experts", 1, "MoE layers have exactly one shared expert");
  text.expect<int64_t>("n_group", 1, "no group-limited routing");
  text.expect<int64_t>("topk_group", 1, "no group-limited routing");
  require(!text.has("sliding_window"), text.name("sliding_window") + " is not supported");
  std::string act = text.text("hidden_act", "swigluoai");
  require(act == "swigluoai" || act == "silu",
          text.name("hidden_act") + " = '" + act + "' is not supported (clamped SwiGLU-OAI only)");
}

void validate(const ModelConfig &c) {
  auto positive = [](int64_t value, const std::string &what) {
    require(value > 0, what + " must be positive, got " + std::to_string(value));
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.hidden_size, "hidden_size");
  positive(c.num_layers, "num_hidden_layers");
  positive(c.num_heads, "num_attention_heads");
  positive(c.num_kv_heads, "num_key_value_heads");
  positive(c.head_dim, "head_dim");
  require(c.num_heads % c.num_kv_heads == 0, "num_attention_heads " + std::to_string(c.num_heads) +
                                                 " is not a multiple of num_key_value_heads " +
                                                 std::to_string(c.num_kv_heads));
  require(c.rotary_dim > 0 && c.rotary_dim % 2 == 0 && c.rotary_dim <= c.head_dim,
          "rotary dimension " + std::to_string(c.rotary_dim) +
              " must be even and within head_dim " + std::to_string(c.head_dim));
  require(c.rms_norm_eps > 0, "rms_norm_eps must be positive");
  bool any_dense = false, any_moe = false;
  for (MlpKind kind : c.mlp_kinds)
    (kind == MlpKind::kDense ? any_dense : any_moe) = true;
  if (any_dense)
    positive(c.dense_intermediate_size, "dense_intermediate_size");
  if (any_moe) {
    positive(c.expert_intermediate_size, "intermediate_size");
    positive(c.shared_intermediate_size, "shared_intermediate_size");
    positive(c.num_experts, "num_local_experts");
    require(c.num_experts_per_token >= 1 && c.num_experts_per_token <= c.num_experts,
            "num_experts_per_tok " + std::to_string(c.num_experts_per_token) +
                " must be between 1 and num_local_experts " + std::to_string(c.num_experts));
    require(c.routed_scaling_factor > 0, "routed_scaling_factor must be positive");
  }
  require(c.swiglu_limit > 0 && c.swiglu_alpha > 0, "swiglu_alpha and swiglu_limit must be > 0");
  // Every size fits an int, but their products must fit the int64 counts derived from them.
  const long double largest_layer =
      (long double)c.hidden_size *
      (4.0L * c.num_heads * c.head_dim + 3.0L * c.dense_intermediate_size +
       3.0L * c.num_experts * c.expert_intermediate_size + 3.0L * c.shared_intermediate_size +
       (c.index_num_heads + 1.0L) * c.index_head_dim + c.num_experts);
  require(largest_layer * c.num_layers + 2.0L * c.vocab_size * c.hidden_size < 1e18L,
          "the configured sizes describe an implausibly large model (over 1e18 parameters)");
  if (c.has_sparse_layers()) {
    require(c.index_num_heads == c.num_kv_heads,
            "index heads " + std::to_string(c.index_num_heads) +
                " must equal num_key_value_heads " + std::to_string(c.num_kv_heads) +
                " (one block selection per KV group)");
    require(c.index_head_dim >= c.rotary_dim, "index head dim " + std::to_string(c.index_head_dim) +
                                                  " is smaller than the rotary dimension " +
                                                  std::to_string(c.rotary_dim) +
                                                  " (the indexer reuses the attention RoPE)");
    positive(c.index_block_size, "index block size");
    positive(c.index_topk_blocks, "index top-k blocks");
    require(c.index_local_blocks >= 1 && c.index_local_blocks <= c.index_topk_blocks,
            "index local blocks " + std::to_string(c.index_local_blocks) +
                " must be between 1 and the top-k " + std::to_string(c.index_topk_blocks));
  }
}

} // namespace

bool ModelConfig::has_sparse_layers() const {
  for (AttentionKind kind : attention_kinds)
    if (kind == AttentionKind::kSparse)
      return true;
  return false;
}

int64_t ModelConfig::kv_bytes_per_token() const {
  constexpr int64_t kBf16Bytes = 2;
  int64_t bytes = 0;
  for (AttentionKind kind : attention_kinds) {
    bytes += 2 * int64_t(num_kv_heads) * head_dim * kBf16Bytes;
    if (kind == AttentionKind::kSparse)
      bytes += int64_t(index_head_dim) * kBf16Bytes;
  }
  return bytes;
}

int64_t ModelConfig::parameter_count() const {
  const int64_t h = hidden_size;
  int64_t total = vocab_size * h * (tie_word_embeddings ? 1 : 2) + h;
  for (int layer = 0; layer < num_layers; ++layer) {
    total += 2 * h; // input and post-attention norms
    total += 2 * int64_t(num_heads) * head_dim * h + 2 * int64_t(num_kv_heads) * head_dim * h;
    total += 2 * int64_t(head_dim); // q_norm, k_norm
    if (attention_kinds[layer] == AttentionKind::kSparse)
      total += int64_t(index_num_heads + 1) * index_head_dim * h + 2 * int64_t(index_head_dim);
    if (mlp_kinds[layer] == MlpKind::kDense) {
      total += 3 * h * dense_intermediate_size;
    } else {
      total += num_experts * 3 * h * expert_intermediate_size;
      total += num_shared_experts * 3 * h * shared_intermediate_size;
      total += int64_t(num_experts) * h + num_experts; // router and correction bias
    }
  }
  return total;
}

ModelConfig parse_model_config(const std::string &json_text) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception &error) {
    fail(std::string("not valid JSON (") + error.what() + ")");
  }
  require(root.is_object(), "not a JSON object");
  JsonFields top(root, "");
  // The top-level model_type decides; a VL config's text_config may carry another type
  // (the release bundles it as minimax_m2).
  const std::string model_type = top.text("model_type", "");
  const json *text_json = &root;
  std::string prefix;
  if (model_type == "minimax_m3_vl") {
    require(root.contains("text_config") && root["text_config"].is_object(),
            "model_type minimax_m3_vl needs a 'text_config' object");
    text_json = &root["text_config"];
    prefix = "text_config.";
  } else {
    require(model_type == "minimax_m3_vl_text",
            "unsupported model_type '" + model_type +
                "' (expected minimax_m3_vl or minimax_m3_vl_text)");
  }
  JsonFields text(*text_json, prefix);
  std::optional<JsonFields> sparse;
  if (text.has("sparse_attention_config")) {
    require(text.at("sparse_attention_config").is_object(),
            text.name("sparse_attention_config") + " must be an object");
    sparse.emplace(text.at("sparse_attention_config"), prefix + "sparse_attention_config.");
  }
  const bool legacy = sparse.has_value() || text.has("moe_layer_freq");

  ModelConfig c;
  c.source_style = legacy ? "legacy" : "transformers";
  c.vocab_size = to_int(text.integer("vocab_size", kDefaultVocab), "vocab_size");
  c.hidden_size = to_int(text.integer("hidden_size", kDefaultHidden), "hidden_size");
  c.num_layers = to_int(text.integer("num_hidden_layers", kDefaultLayers), "num_hidden_layers");
  c.num_heads = to_int(text.integer("num_attention_heads", kDefaultHeads), "num_attention_heads");
  c.num_kv_heads =
      to_int(text.integer("num_key_value_heads", kDefaultKvHeads), "num_key_value_heads");
  // An explicit null head_dim means hidden / heads in transformers' attention.
  c.head_dim = text.is_null("head_dim") && c.num_heads > 0
                   ? to_int(c.hidden_size / c.num_heads, "head_dim")
                   : to_int(text.integer("head_dim", kDefaultHeadDim), "head_dim");
  c.rms_norm_eps = float(text.number("rms_norm_eps", 1e-6));
  c.max_position_embeddings = text.integer("max_position_embeddings", kDefaultMaxPositions);
  c.tie_word_embeddings =
      text.boolean("tie_word_embeddings", false) || top.boolean("tie_word_embeddings", false);
  const AttentionKind attention_flags[2] = {AttentionKind::kFull, AttentionKind::kSparse};
  c.attention_kinds = layer_kinds<AttentionKind>(
      text, "layer_types",
      {{"full_attention", AttentionKind::kFull}, {"minimax_m3_sparse", AttentionKind::kSparse}},
      sparse ? &*sparse : nullptr, "sparse_attention_freq", attention_flags, c.num_layers);
  const MlpKind mlp_flags[2] = {MlpKind::kDense, MlpKind::kMoe};
  c.mlp_kinds = layer_kinds<MlpKind>(text, "mlp_layer_types",
                                     {{"dense", MlpKind::kDense}, {"sparse", MlpKind::kMoe}}, &text,
                                     "moe_layer_freq", mlp_flags, c.num_layers);
  parse_rope(text, legacy, c);

  c.dense_intermediate_size = to_int(text.integer("dense_intermediate_size", kDefaultDenseInter),
                                     "dense_intermediate_size");
  c.expert_intermediate_size =
      to_int(text.integer("intermediate_size", kDefaultExpertInter), "intermediate_size");
  c.shared_intermediate_size = to_int(text.integer("shared_intermediate_size", kDefaultSharedInter),
                                      "shared_intermediate_size");
  c.swiglu_alpha = float(text.number("swiglu_alpha", 1.702));
  c.swiglu_limit = float(text.number("swiglu_limit", 7.0));
  c.swiglu_beta = 1.0f;
  c.num_experts =
      to_int(text.integer("num_local_experts", text.integer("num_experts", kDefaultExperts)),
             "num_local_experts");
  c.num_experts_per_token =
      to_int(text.integer("num_experts_per_tok", kDefaultExpertsPerToken), "num_experts_per_tok");
  c.num_shared_experts = 1;
  c.routed_scaling_factor = float(text.number("routed_scaling_factor", kDefaultRoutedScale));
  c.norm_topk_prob = true;
  parse_indexer(text, sparse ? &*sparse : nullptr, c);
  reject_unsupported(text);

  c.bos_token_id = first_token_id(text, "bos_token_id", kDefaultBos);
  c.eos_token_id = first_token_id(text, "eos_token_id", kDefaultEos);
  validate(c);
  return c;
}

ModelConfig load_model_config(const std::string &model_dir) {
  const std::string path = (std::filesystem::path(model_dir) / "config.json").string();
  require(std::filesystem::exists(path), "no config.json in " + model_dir);
  try {
    return parse_model_config(read_text_file(path));
  } catch (const Error &error) {
    fail(path + ": " + error.what());
  }
}

} // namespace m3
