#include "kernels/cpu/attention_ref.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.h"

namespace m3::cpu {

namespace {

float dot(const float *a, const float *b, int n) {
  float sum = 0;
  for (int i = 0; i < n; ++i)
    sum += a[i] * b[i];
  return sum;
}

// Address of token `position` of one KV head in a [pages, kv_heads, block, dim] cache.
const float *paged_row(const float *base, const PagedKv &kv, int kv_head, int32_t position,
                       int dim) {
  int32_t page = kv.page_table[position / kv.block_size];
  int64_t slot =
      (int64_t(page) * kv.num_kv_heads + kv_head) * kv.block_size + position % kv.block_size;
  return base + slot * dim;
}

const float *index_key_row(const PagedKv &kv, int32_t position) {
  int32_t page = kv.page_table[position / kv.block_size];
  int64_t slot = int64_t(page) * kv.block_size + position % kv.block_size;
  return kv.index_keys + slot * kv.index_head_dim;
}

// Selection of one (query, index head): writes topk_blocks entries of out.
void select_blocks(const PagedKv &kv, const float *index_q, int32_t position, int topk_blocks,
                   int local_blocks, int32_t *out, std::vector<float> &block_scores,
                   std::vector<int32_t> &order) {
  const int32_t local_block = position / kv.block_size;
  const int32_t num_candidates = local_block + 1;
  const int32_t num_selected = std::min<int32_t>(topk_blocks, num_candidates);
  // Forced blocks are local_block, local_block - 1, ...; never more than fit in the selection.
  const int32_t num_forced = std::min<int32_t>(std::max(local_blocks, 1), num_selected);
  const int32_t first_forced = local_block - num_forced + 1;

  block_scores.assign(num_candidates, -std::numeric_limits<float>::infinity());
  for (int32_t block = 0; block < first_forced; ++block) {
    float best = -std::numeric_limits<float>::infinity();
    const int32_t begin = block * kv.block_size;
    for (int32_t j = begin; j < begin + kv.block_size; ++j)
      best = std::max(best, dot(index_q, index_key_row(kv, j), kv.index_head_dim));
    block_scores[block] = best;
  }
  order.resize(first_forced);
  for (int32_t block = 0; block < first_forced; ++block)
    order[block] = block;
  const int32_t num_historical = num_selected - num_forced;
  std::partial_sort(order.begin(), order.begin() + num_historical, order.end(),
                    [&](int32_t a, int32_t b) {
                      if (block_scores[a] != block_scores[b])
                        return block_scores[a] > block_scores[b];
                      return a < b;
                    });
  int slot = 0;
  for (int32_t i = 0; i < num_historical; ++i)
    out[slot++] = order[i];
  for (int32_t block = first_forced; block <= local_block; ++block)
    out[slot++] = block;
  while (slot < topk_blocks)
    out[slot++] = -1;
}

} // namespace

void msa_select(const PagedKv &kv, const MsaSelectParams &params) {
  const int64_t num_tasks = int64_t(params.num_queries) * params.num_index_heads;
  const int64_t work = num_tasks * kv.kv_len * kv.index_head_dim;
  parallel_for_if_worth(num_tasks, work, [&](int64_t begin, int64_t end) {
    std::vector<float> block_scores;
    std::vector<int32_t> order;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t query = task / params.num_index_heads;
      const float *index_q = params.index_q + task * kv.index_head_dim;
      select_blocks(kv, index_q, params.positions[query], params.topk_blocks, params.local_blocks,
                    params.selected + task * params.topk_blocks, block_scores, order);
    }
  });
}

namespace {

// Visits the key positions query `position` attends to, in selection order.
template <typename Visit>
void for_each_key(const PagedKv &kv, int32_t position, const int32_t *selected, int topk_blocks,
                  Visit &&visit) {
  if (selected == nullptr) {
    for (int32_t j = 0; j <= position; ++j)
      visit(j);
    return;
  }
  for (int i = 0; i < topk_blocks; ++i) {
    const int32_t block = selected[i];
    if (block < 0)
      continue;
    const int32_t begin = block * kv.block_size;
    const int32_t end = std::min(begin + kv.block_size, position + 1);
    for (int32_t j = begin; j < end; ++j)
      visit(j);
  }
}

void attend_one(const PagedKv &kv, const AttentionParams &params, int64_t query, int head,
                std::vector<float> &scores, std::vector<int32_t> &keys) {
  const int dim = kv.head_dim;
  const int kv_head = head / (params.num_heads / kv.num_kv_heads);
  const int32_t position = params.positions[query];
  const float *q = params.q + (query * params.num_heads + head) * dim;
  float *out = params.out + (query * params.num_heads + head) * dim;
  const int32_t *selected =
      params.selected ? params.selected + (query * kv.num_kv_heads + kv_head) * params.topk_blocks
                      : nullptr;

  keys.clear();
  for_each_key(kv, position, selected, params.topk_blocks, [&](int32_t j) { keys.push_back(j); });
  std::fill(out, out + dim, 0.0f);
  if (keys.empty()) {
    if (params.lse)
      params.lse[query * params.num_heads + head] = -INFINITY;
    return;
  }
  scores.resize(keys.size());
  float max_score = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < keys.size(); ++i) {
    scores[i] = params.scale * dot(q, paged_row(kv.keys, kv, kv_head, keys[i], dim), dim);
    max_score = std::max(max_score, scores[i]);
  }
  double sum = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    scores[i] = std::exp(scores[i] - max_score);
    sum += scores[i];
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    const float weight = float(scores[i] / sum);
    const float *v = paged_row(kv.values, kv, kv_head, keys[i], dim);
    for (int c = 0; c < dim; ++c)
      out[c] += weight * v[c];
  }
  if (params.lse)
    params.lse[query * params.num_heads + head] = max_score + float(std::log(sum));
}

} // namespace

void paged_attention(const PagedKv &kv, const AttentionParams &params) {
  const int64_t num_tasks = int64_t(params.num_queries) * params.num_heads;
  const int64_t work = num_tasks * kv.kv_len * kv.head_dim * 2;
  parallel_for_if_worth(num_tasks, work, [&](int64_t begin, int64_t end) {
    std::vector<float> scores;
    std::vector<int32_t> keys;
    for (int64_t task = begin; task < end; ++task)
      attend_one(kv, params, task / params.num_heads, int(task % params.num_heads), scores, keys);
  });
}

} // namespace m3::cpu
