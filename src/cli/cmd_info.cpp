// `m3 info --model DIR`: what a checkpoint holds, from config.json and the safetensors headers
// alone (binding validates every tensor the model needs without reading tensor data).
#include <cstdio>
#include <map>
#include <string>

#include "cli/command.h"
#include "core/safetensors.h"
#include "model/weights.h"

namespace m3::cli {

namespace {

std::string layer_kind(const ModelConfig &c, int layer) {
  std::string attention =
      c.attention_kinds[layer] == AttentionKind::kSparse ? "sparse (MSA)" : "full";
  std::string mlp = c.mlp_kinds[layer] == MlpKind::kMoe ? "MoE" : "dense";
  return "attention " + attention + ", mlp " + mlp;
}

bool is_mx_scale(const std::string &name) {
  const std::string suffix = "_scale_inv";
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int64_t weight_parameters(const Weight &w) { return w.empty() ? 0 : w.rows * w.cols; }

int64_t bound_parameters(const ModelWeights &weights) {
  int64_t total = weight_parameters(weights.embed_tokens) + weight_parameters(weights.final_norm);
  if (weights.lm_head.data != weights.embed_tokens.data)
    total += weight_parameters(weights.lm_head);
  auto mlp = [](const ExpertWeights &e) {
    return weight_parameters(e.gate) + weight_parameters(e.up) + weight_parameters(e.down);
  };
  for (const LayerWeights &l : weights.layers) {
    for (const Weight *w : {&l.input_norm, &l.post_attention_norm, &l.q_proj, &l.k_proj, &l.v_proj,
                            &l.o_proj, &l.q_norm, &l.k_norm, &l.index_q_proj, &l.index_k_proj,
                            &l.index_q_norm, &l.index_k_norm, &l.router, &l.router_bias})
      total += weight_parameters(*w);
    total += mlp(l.dense_mlp) + mlp(l.shared_expert);
    for (const ExpertWeights &e : l.experts)
      total += mlp(e);
  }
  return total;
}

std::string billions(int64_t count) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2fB", double(count) / 1e9);
  return text;
}

int run_info(const std::vector<std::string> &argv) {
  Args args(argv, {"--model"});
  const std::string dir = args.required("--model");
  const Checkpoint checkpoint = load_checkpoint(dir);
  const ModelConfig &c = checkpoint.config;
  const SafetensorsArchive &archive = *checkpoint.archive;

  std::printf("model: %s\n", dir.c_str());
  std::printf("config style: %s\n", c.source_style.c_str());
  std::printf("files: %zu%s\n", archive.files().size(), archive.sharded() ? " (sharded)" : "");
  std::printf("layers: %d\n", c.num_layers);
  for (int first = 0; first < c.num_layers;) {
    int last = first;
    while (last + 1 < c.num_layers && layer_kind(c, last + 1) == layer_kind(c, first))
      ++last;
    const std::string range = first == last
                                  ? "layer " + std::to_string(first)
                                  : "layers " + std::to_string(first) + "-" + std::to_string(last);
    std::printf("  %s: %s\n", range.c_str(), layer_kind(c, first).c_str());
    first = last + 1;
  }
  std::printf("hidden size: %lld, vocab: %lld, tied embeddings: %s\n", (long long)c.hidden_size,
              (long long)c.vocab_size, c.tie_word_embeddings ? "yes" : "no");
  std::printf("attention: %d q heads, %d kv heads, head dim %d, rotary dim %d, rope theta %g\n",
              c.num_heads, c.num_kv_heads, c.head_dim, c.rotary_dim, c.rope_theta);
  std::printf("dense mlp: intermediate %lld\n", (long long)c.dense_intermediate_size);
  std::printf("moe: %d experts, top %d, expert intermediate %lld, shared intermediate %lld, "
              "routed scale %g\n",
              c.num_experts, c.num_experts_per_token, (long long)c.expert_intermediate_size,
              (long long)c.shared_intermediate_size, c.routed_scaling_factor);
  std::printf("msa: %d index heads x %d, block %d, top-k %d blocks, local %d\n", c.index_num_heads,
              c.index_head_dim, c.index_block_size, c.index_topk_blocks, c.index_local_blocks);

  std::map<std::string, int64_t> tensors_by_dtype;
  int64_t all_parameters = 0;
  for (const auto &[name, tensor] : archive.tensors()) {
    ++tensors_by_dtype[tensor.dtype];
    if (!is_mx_scale(name))
      all_parameters += tensor.numel();
  }
  std::string dtypes;
  for (const auto &[dtype, count] : tensors_by_dtype)
    dtypes += (dtypes.empty() ? "" : ", ") + dtype + " x " + std::to_string(count);
  std::printf("dtypes: %s\n", dtypes.c_str());
  std::printf("parameters: %lld (%s, all tensors, MXFP8 scales excluded)\n",
              (long long)all_parameters, billions(all_parameters).c_str());
  const int64_t text_parameters = bound_parameters(checkpoint.weights);
  std::printf("text model parameters: %lld (%s)\n", (long long)text_parameters,
              billions(text_parameters).c_str());
  std::printf("kv bytes per token: %lld (bf16 K/V of every layer + index keys of sparse layers)\n",
              (long long)c.kv_bytes_per_token());
  return 0;
}

const CommandRegistration
    kInfo("info", "describe a checkpoint: layers, dtypes, parameters, KV size", run_info);

} // namespace

} // namespace m3::cli
