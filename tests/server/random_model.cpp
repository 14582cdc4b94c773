#include "random_model.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <xxhash.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/config.h"

namespace m3::test_support {
namespace fs = std::filesystem;
namespace {

// Bump when the weight recipe changes, so caches regenerate.
constexpr int kWeightRecipeVersion = 1;

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  float scale;  // standard deviation of the uniform draw
  float offset; // added to every value
};

// Tensor list with the text-only checkpoint names the loader binds (model.*, lm_head.weight).
std::vector<Tensor> tensors_for(const ModelConfig &c) {
  const int64_t h = c.hidden_size, d = c.head_dim;
  const float proj = 1.0f / std::sqrt(float(h));
  std::vector<Tensor> t;
  t.push_back({"model.embed_tokens.weight", {c.vocab_size, h}, 1.0f, 0});
  t.push_back({"model.norm.weight", {h}, 0.1f, 0});
  t.push_back({"lm_head.weight", {c.vocab_size, h}, 2.0f * proj, 0});
  auto mlp = [&](const std::string &prefix, const char *gate, const char *up, const char *down,
                 int64_t inter) {
    t.push_back({prefix + gate + ".weight", {inter, h}, proj, 0});
    t.push_back({prefix + up + ".weight", {inter, h}, proj, 0});
    t.push_back({prefix + down + ".weight", {h, inter}, 1.0f / std::sqrt(float(inter)), 0});
  };
  for (int layer = 0; layer < c.num_layers; ++layer) {
    const std::string base = "model.layers." + std::to_string(layer) + ".";
    const std::string attn = base + "self_attn.";
    t.push_back({base + "input_layernorm.weight", {h}, 0.1f, 0});
    t.push_back({base + "post_attention_layernorm.weight", {h}, 0.1f, 0});
    t.push_back({attn + "q_proj.weight", {c.num_heads * d, h}, proj, 0});
    t.push_back({attn + "k_proj.weight", {c.num_kv_heads * d, h}, proj, 0});
    t.push_back({attn + "v_proj.weight", {c.num_kv_heads * d, h}, proj, 0});
    t.push_back({attn + "o_proj.weight",
                 {h, c.num_heads * d},
                 1.0f / std::sqrt(float(c.num_heads * d)),
                 0});
    t.push_back({attn + "q_norm.weight", {d}, 0.1f, 0});
    t.push_back({attn + "k_norm.weight", {d}, 0.1f, 0});
    if (c.attention_kinds[layer] == AttentionKind::kSparse) {
      const int64_t id = c.index_head_dim;
      t.push_back({attn + "index_q_proj.weight", {c.index_num_heads * id, h}, proj, 0});
      t.push_back({attn + "index_k_proj.weight", {id, h}, proj, 0});
      t.push_back({attn + "index_q_norm.weight", {id}, 0.1f, 0});
      t.push_back({attn + "index_k_norm.weight", {id}, 0.1f, 0});
    }
    if (c.mlp_kinds[layer] == MlpKind::kDense) {
      mlp(base + "mlp.", "gate_proj", "up_proj", "down_proj", c.dense_intermediate_size);
    } else {
      const std::string moe = base + "block_sparse_moe.";
      t.push_back({moe + "gate.weight", {c.num_experts, h}, proj, 0});
      t.push_back({moe + "e_score_correction_bias", {c.num_experts}, 0.1f, 0});
      for (int e = 0; e < c.num_experts; ++e)
        mlp(moe + "experts." + std::to_string(e) + ".", "w1", "w3", "w2",
            c.expert_intermediate_size);
      mlp(moe + "shared_experts.", "gate_proj", "up_proj", "down_proj", c.shared_intermediate_size);
    }
  }
  return t;
}

// Uniform values with the requested standard deviation from a splitmix64 stream seeded by the
// tensor name: identical on every platform and standard library.
void fill(const Tensor &tensor, std::vector<float> &out) {
  uint64_t state = XXH64(tensor.name.data(), tensor.name.size(), kWeightRecipeVersion);
  const float half_width = tensor.scale * std::sqrt(3.0f);
  for (float &v : out) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float unit = float(z >> 40) / float(1ull << 24); // [0, 1)
    v = tensor.offset + (2.0f * unit - 1.0f) * half_width;
  }
}

std::string read_file(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  require(bool(in), "cannot read " + path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

} // namespace

void write_random_weights(const std::string &model_dir) {
  const ModelConfig config = load_model_config(model_dir);
  const std::vector<Tensor> tensors = tensors_for(config);
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  int64_t offset = 0;
  for (const Tensor &t : tensors) {
    int64_t count = 1;
    for (int64_t dim : t.shape)
      count *= dim;
    header[t.name] = {
        {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + count * 4}}};
    offset += count * 4;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  const fs::path final_path = fs::path(model_dir) / "model.safetensors";
  const fs::path tmp_path = final_path.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp_path, std::ios::binary);
    require(bool(out), "cannot write " + tmp_path.string());
    const uint64_t header_size = header_text.size();
    out.write(reinterpret_cast<const char *>(&header_size), 8); // little-endian hosts only
    out << header_text;
    std::vector<float> values;
    for (const Tensor &t : tensors) {
      int64_t count = 1;
      for (int64_t dim : t.shape)
        count *= dim;
      values.assign(count, 0.0f);
      fill(t, values);
      out.write(reinterpret_cast<const char *>(values.data()), count * 4);
    }
    require(bool(out), "failed writing " + tmp_path.string());
  }
  fs::rename(tmp_path, final_path);
}

std::string prepare_random_model() {
  // Sources relative to the repository root (tests run there): the tiny config of this folder,
  // the shipped model's tokenizer and chat template.
  const fs::path config = "tests/server/random_model/config.json";
  const fs::path shipped = "models/default";
  const std::vector<fs::path> sources = {config, shipped / "tokenizer.json",
                                         shipped / "tokenizer_config.json",
                                         shipped / "chat_template.jinja"};
  std::string identity = std::to_string(kWeightRecipeVersion);
  for (const fs::path &source : sources)
    identity += "\n" + read_file(source);
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx",
                (unsigned long long)XXH64(identity.data(), identity.size(), 0));
  const fs::path dir = fs::temp_directory_path() / ("m3_random_model_" + std::string(hash));
  std::error_code ignored;
  fs::create_directories(dir, ignored);
  require(fs::is_directory(dir), "cannot create " + dir.string());
  // Test processes run in parallel and share the directory: write aside, then rename.
  const std::string suffix = ".tmp" + std::to_string(::getpid());
  for (const fs::path &source : sources) {
    const fs::path target = dir / source.filename();
    if (fs::exists(target))
      continue;
    fs::copy_file(source, target.string() + suffix, fs::copy_options::overwrite_existing);
    fs::rename(target.string() + suffix, target);
  }
  if (!fs::exists(dir / "model.safetensors"))
    write_random_weights(dir.string());
  return dir.string();
}

} // namespace m3::test_support
