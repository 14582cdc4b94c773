// load_checkpoint on tiny random checkpoints: every weight role is bound to the tensor the
// release naming (or its variants) puts there, with the right values, in every dtype and layout.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "core/safetensors.h"
#include "float_formats.h"
#include "m3_cli.h"
#include "model/weights.h"
#include "tiny_checkpoint.h"

namespace m3 {
namespace {

using test_support::RawTensor;
using test_support::TinyCheckpointOptions;
using test_support::TinyNaming;
using S = test_support::TinyShape;

// The values a raw tensor holds, decoded by the reference formulas (with MXFP8 scales).
std::vector<double> reference_values(const RawTensor &tensor, const RawTensor *scales) {
  std::vector<double> out;
  const auto *bytes = reinterpret_cast<const uint8_t *>(tensor.bytes.data());
  const int64_t cols = tensor.shape.back();
  if (tensor.dtype == "F32") {
    for (size_t i = 0; i < tensor.bytes.size(); i += 4) {
      uint32_t bits;
      std::memcpy(&bits, bytes + i, 4);
      out.push_back(test_support::reference_f32(bits));
    }
  } else if (tensor.dtype == "BF16" || tensor.dtype == "F16") {
    for (size_t i = 0; i < tensor.bytes.size(); i += 2) {
      const uint16_t bits = uint16_t(bytes[i] | (bytes[i + 1] << 8));
      out.push_back(tensor.dtype == "BF16" ? test_support::reference_bf16(bits)
                                           : test_support::reference_f16(bits));
    }
  } else if (tensor.dtype == "F8_E4M3") {
    const auto *scale_bytes = reinterpret_cast<const uint8_t *>(scales->bytes.data());
    for (size_t i = 0; i < tensor.bytes.size(); ++i) {
      const int64_t row = int64_t(i) / cols, col = int64_t(i) % cols;
      out.push_back(test_support::reference_e4m3(bytes[i]) *
                    test_support::reference_e8m0(scale_bytes[row * (cols / 32) + col / 32]));
    }
  }
  return out;
}

// Each weight role of the model and the tensor name the naming convention puts it under,
// listed from m3-model.md §7 (not from the loader).
std::vector<std::pair<const Weight *, std::string>> roles(const ModelWeights &w, TinyNaming naming,
                                                          bool tied) {
  const bool text_only = naming == TinyNaming::kTextOnly;
  const std::string model = text_only ? "model." : "language_model.model.";
  std::vector<std::pair<const Weight *, std::string>> out = {
      {&w.embed_tokens, model + "embed_tokens.weight"},
      {&w.final_norm, model + "norm.weight"},
      {&w.lm_head, tied ? model + "embed_tokens.weight"
                        : (text_only ? "lm_head.weight" : "language_model.lm_head.weight")}};
  for (int l = 0; l < S::kLayers; ++l) {
    const LayerWeights &layer = w.layers[l];
    const std::string base = model + "layers." + std::to_string(l) + ".";
    const std::string attn = base + "self_attn.";
    for (auto [weight, name] : std::vector<std::pair<const Weight *, std::string>>{
             {&layer.input_norm, base + "input_layernorm.weight"},
             {&layer.post_attention_norm, base + "post_attention_layernorm.weight"},
             {&layer.q_proj, attn + "q_proj.weight"},
             {&layer.k_proj, attn + "k_proj.weight"},
             {&layer.v_proj, attn + "v_proj.weight"},
             {&layer.o_proj, attn + "o_proj.weight"},
             {&layer.q_norm, attn + "q_norm.weight"},
             {&layer.k_norm, attn + "k_norm.weight"}})
      out.emplace_back(weight, name);
    if (S::sparse(l)) {
      out.emplace_back(&layer.index_q_proj, attn + "index_q_proj.weight");
      out.emplace_back(&layer.index_k_proj, attn + "index_k_proj.weight");
      out.emplace_back(&layer.index_q_norm, attn + "index_q_norm.weight");
      out.emplace_back(&layer.index_k_norm, attn + "index_k_norm.weight");
    }
    const std::string moe = base + "block_sparse_moe.";
    if (!S::moe(l)) {
      const std::string mlp = naming == TinyNaming::kTransformersSave ? moe : base + "mlp.";
      out.emplace_back(&layer.dense_mlp.gate, mlp + "gate_proj.weight");
      out.emplace_back(&layer.dense_mlp.up, mlp + "up_proj.weight");
      out.emplace_back(&layer.dense_mlp.down, mlp + "down_proj.weight");
      continue;
    }
    out.emplace_back(&layer.router, moe + "gate.weight");
    out.emplace_back(&layer.router_bias, moe + "e_score_correction_bias");
    for (int e = 0; e < S::kExperts; ++e) {
      const std::string expert = moe + "experts." + std::to_string(e) + ".";
      out.emplace_back(&layer.experts[e].gate, expert + "w1.weight");
      out.emplace_back(&layer.experts[e].up, expert + "w3.weight");
      out.emplace_back(&layer.experts[e].down, expert + "w2.weight");
    }
    out.emplace_back(&layer.shared_expert.gate, moe + "shared_experts.gate_proj.weight");
    out.emplace_back(&layer.shared_expert.up, moe + "shared_experts.up_proj.weight");
    out.emplace_back(&layer.shared_expert.down, moe + "shared_experts.down_proj.weight");
  }
  return out;
}

void expect_binds_every_role(const TinyCheckpointOptions &options) {
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  const auto written = test_support::write_tiny_checkpoint(dir, options);
  const Checkpoint checkpoint = load_checkpoint(dir);
  const ModelWeights &w = checkpoint.weights;
  ASSERT_EQ(w.layers.size(), size_t(S::kLayers));
  for (const auto &[weight, name] : roles(w, options.naming, options.tied_embeddings)) {
    SCOPED_TRACE(name);
    const RawTensor &raw = written.tensors.at(name);
    const auto scales = written.tensors.find(name + "_scale_inv");
    const std::vector<double> expected =
        reference_values(raw, scales == written.tensors.end() ? nullptr : &scales->second);
    ASSERT_FALSE(weight->empty());
    const std::vector<float> actual = weight->to_f32();
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < actual.size(); ++i)
      ASSERT_EQ(actual[i], float(expected[i])) << i;
  }
  for (int l = 0; l < S::kLayers; ++l) {
    const LayerWeights &layer = w.layers[l];
    EXPECT_EQ(layer.index_q_proj.empty(), !S::sparse(l)) << l;
    EXPECT_EQ(layer.router.empty(), !S::moe(l)) << l;
    EXPECT_EQ(layer.experts.size(), S::moe(l) ? size_t(S::kExperts) : 0u) << l;
    EXPECT_EQ(layer.dense_mlp.gate.empty(), S::moe(l)) << l;
  }
}

TEST(Checkpoint, ReleaseNamingLegacyConfig) { expect_binds_every_role({}); }

TEST(Checkpoint, TransformersSaveNamingAndConfig) {
  expect_binds_every_role({.naming = TinyNaming::kTransformersSave, .legacy_config = false});
}

TEST(Checkpoint, TextOnlyNaming) { expect_binds_every_role({.naming = TinyNaming::kTextOnly}); }

TEST(Checkpoint, F32AndF16Weights) {
  expect_binds_every_role({.weight_dtype = "F32"});
  expect_binds_every_role({.weight_dtype = "F16", .num_shards = 2});
}

TEST(Checkpoint, Mxfp8Weights) {
  expect_binds_every_role({.weight_dtype = "MXFP8"});
  expect_binds_every_role(
      {.naming = TinyNaming::kTransformersSave, .weight_dtype = "MXFP8", .num_shards = 3});
}

// Newer safetensors writers store E8M0 scales as their own dtype, F8_E8M0, with the same bytes.
TEST(Checkpoint, Mxfp8ScalesStoredAsF8E8M0) {
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  auto written = test_support::write_tiny_checkpoint(dir, {.weight_dtype = "MXFP8"});
  for (auto &[name, tensor] : written.tensors)
    if (name.ends_with("_scale_inv"))
      tensor.dtype = "F8_E8M0";
  test_support::write_safetensors(dir + "/model.safetensors", written.tensors);
  const Checkpoint checkpoint = load_checkpoint(dir);
  const Weight &w2 = checkpoint.weights.layers[1].experts[2].down;
  const std::string name = "language_model.model.layers.1.block_sparse_moe.experts.2.w2.weight";
  const std::vector<double> expected =
      reference_values(written.tensors.at(name), &written.tensors.at(name + "_scale_inv"));
  const std::vector<float> actual = w2.to_f32();
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    ASSERT_EQ(actual[i], float(expected[i])) << i;
}

TEST(Checkpoint, TiedEmbeddings) {
  expect_binds_every_role({.tied_embeddings = true});
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  test_support::write_tiny_checkpoint(dir, {.tied_embeddings = true});
  const Checkpoint checkpoint = load_checkpoint(dir);
  EXPECT_EQ(checkpoint.weights.lm_head.data, checkpoint.weights.embed_tokens.data);
}

// The same tensors, one file or sharded: every role holds the same values.
TEST(Checkpoint, ShardedAndSingleFileBindIdentically) {
  const test_support::ScratchDir single_scratch, sharded_scratch;
  const std::string single_dir = single_scratch.path().string();
  const std::string sharded_dir = sharded_scratch.path().string();
  const auto written = test_support::write_tiny_checkpoint(single_dir, {.weight_dtype = "MXFP8"});
  test_support::write_text(sharded_dir + "/config.json",
                           test_support::read_file_text(single_dir + "/config.json"));
  test_support::write_sharded(sharded_dir, written.tensors, 4);
  const Checkpoint single = load_checkpoint(single_dir);
  const Checkpoint sharded = load_checkpoint(sharded_dir);
  EXPECT_TRUE(sharded.archive->sharded());
  EXPECT_EQ(sharded.archive->files().size(), 4u);
  const auto single_roles = roles(single.weights, TinyNaming::kRelease, false);
  const auto sharded_roles = roles(sharded.weights, TinyNaming::kRelease, false);
  ASSERT_EQ(single_roles.size(), sharded_roles.size());
  for (size_t i = 0; i < single_roles.size(); ++i) {
    const Weight &a = *single_roles[i].first;
    const Weight &b = *sharded_roles[i].first;
    EXPECT_EQ(a.dtype, b.dtype) << single_roles[i].second;
    EXPECT_EQ(a.rows, b.rows) << single_roles[i].second;
    EXPECT_EQ(a.cols, b.cols) << single_roles[i].second;
    EXPECT_EQ(a.to_f32(), b.to_f32()) << single_roles[i].second;
  }
}

} // namespace
} // namespace m3
