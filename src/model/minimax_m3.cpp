#include "model/minimax_m3.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "kernels/cpu/attention_ref.h"
#include "model/cpu_ops.h"
#include "model/moe.h"

namespace m3 {

namespace {

// Projects, head-norms and rotates one branch: out [rows, num_heads, head_dim].
std::vector<float> project_heads(const std::vector<float> &x, int64_t rows, const Weight &proj,
                                 const Weight &norm, int num_heads, int head_dim,
                                 const ModelConfig &config, const int32_t *positions) {
  std::vector<float> out = cpu::matmul(x, rows, proj);
  cpu::gemma_rmsnorm(out.data(), rows * num_heads, head_dim, norm.to_f32(), config.rms_norm_eps);
  cpu::rope_neox(out.data(), rows, num_heads, head_dim, config.rotary_dim, config.rope_theta,
                 positions);
  return out;
}

std::vector<float> normed(const std::vector<float> &x, int64_t rows, const Weight &norm,
                          const ModelConfig &config) {
  std::vector<float> out = x;
  cpu::gemma_rmsnorm(out.data(), rows, config.hidden_size, norm.to_f32(), config.rms_norm_eps);
  return out;
}

void add_into(std::vector<float> &target, const std::vector<float> &delta) {
  for (size_t i = 0; i < target.size(); ++i)
    target[i] += delta[i];
}

} // namespace

CpuModel::CpuModel(Checkpoint checkpoint) : checkpoint_(std::move(checkpoint)) {
  const ModelConfig &c = checkpoint_.config;
  require(c.num_kv_heads > 0 && c.num_heads % c.num_kv_heads == 0,
          "num_attention_heads must be a multiple of num_key_value_heads");
  require(c.rotary_dim > 0 && c.rotary_dim % 2 == 0 && c.rotary_dim <= c.head_dim,
          "rotary_dim must be even and at most head_dim");
  if (c.has_sparse_layers()) {
    require(c.index_num_heads == c.num_kv_heads,
            "sparse attention needs one index head per KV head (index_n_heads == "
            "num_key_value_heads)");
    require(c.rotary_dim <= c.index_head_dim, "rotary_dim must be at most index_head_dim");
    require(c.index_block_size > 0 && c.index_topk_blocks > 0,
            "sparse attention needs a positive index block size and top-k");
  }
  require(int(checkpoint_.weights.layers.size()) == c.num_layers,
          "checkpoint has weights for " + std::to_string(checkpoint_.weights.layers.size()) +
              " layers, config says " + std::to_string(c.num_layers));
}

void CpuModel::check_batch(const ForwardBatch &batch, const KvCache &cache) const {
  const ModelConfig &c = config();
  require(batch.positions.size() == batch.token_ids.size(), "one position per row is required");
  require(!c.has_sparse_layers() || cache.block_size() == c.index_block_size,
          "KV cache page size must equal the MSA block size");
  for (int32_t id : batch.token_ids)
    require(id >= 0 && id < c.vocab_size, "token id " + std::to_string(id) +
                                              " is outside the vocabulary (size " +
                                              std::to_string(c.vocab_size) + ")");
  for (const SequenceInBatch &s : batch.sequences) {
    const int32_t kv_len = s.num_cached_tokens + s.num_new_tokens;
    require(int64_t(s.page_table.size()) * cache.block_size() >= kv_len,
            "page table too short for " + std::to_string(kv_len) + " tokens");
    for (int32_t page : s.page_table)
      require(page >= 0 && page < cache.num_pages(),
              "page " + std::to_string(page) + " outside the KV cache");
    // Each row must sit at its absolute position: the cache slot and causal mask depend on it.
    for (int32_t i = 0; i < s.num_new_tokens; ++i)
      require(batch.positions[s.first_row + i] == s.num_cached_tokens + i,
              "row " + std::to_string(s.first_row + i) + " is not at position cached + index");
  }
  for (int32_t row : batch.logit_rows)
    require(row >= 0 && row < batch.num_rows(),
            "logit row " + std::to_string(row) + " out of range");
  if (!batch.input_embeddings.empty())
    require(int64_t(batch.input_embeddings.size()) == int64_t(batch.num_rows()) * c.hidden_size &&
                batch.embedding_row_mask.size() == batch.token_ids.size(),
            "input embeddings must be [rows, hidden] with one mask entry per row");
}

std::vector<float> CpuModel::embed(const ForwardBatch &batch) const {
  const int64_t hidden = config().hidden_size;
  std::vector<float> x(size_t(batch.num_rows()) * hidden);
  const bool has_embeddings = !batch.input_embeddings.empty();
  for (int32_t r = 0; r < batch.num_rows(); ++r) {
    float *row = &x[size_t(r) * hidden];
    if (has_embeddings && batch.embedding_row_mask[r]) {
      std::copy_n(&batch.input_embeddings[size_t(r) * hidden], hidden, row);
    } else {
      checkpoint_.weights.embed_tokens.row_to_f32(batch.token_ids[r], row);
    }
  }
  return x;
}

void CpuModel::attention(int layer, const ForwardBatch &batch, KvCache &cache,
                         std::vector<float> &hidden) const {
  const ModelConfig &c = config();
  const LayerWeights &w = checkpoint_.weights.layers[layer];
  const int64_t rows = batch.num_rows();
  const int hd = c.head_dim, kvh = c.num_kv_heads, bs = cache.block_size();
  const bool sparse = c.attention_kinds[layer] == AttentionKind::kSparse;
  const int32_t *positions = batch.positions.data();

  const std::vector<float> x = normed(hidden, rows, w.input_norm, c);
  const std::vector<float> q =
      project_heads(x, rows, w.q_proj, w.q_norm, c.num_heads, hd, c, positions);
  const std::vector<float> k = project_heads(x, rows, w.k_proj, w.k_norm, kvh, hd, c, positions);
  const std::vector<float> v = cpu::matmul(x, rows, w.v_proj);
  std::vector<float> index_q, index_k;
  if (sparse) {
    index_q = project_heads(x, rows, w.index_q_proj, w.index_q_norm, c.index_num_heads,
                            c.index_head_dim, c, positions);
    index_k =
        project_heads(x, rows, w.index_k_proj, w.index_k_norm, 1, c.index_head_dim, c, positions);
  }

  // Store every new row at its absolute position before attending (rows see themselves).
  for (const SequenceInBatch &s : batch.sequences) {
    for (int32_t i = 0; i < s.num_new_tokens; ++i) {
      const int32_t row = s.first_row + i, position = positions[row];
      const int32_t page = s.page_table[position / bs], slot = position % bs;
      for (int g = 0; g < kvh; ++g) {
        const size_t src = (size_t(row) * kvh + g) * hd, dst = (size_t(g) * bs + slot) * hd;
        std::copy_n(&k[src], hd, cache.keys(layer, page) + dst);
        std::copy_n(&v[src], hd, cache.values(layer, page) + dst);
      }
      if (sparse)
        std::copy_n(&index_k[size_t(row) * c.index_head_dim], c.index_head_dim,
                    cache.index_keys(layer, page) + size_t(slot) * c.index_head_dim);
    }
  }

  std::vector<float> attn(size_t(rows) * c.num_heads * hd);
  std::vector<int32_t> selected;
  for (const SequenceInBatch &s : batch.sequences) {
    if (s.num_new_tokens == 0)
      continue;
    cpu::PagedKv kv;
    kv.keys = cache.keys(layer, 0);
    kv.values = cache.values(layer, 0);
    kv.index_keys = sparse ? cache.index_keys(layer, 0) : nullptr;
    kv.page_table = s.page_table.data();
    kv.kv_len = s.num_cached_tokens + s.num_new_tokens;
    kv.block_size = bs;
    kv.num_kv_heads = kvh;
    kv.head_dim = hd;
    kv.index_head_dim = c.index_head_dim;

    cpu::AttentionParams params;
    params.q = &q[size_t(s.first_row) * c.num_heads * hd];
    params.positions = positions + s.first_row;
    params.num_queries = s.num_new_tokens;
    params.num_heads = c.num_heads;
    params.scale = 1.0f / std::sqrt(float(hd));
    params.out = &attn[size_t(s.first_row) * c.num_heads * hd];
    if (sparse) {
      selected.assign(size_t(s.num_new_tokens) * kvh * c.index_topk_blocks, -1);
      cpu::MsaSelectParams select;
      select.index_q = &index_q[size_t(s.first_row) * c.index_num_heads * c.index_head_dim];
      select.positions = params.positions;
      select.num_queries = s.num_new_tokens;
      select.num_index_heads = c.index_num_heads;
      select.topk_blocks = c.index_topk_blocks;
      select.local_blocks = c.index_local_blocks;
      select.selected = selected.data();
      cpu::msa_select(kv, select);
      params.selected = selected.data();
      params.topk_blocks = c.index_topk_blocks;
    }
    cpu::paged_attention(kv, params);
  }
  add_into(hidden, cpu::matmul(attn, rows, w.o_proj));
}

void CpuModel::feed_forward(int layer, int64_t rows, std::vector<float> &hidden) const {
  const ModelConfig &c = config();
  const LayerWeights &w = checkpoint_.weights.layers[layer];
  const std::vector<float> x = normed(hidden, rows, w.post_attention_norm, c);
  if (c.mlp_kinds[layer] == MlpKind::kMoe) {
    add_into(hidden, cpu::moe_forward(x, rows, w, c));
  } else {
    const cpu::SwigluOai activation{c.swiglu_alpha, c.swiglu_limit, c.swiglu_beta};
    add_into(hidden, cpu::gated_mlp(x, rows, w.dense_mlp, activation));
  }
}

std::vector<float> CpuModel::forward(const ForwardBatch &batch, KvCache &cache) {
  check_batch(batch, cache);
  const ModelConfig &c = config();
  const int64_t rows = batch.num_rows(), hidden_size = c.hidden_size;
  std::vector<float> hidden = embed(batch);
  for (int layer = 0; layer < c.num_layers; ++layer) {
    attention(layer, batch, cache, hidden);
    feed_forward(layer, rows, hidden);
  }
  // Only the requested rows go through the final norm and the LM head.
  const int64_t num_logit_rows = int64_t(batch.logit_rows.size());
  std::vector<float> last(size_t(num_logit_rows * hidden_size));
  for (int64_t i = 0; i < num_logit_rows; ++i)
    std::copy_n(&hidden[size_t(batch.logit_rows[i]) * hidden_size], hidden_size,
                &last[size_t(i) * hidden_size]);
  last = normed(last, num_logit_rows, checkpoint_.weights.final_norm, c);
  const Weight &head = checkpoint_.weights.lm_head.empty() ? checkpoint_.weights.embed_tokens
                                                           : checkpoint_.weights.lm_head;
  return cpu::matmul(last, num_logit_rows, head);
}

} // namespace m3
