#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <tuple>

#include "core/error.h"
#include "core/text_file.h"
#include "model/config.h"

namespace m3 {
namespace {

using nlohmann::json;

// tests/model/data: m3_release is the released config.json (m3-model.md §2.1 values);
// m3_transformers is that file loaded and re-saved by transformers 5.17;
// transformers_defaults is transformers' MiniMaxM3VLTextConfig() saved with every default
// (see data/save_transformers_configs.py).
const char *kReleaseDir = "tests/model/data/m3_release";
const char *kTransformersDir = "tests/model/data/m3_transformers";

json release_json() {
  return json::parse(read_text_file(std::string(kReleaseDir) + "/config.json"));
}

std::string parse_error(const json &config) {
  try {
    parse_model_config(config.dump());
  } catch (const Error &error) {
    return error.what();
  }
  return "";
}

// The MiniMax-M3 hyper-parameters as published (m3-model.md §0, §2.1, §13).
void expect_m3_release_values(const ModelConfig &c) {
  EXPECT_EQ(c.vocab_size, 200064);
  EXPECT_EQ(c.hidden_size, 6144);
  EXPECT_EQ(c.num_layers, 60);
  EXPECT_EQ(c.num_heads, 64);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.queries_per_kv(), 16);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.rotary_dim, 64);
  EXPECT_DOUBLE_EQ(c.rope_theta, 5e6);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-6f);
  EXPECT_EQ(c.max_position_embeddings, 1048576);
  EXPECT_FALSE(c.tie_word_embeddings);
  ASSERT_EQ(c.attention_kinds.size(), 60u);
  ASSERT_EQ(c.mlp_kinds.size(), 60u);
  for (int l = 0; l < 60; ++l) {
    EXPECT_EQ(c.attention_kinds[l], l < 3 ? AttentionKind::kFull : AttentionKind::kSparse) << l;
    EXPECT_EQ(c.mlp_kinds[l], l < 3 ? MlpKind::kDense : MlpKind::kMoe) << l;
  }
  EXPECT_EQ(c.dense_intermediate_size, 12288);
  EXPECT_EQ(c.expert_intermediate_size, 3072);
  EXPECT_EQ(c.shared_intermediate_size, 3072);
  EXPECT_FLOAT_EQ(c.swiglu_alpha, 1.702f);
  EXPECT_FLOAT_EQ(c.swiglu_limit, 7.0f);
  EXPECT_FLOAT_EQ(c.swiglu_beta, 1.0f);
  EXPECT_EQ(c.num_experts, 128);
  EXPECT_EQ(c.num_experts_per_token, 4);
  EXPECT_EQ(c.num_shared_experts, 1);
  EXPECT_FLOAT_EQ(c.routed_scaling_factor, 2.0f);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_EQ(c.index_num_heads, 4);
  EXPECT_EQ(c.index_head_dim, 128);
  EXPECT_EQ(c.index_block_size, 128);
  EXPECT_EQ(c.index_topk_blocks, 16);
  EXPECT_EQ(c.index_local_blocks, 1);
  EXPECT_EQ(c.bos_token_id, 200034);
  EXPECT_EQ(c.eos_token_id, 200020);
}

TEST(Config, ReleasedLegacyConfig) {
  const ModelConfig c = load_model_config(kReleaseDir);
  EXPECT_EQ(c.source_style, "legacy");
  expect_m3_release_values(c);
}

TEST(Config, TransformersSavedConfigParsesToTheSameModel) {
  const ModelConfig c = load_model_config(kTransformersDir);
  EXPECT_EQ(c.source_style, "transformers");
  expect_m3_release_values(c);
}

// Field by field: the two files describe one model.
TEST(Config, BothStylesGiveIdenticalConfigs) {
  const ModelConfig legacy = load_model_config(kReleaseDir);
  const ModelConfig saved = load_model_config(kTransformersDir);
  auto fields = [](const ModelConfig &c) {
    return std::make_tuple(
        c.vocab_size, c.hidden_size, c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim,
        c.rotary_dim, c.rope_theta, c.rms_norm_eps, c.max_position_embeddings,
        c.tie_word_embeddings, c.attention_kinds, c.mlp_kinds, c.dense_intermediate_size,
        c.expert_intermediate_size, c.shared_intermediate_size, c.swiglu_alpha, c.swiglu_limit,
        c.swiglu_beta, c.num_experts, c.num_experts_per_token, c.num_shared_experts,
        c.routed_scaling_factor, c.norm_topk_prob, c.index_num_heads, c.index_head_dim,
        c.index_block_size, c.index_topk_blocks, c.index_local_blocks, c.bos_token_id,
        c.eos_token_id);
  };
  EXPECT_TRUE(fields(legacy) == fields(saved));
}

// m3-model.md §5: 3 dense x 2,048 + 57 sparse x (2,048 + 256) bytes.
TEST(Config, KvBytesPerTokenOfM3) {
  EXPECT_EQ(load_model_config(kReleaseDir).kv_bytes_per_token(), 137472);
  EXPECT_EQ(load_model_config(kTransformersDir).kv_bytes_per_token(), 137472);
}

// m3-model.md §2.6 (checked against the release index): 427,040,140,160 in all, of which the
// vision ViT is 631,185,920 and the projector + patch merger 234,381,312.
TEST(Config, ParameterCountOfM3TextModel) {
  const int64_t text_model = 427'040'140'160 - 631'185'920 - 234'381'312;
  EXPECT_EQ(load_model_config(kReleaseDir).parameter_count(), text_model);
  EXPECT_EQ(load_model_config(kTransformersDir).parameter_count(), text_model);
}

// transformers' class defaults; its RotaryEmbedding rotates int(head_dim * partial_rotary_factor)
// channels with the factor defaulting to 1.0, and ignores `rotary_dim` (observed on
// transformers 5.17: 64 inverse frequencies for this config).
TEST(Config, TransformersDefaultsAndFullRotation) {
  const ModelConfig c = load_model_config("tests/model/data/transformers_defaults");
  EXPECT_EQ(c.source_style, "transformers");
  EXPECT_EQ(c.hidden_size, 6144);
  EXPECT_EQ(c.max_position_embeddings, 524288);
  EXPECT_EQ(c.rotary_dim, 128);
  for (int l = 0; l < c.num_layers; ++l) {
    EXPECT_EQ(c.attention_kinds[l], AttentionKind::kFull);
    EXPECT_EQ(c.mlp_kinds[l], MlpKind::kMoe);
  }
}

// Keys omitted from a transformers-style text config take transformers' defaults.
TEST(Config, OmittedKeysTakeTransformersDefaults) {
  json text = {{"model_type", "minimax_m3_vl_text"},
               {"num_hidden_layers", 2},
               {"layer_types", {"full_attention", "minimax_m3_sparse"}},
               {"mlp_layer_types", {"dense", "sparse"}}};
  const ModelConfig c = parse_model_config(text.dump());
  EXPECT_EQ(c.vocab_size, 200064);
  EXPECT_EQ(c.num_heads, 64);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.rotary_dim, 128);
  EXPECT_DOUBLE_EQ(c.rope_theta, 5e6);
  EXPECT_EQ(c.num_experts, 128);
  EXPECT_EQ(c.num_experts_per_token, 4);
  EXPECT_FLOAT_EQ(c.routed_scaling_factor, 2.0f);
  EXPECT_EQ(c.index_topk_blocks, 16);
  EXPECT_EQ(c.kv_bytes_per_token(), 2 * 2048 + 256);
}

// rope_parameters wins over the legacy top-level keys (transformers' setdefault order).
TEST(Config, RopeParametersOverrideLegacyKeys) {
  json config = release_json();
  auto &text = config["text_config"];
  text.erase("partial_rotary_factor");
  text.erase("rope_theta");
  text.erase("rotary_dim");
  text["rope_parameters"] = {
      {"rope_type", "default"}, {"rope_theta", 1e6}, {"partial_rotary_factor", 0.25}};
  const ModelConfig c = parse_model_config(config.dump());
  EXPECT_EQ(c.rotary_dim, 32);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
}

TEST(Config, TopLevelModelTypeDecides) {
  json config = release_json();
  config["text_config"]["model_type"] = "something_else";
  EXPECT_EQ(parse_model_config(config.dump()).num_layers, 60);
  json text_only = config["text_config"];
  text_only["model_type"] = "minimax_m3_vl_text";
  EXPECT_EQ(parse_model_config(text_only.dump()).num_layers, 60);
  config["model_type"] = "minimax_m2";
  EXPECT_NE(parse_error(config).find("unsupported model_type 'minimax_m2'"), std::string::npos);
}

TEST(Config, TiedEmbeddingsFromEitherLevel) {
  json config = release_json();
  config["tie_word_embeddings"] = true;
  EXPECT_TRUE(parse_model_config(config.dump()).tie_word_embeddings);
  config = release_json();
  config["text_config"]["tie_word_embeddings"] = true;
  EXPECT_TRUE(parse_model_config(config.dump()).tie_word_embeddings);
}

struct Rejection {
  const char *what;
  std::function<void(json &text)> edit;
  const char *message;
};

TEST(Config, RejectsUnsupportedOrInconsistentValues) {
  const std::vector<Rejection> cases = {
      {"sink blocks", [](json &t) { t["sparse_attention_config"]["sparse_init_block"] = 1; },
       "sparse_init_block"},
      {"mean scores", [](json &t) { t["sparse_attention_config"]["sparse_score_type"] = "mean"; },
       "sparse_score_type"},
      {"index value",
       [](json &t) { t["sparse_attention_config"]["sparse_disable_index_value"][5] = 0; },
       "sparse_disable_index_value"},
      {"rope scaling",
       [](json &t) {
         t["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 2.0}};
       },
       "rope_scaling"},
      {"yarn",
       [](json &t) {
         t["rope_parameters"] = {{"rope_type", "yarn"}, {"factor", 2.0}};
       },
       "rope_type"},
      {"output gate", [](json &t) { t["attention_output_gate"] = true; }, "attention_output_gate"},
      {"bias", [](json &t) { t["attention_bias"] = true; }, "attention_bias"},
      {"activation", [](json &t) { t["hidden_act"] = "gelu"; }, "hidden_act"},
      {"beta", [](json &t) { t["swiglu_beta"] = 0.5; }, "swiglu_beta"},
      {"softmax router", [](json &t) { t["scoring_func"] = "softmax"; }, "scoring_func"},
      {"no renorm", [](json &t) { t["norm_topk_prob"] = false; }, "norm_topk_prob"},
      {"two shared", [](json &t) { t["n_shared_experts"] = 2; }, "n_shared_experts"},
      {"heads", [](json &t) { t["num_key_value_heads"] = 5; }, "not a multiple"},
      {"rotary mismatch", [](json &t) { t["rotary_dim"] = 32; }, "rotary_dim"},
      {"odd rotary",
       [](json &t) {
         t["partial_rotary_factor"] = 0.5078125; // 65 channels
         t.erase("rotary_dim");
       },
       "must be even"},
      {"index heads", [](json &t) { t["sparse_attention_config"]["sparse_num_index_heads"] = 2; },
       "num_key_value_heads"},
      {"top-k", [](json &t) { t["sparse_attention_config"]["sparse_topk_blocks"] = 0; }, "top-k"},
      {"list length", [](json &t) { t["moe_layer_freq"].push_back(1); }, "61 entries for 60"},
      {"layer lists disagree",
       [](json &t) { t["layer_types"] = std::vector<std::string>(60, "full_attention"); },
       "disagrees"},
      {"unknown layer type",
       [](json &t) {
         t.erase("sparse_attention_config");
         t["layer_types"] = std::vector<std::string>(60, "sliding_attention");
       },
       "sliding_attention"},
      {"no layer kinds", [](json &t) { t.erase("sparse_attention_config"); }, "no per-layer kinds"},
      {"experts per token", [](json &t) { t["num_experts_per_tok"] = 129; }, "num_experts_per_tok"},
      {"wrong type", [](json &t) { t["hidden_size"] = "6144"; }, "'text_config.hidden_size'"},
  };
  for (const auto &rejection : cases) {
    json config = release_json();
    rejection.edit(config["text_config"]);
    const std::string error = parse_error(config);
    EXPECT_NE(error.find(rejection.message), std::string::npos)
        << rejection.what << ": got '" << error << "'";
  }
}

TEST(Config, BadJsonNamesTheFile) {
  EXPECT_NE(parse_error(json::array()).find("not a JSON object"), std::string::npos);
  try {
    parse_model_config("{\"model_type\": ");
    FAIL() << "accepted truncated JSON";
  } catch (const Error &error) {
    EXPECT_NE(std::string(error.what()).find("not valid JSON"), std::string::npos);
  }
  EXPECT_THROW(load_model_config("tests/model/data/does_not_exist"), Error);
}

} // namespace
} // namespace m3
