// `m3 info` on a checkpoint with the exact tensor list of the released MiniMax-M3 (59 shards,
// 23,416 tensors, m3-model.md §7.1) whose data regions are sparse holes: the summary must come
// from headers alone (no tensor data read) and match the published totals.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "m3_cli.h"
#include "safetensors_writer.h"

namespace m3 {
namespace {

using nlohmann::json;

struct Entry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
};

// The release tensor list, from the table in m3-model.md §7.1.
std::vector<Entry> release_tensors() {
  const int64_t h = 6144, vocab = 200064;
  std::vector<Entry> out;
  const std::string lm = "language_model.model.";
  out.push_back({lm + "embed_tokens.weight", "BF16", {vocab, h}});
  out.push_back({"language_model.lm_head.weight", "BF16", {vocab, h}});
  out.push_back({lm + "norm.weight", "BF16", {h}});
  for (int l = 0; l < 60; ++l) {
    const std::string base = lm + "layers." + std::to_string(l) + ".";
    const std::string attn = base + "self_attn.";
    out.push_back({base + "input_layernorm.weight", "BF16", {h}});
    out.push_back({base + "post_attention_layernorm.weight", "BF16", {h}});
    out.push_back({attn + "q_proj.weight", "BF16", {8192, h}});
    out.push_back({attn + "k_proj.weight", "BF16", {512, h}});
    out.push_back({attn + "v_proj.weight", "BF16", {512, h}});
    out.push_back({attn + "o_proj.weight", "BF16", {h, 8192}});
    out.push_back({attn + "q_norm.weight", "BF16", {128}});
    out.push_back({attn + "k_norm.weight", "BF16", {128}});
    if (l < 3) {
      out.push_back({base + "mlp.gate_proj.weight", "BF16", {12288, h}});
      out.push_back({base + "mlp.up_proj.weight", "BF16", {12288, h}});
      out.push_back({base + "mlp.down_proj.weight", "BF16", {h, 12288}});
      continue;
    }
    out.push_back({attn + "index_q_proj.weight", "BF16", {512, h}});
    out.push_back({attn + "index_k_proj.weight", "BF16", {128, h}});
    out.push_back({attn + "index_q_norm.weight", "BF16", {128}});
    out.push_back({attn + "index_k_norm.weight", "BF16", {128}});
    const std::string moe = base + "block_sparse_moe.";
    out.push_back({moe + "gate.weight", "F32", {128, h}});
    out.push_back({moe + "e_score_correction_bias", "F32", {128}});
    for (int e = 0; e < 128; ++e) {
      const std::string expert = moe + "experts." + std::to_string(e) + ".";
      out.push_back({expert + "w1.weight", "BF16", {3072, h}});
      out.push_back({expert + "w3.weight", "BF16", {3072, h}});
      out.push_back({expert + "w2.weight", "BF16", {h, 3072}});
    }
    out.push_back({moe + "shared_experts.gate_proj.weight", "BF16", {3072, h}});
    out.push_back({moe + "shared_experts.up_proj.weight", "BF16", {3072, h}});
    out.push_back({moe + "shared_experts.down_proj.weight", "BF16", {h, 3072}});
  }
  const std::string vit = "vision_tower.vision_model.";
  out.push_back({vit + "embeddings.patch_embedding.weight", "F32", {1280, 3, 2, 14, 14}});
  out.push_back({vit + "pre_layrnorm.weight", "BF16", {1280}});
  out.push_back({vit + "pre_layrnorm.bias", "BF16", {1280}});
  for (int l = 0; l < 32; ++l) {
    const std::string base = vit + "encoder.layers." + std::to_string(l) + ".";
    for (const char *norm : {"layer_norm1", "layer_norm2"})
      for (const char *part : {".weight", ".bias"})
        out.push_back({base + norm + part, "BF16", {1280}});
    for (const char *proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      out.push_back({base + "self_attn." + proj + ".weight", "BF16", {1280, 1280}});
      out.push_back({base + "self_attn." + proj + ".bias", "BF16", {1280}});
    }
    out.push_back({base + "mlp.fc1.weight", "BF16", {5120, 1280}});
    out.push_back({base + "mlp.fc1.bias", "BF16", {5120}});
    out.push_back({base + "mlp.fc2.weight", "BF16", {1280, 5120}});
    out.push_back({base + "mlp.fc2.bias", "BF16", {1280}});
  }
  for (const auto &[name, in] :
       std::vector<std::pair<std::string, int64_t>>{{"multi_modal_projector.linear_1", 1280},
                                                    {"multi_modal_projector.linear_2", h},
                                                    {"patch_merge_mlp.linear_1", 4 * h},
                                                    {"patch_merge_mlp.linear_2", h}}) {
    out.push_back({name + ".weight", "BF16", {h, in}});
    out.push_back({name + ".bias", "BF16", {h}});
  }
  return out;
}

// Writes each shard as a real header followed by a hole of the data's size (no data written).
bool write_sparse_shards(const std::string &dir, const std::vector<Entry> &entries, int shards) {
  json weight_map = json::object();
  const size_t per_shard = (entries.size() + shards - 1) / shards;
  for (int s = 0; s < shards; ++s) {
    char file[64];
    std::snprintf(file, sizeof file, "model-%05d-of-%05d.safetensors", s + 1, shards);
    json header = json::object();
    uint64_t offset = 0;
    for (size_t i = s * per_shard; i < std::min(entries.size(), (s + 1) * per_shard); ++i) {
      const Entry &e = entries[i];
      uint64_t bytes = e.dtype == "F32" ? 4 : 2;
      for (int64_t d : e.shape)
        bytes *= uint64_t(d);
      header[e.name] = {
          {"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + bytes}}};
      weight_map[e.name] = file;
      offset += bytes;
    }
    const std::string text = header.dump();
    std::string prefix;
    for (int i = 0; i < 8; ++i)
      prefix.push_back(char((uint64_t(text.size()) >> (8 * i)) & 0xFF));
    const std::string path = dir + "/" + file;
    test_support::write_text(path, prefix + text);
    const int fd = open(path.c_str(), O_WRONLY);
    const bool grown = fd >= 0 && ftruncate(fd, off_t(8 + text.size() + offset)) == 0;
    if (fd >= 0)
      close(fd);
    if (!grown)
      return false;
  }
  test_support::write_text(dir + "/model.safetensors.index.json",
                           json{{"metadata", json::object()}, {"weight_map", weight_map}}.dump());
  return true;
}

TEST(ReleaseShapes, InfoMatchesPublishedTotalsFromHeadersAlone) {
  const std::vector<Entry> entries = release_tensors();
  ASSERT_EQ(entries.size(), 23416u); // the release index's key count
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  if (!write_sparse_shards(dir, entries, 59))
    GTEST_SKIP() << "no sparse files in the temp dir";
  std::filesystem::copy_file("tests/model/data/m3_release/config.json", dir + "/config.json");

  const auto start = std::chrono::steady_clock::now();
  const test_support::CliResult result = test_support::run_m3("info --model '" + dir + "'");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string &text = result.out;
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(text.find("\nparameters: 427040140160 "), std::string::npos) << text;
  EXPECT_NE(text.find("\ntext model parameters: 426174572928 "), std::string::npos) << text;
  EXPECT_NE(text.find("\nkv bytes per token: 137472 "), std::string::npos) << text;
  EXPECT_NE(text.find("files: 59 (sharded)"), std::string::npos) << text;
  EXPECT_NE(text.find("dtypes: BF16 x 23301, F32 x 115"), std::string::npos) << text;
  EXPECT_NE(text.find("layers 0-2: attention full, mlp dense"), std::string::npos) << text;
  EXPECT_NE(text.find("layers 3-59: attention sparse (MSA), mlp MoE"), std::string::npos) << text;
  // A 795 GiB checkpoint described without reading its data takes well under this.
  EXPECT_LT(seconds, 20.0);
  std::printf("m3 info on the release-shaped checkpoint: %.2f s\n", seconds);
}

} // namespace
} // namespace m3
