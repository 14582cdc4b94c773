// `m3 info` through the real binary ($M3_BINARY): the summary of a good checkpoint, and one clear
// error line with a non-zero exit for every kind of malformed checkpoint.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "m3_cli.h"
#include "tiny_checkpoint.h"

namespace m3 {
namespace {

using test_support::TensorMap;
using test_support::TinyCheckpointOptions;
using S = test_support::TinyShape;
using test_support::CliResult;

test_support::CliResult run_info(const std::string &model_dir) {
  return test_support::run_m3("info --model '" + model_dir + "'");
}

// The value after "key: " on the line starting with key.
std::string field(const std::string &output, const std::string &key) {
  const size_t at = output.find("\n" + key + ": ");
  if (at == std::string::npos)
    return "";
  const size_t begin = at + key.size() + 3;
  return output.substr(begin, output.find_first_of(" \n", begin) - begin);
}

int64_t count_elements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

TEST(InfoCli, DescribesATinyCheckpoint) {
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  const auto written = test_support::write_tiny_checkpoint(dir, {.weight_dtype = "MXFP8"});
  const CliResult result = run_info(dir);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string &out = result.out;
  EXPECT_NE(out.find("layer 0: attention full, mlp dense"), std::string::npos) << out;
  EXPECT_NE(out.find("layer 1: attention sparse (MSA), mlp MoE"), std::string::npos) << out;
  EXPECT_NE(out.find("layer 2: attention full, mlp MoE"), std::string::npos) << out;
  EXPECT_NE(out.find("layer 3: attention sparse (MSA), mlp dense"), std::string::npos) << out;
  EXPECT_EQ(field(out, "config style"), "legacy");
  EXPECT_NE(out.find("F8_E4M3 x "), std::string::npos) << out;
  EXPECT_NE(out.find("U8 x "), std::string::npos) << out;
  // Parameters: every tensor but the MXFP8 scales; text model: also without vision and MTP.
  int64_t all = 0, text = 0;
  for (const auto &[name, tensor] : written.tensors) {
    if (name.ends_with("_scale_inv"))
      continue;
    all += count_elements(tensor.shape);
    if (!name.starts_with("vision_tower.") && name.find(".mtp.") == std::string::npos)
      text += count_elements(tensor.shape);
  }
  EXPECT_EQ(field(out, "parameters"), std::to_string(all)) << out;
  EXPECT_EQ(field(out, "text model parameters"), std::to_string(text)) << out;
  // BF16 K and V per layer, plus one index key per sparse layer.
  const int sparse_layers = 2;
  const int64_t kv =
      S::kLayers * 2 * S::kKvHeads * S::kHeadDim * 2 + sparse_layers * S::kIndexDim * 2;
  EXPECT_EQ(field(out, "kv bytes per token"), std::to_string(kv)) << out;
}

// One malformed checkpoint: how to break it, and what the single error line must say.
struct Breakage {
  const char *what;
  TinyCheckpointOptions options;
  std::function<void(const std::string &dir, TensorMap &tensors)> apply;
  const char *message;
};

const std::string kLayer = "language_model.model.layers.";

void rewrite(const std::string &dir, const TensorMap &tensors) {
  test_support::write_safetensors(dir + "/model.safetensors", tensors);
}

// Reads a file of the checkpoint, changes its bytes, writes it back.
void edit_file(const std::string &path, const std::function<void(std::string &)> &edit) {
  std::string bytes = test_support::read_file_text(path);
  edit(bytes);
  test_support::write_text(path, bytes);
}

std::string shard_path(const std::string &dir, int index, int count) {
  char name[64];
  std::snprintf(name, sizeof name, "/model-%05d-of-%05d.safetensors", index, count);
  return dir + name;
}

TEST(InfoCli, MalformedCheckpointsGiveOneErrorLine) {
  const std::vector<Breakage> cases = {
      {"truncated shard",
       {.num_shards = 3},
       [](const std::string &dir, TensorMap &) {
         std::filesystem::resize_file(shard_path(dir, 2, 3),
                                      std::filesystem::file_size(shard_path(dir, 2, 3)) - 10);
       },
       "is truncated"},
      {"missing tensor",
       {},
       [](const std::string &dir, TensorMap &t) {
         t.erase(kLayer + "2.block_sparse_moe.experts.3.w2.weight");
         rewrite(dir, t);
       },
       "no tensor language_model.model.layers.2.block_sparse_moe.experts.3.w2.weight"},
      {"wrong shape",
       {},
       [](const std::string &dir, TensorMap &t) {
         auto &norm = t[kLayer + "1.self_attn.q_norm.weight"];
         norm.shape = {S::kHeadDim / 2};
         norm.bytes.resize(norm.bytes.size() / 2);
         rewrite(dir, t);
       },
       "q_norm.weight has shape [16]"},
      {"bad config JSON",
       {},
       [](const std::string &dir, TensorMap &) {
         test_support::write_text(dir + "/config.json", "{\"model_type\": \"minimax_m3_vl\",");
       },
       "config.json: not valid JSON"},
      {"bad header JSON",
       {},
       [](const std::string &dir, TensorMap &) {
         edit_file(dir + "/model.safetensors", [](std::string &bytes) { bytes[8] = '['; });
       },
       "header is not valid JSON"},
      {"unknown dtype",
       {},
       [](const std::string &dir, TensorMap &) {
         edit_file(dir + "/model.safetensors", [](std::string &bytes) {
           bytes.replace(bytes.find("\"BF16\""), 6, "\"BX16\"");
         });
       },
       "unknown dtype 'BX16'"},
      {"unsupported dtype for a needed tensor",
       {},
       [](const std::string &dir, TensorMap &t) {
         auto &norm = t["language_model.model.norm.weight"];
         norm.dtype = "I16";
         rewrite(dir, t);
       },
       "norm.weight in"},
      {"index names a missing file",
       {.num_shards = 2},
       [](const std::string &dir, TensorMap &) { std::filesystem::remove(shard_path(dir, 1, 2)); },
       "is mapped to missing file model-00001-of-00002.safetensors"},
      {"header length beyond the file",
       {},
       [](const std::string &dir, TensorMap &) {
         edit_file(dir + "/model.safetensors", [](std::string &bytes) { bytes[4] = char(0x7F); });
       },
       "exceeds the file size"},
      {"MXFP8 weight without scales",
       {.weight_dtype = "MXFP8"},
       [](const std::string &dir, TensorMap &t) {
         t.erase(kLayer + "0.self_attn.o_proj.weight_scale_inv");
         rewrite(dir, t);
       },
       "has no block scales (language_model.model.layers.0.self_attn.o_proj.weight_scale_inv)"},
      {"MXFP8 scales of the wrong shape",
       {.weight_dtype = "MXFP8"},
       [](const std::string &dir, TensorMap &t) {
         auto &scales = t[kLayer + "3.mlp.down_proj.weight_scale_inv"];
         scales.shape = {scales.shape[1], scales.shape[0]};
         rewrite(dir, t);
       },
       "down_proj.weight_scale_inv has shape"},
      {"config inconsistent with the tensors",
       {},
       [](const std::string &dir, TensorMap &) {
         edit_file(dir + "/config.json", [](std::string &config) {
           config.replace(config.find("\"num_local_experts\": 4"), 22, "\"num_local_experts\": 8");
         });
       },
       "gate.weight has shape [4, 64]"},
      {"no config.json",
       {},
       [](const std::string &dir, TensorMap &) { std::filesystem::remove(dir + "/config.json"); },
       "no config.json in"},
  };
  for (const auto &breakage : cases) {
    SCOPED_TRACE(breakage.what);
    const test_support::ScratchDir scratch;
    const std::string dir = scratch.path().string();
    auto written = test_support::write_tiny_checkpoint(dir, breakage.options);
    ASSERT_EQ(run_info(dir).exit_code, 0) << "the intact checkpoint must load";
    breakage.apply(dir, written.tensors);
    const CliResult result = run_info(dir);
    EXPECT_NE(result.exit_code, 0);
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_NE(result.err.find("m3 info: error: "), std::string::npos) << result.err;
    EXPECT_NE(result.err.find(breakage.message), std::string::npos) << result.err;
  }
}

} // namespace
} // namespace m3
