// MsaPlan: host-side metadata (query rows, page tables, work lists, workspace) for one batch,
// and the run functions that launch the kernels on a stream without reading the device back.
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/cuda/kernels.h"

namespace m3::cuda {

using detail::check_cuda;

namespace {

int32_t ceil_div(int64_t a, int64_t b) { return int32_t((a + b - 1) / b); }

void require(bool condition, const std::string &message) {
  if (!condition)
    throw std::invalid_argument("MsaPlan: " + message);
}

template <typename T> T *upload(const std::vector<T> &host, cudaStream_t stream) {
  T *device = nullptr;
  const size_t bytes = std::max<size_t>(1, host.size()) * sizeof(T);
  M3_CUDA_CHECK(cudaMalloc(&device, bytes));
  if (!host.empty())
    M3_CUDA_CHECK(cudaMemcpyAsync(device, host.data(), host.size() * sizeof(T),
                                  cudaMemcpyHostToDevice, stream));
  return device;
}

template <typename T> T *allocate(size_t count) {
  T *device = nullptr;
  M3_CUDA_CHECK(cudaMalloc(&device, std::max<size_t>(1, count) * sizeof(T)));
  return device;
}

int sm_count() {
  int device = 0, count = 0;
  M3_CUDA_CHECK(cudaGetDevice(&device));
  M3_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
  return count;
}

// Splits [0, range) items into chunks of blocks_per_chunk (aligned to multiples of it).
int32_t chunk_size_for(int64_t items, int64_t longest_range, int64_t target_ctas) {
  if (items >= target_ctas || longest_range <= 1)
    return int32_t(std::max<int64_t>(1, longest_range));
  const int64_t splits = (target_ctas + items - 1) / items;
  return std::max<int32_t>(1, ceil_div(longest_range, splits));
}

} // namespace

MsaPlan::MsaPlan(const BatchShape &batch, cudaStream_t stream) {
  num_kv_heads_ = batch.num_kv_heads;
  num_sequences_ = int32_t(batch.q_lens.size());
  require(num_kv_heads_ >= 1 && num_kv_heads_ <= 8, "num_kv_heads must be 1..8");
  require(batch.kv_lens.size() == batch.q_lens.size() &&
              batch.page_tables.size() == batch.q_lens.size(),
          "q_lens, kv_lens and page_tables must have one entry per sequence");
  std::vector<int32_t> query_sequence, query_position, block_offset{0};
  int32_t max_q_len = 0;
  for (int32_t s = 0; s < num_sequences_; ++s) {
    const int32_t q_len = batch.q_lens[s], kv_len = batch.kv_lens[s];
    require(q_len >= 1 && q_len <= kv_len,
            "sequence " + std::to_string(s) + ": need 1 <= q_len <= kv_len");
    const int32_t blocks = ceil_div(kv_len, kBlockSize);
    require(int32_t(batch.page_tables[s].size()) >= blocks,
            "sequence " + std::to_string(s) + ": page table shorter than kv_len / 128");
    max_blocks_ = std::max(max_blocks_, blocks);
    max_q_len = std::max(max_q_len, q_len);
    block_offset.push_back(block_offset.back() + blocks);
    for (int32_t i = 0; i < q_len; ++i) {
      query_sequence.push_back(s);
      query_position.push_back(kv_len - q_len + i);
      max_candidates_ = std::max(max_candidates_, (kv_len - q_len + i) / kBlockSize);
    }
  }
  num_queries_ = int32_t(query_sequence.size());
  total_blocks_ = block_offset.back();
  require(max_candidates_ <= 1024 * detail::kTopkPerThread, "context longer than 1M tokens");

  std::vector<int32_t> page_tables(size_t(num_sequences_) * max_blocks_, 0);
  for (int32_t s = 0; s < num_sequences_; ++s)
    std::copy_n(batch.page_tables[s].begin(), ceil_div(batch.kv_lens[s], kBlockSize),
                page_tables.begin() + size_t(s) * max_blocks_);

  const int64_t target_ctas = 2 * int64_t(sm_count());
  // Indexer: tiles of up to kScoreMaxRows (query, head) rows, each over blocks [0, last local
  // block]; when any tile has more than half that (prefill, the wgmma kernel), tiles of up to
  // kScoreWideRows instead, so that each index-K block loaded feeds twice the MMA.
  std::vector<IndexerWork> tiles;
  int64_t longest = 0;
  auto make_tiles = [&](int rows_per_tile) {
    const int queries_per_tile = rows_per_tile / num_kv_heads_;
    tiles.clear();
    longest = 0;
    indexer_max_rows_ = 0;
    for (int32_t s = 0, row = 0; s < num_sequences_; row += batch.q_lens[s], ++s)
      for (int32_t q = 0; q < batch.q_lens[s]; q += queries_per_tile) {
        const int32_t count = std::min(queries_per_tile, batch.q_lens[s] - q);
        const int32_t blocks = query_position[row + q + count - 1] / kBlockSize + 1;
        tiles.push_back({s, row + q, count, 0, blocks});
        longest = std::max<int64_t>(longest, blocks);
        indexer_max_rows_ = std::max(indexer_max_rows_, count * num_kv_heads_);
      }
  };
  make_tiles(detail::kScoreMaxRows);
  if (indexer_max_rows_ > detail::kScoreMaxRows / 2)
    make_tiles(detail::kScoreWideRows);
  // Split long decode rows so one wave of resident CTAs (2 per SM) streams the index keys.
  const int32_t index_chunk = chunk_size_for(int64_t(tiles.size()), longest, target_ctas);
  std::vector<IndexerWork> indexer_work;
  for (const IndexerWork &t : tiles)
    for (int32_t b = 0; b < t.block_end; b += index_chunk)
      indexer_work.push_back(
          {t.sequence, t.query_begin, t.query_count, b, std::min(t.block_end, b + index_chunk)});
  // Longest items first (CTAs start roughly in grid order): the last wave holds the short causal
  // tiles, not a wave of the longest ones.
  std::stable_sort(indexer_work.begin(), indexer_work.end(),
                   [](const IndexerWork &a, const IndexerWork &b) {
                     return a.block_end - a.block_begin > b.block_end - b.block_begin;
                   });
  num_indexer_work_ = int32_t(indexer_work.size());

  // Dense attention: tiles of kDenseQueriesPerCta queries per KV head, split along blocks when
  // there are too few tiles to fill the GPU (decode); the splits are merged by the combine.
  std::vector<DenseWork> dense_tiles;
  longest = 0;
  for (int32_t s = 0, row = 0; s < num_sequences_; row += batch.q_lens[s], ++s)
    for (int32_t q = 0; q < batch.q_lens[s]; q += detail::kDenseQueriesPerCta) {
      const int32_t count = std::min(detail::kDenseQueriesPerCta, batch.q_lens[s] - q);
      const int32_t blocks = query_position[row + q + count - 1] / kBlockSize + 1;
      for (int h = 0; h < num_kv_heads_; ++h)
        dense_tiles.push_back({s, h, row + q, count, 0, blocks, -1});
      longest = std::max<int64_t>(longest, blocks);
    }
  dense_blocks_per_slot_ = chunk_size_for(int64_t(dense_tiles.size()), longest, 3 * target_ctas);
  dense_slots_ = ceil_div(max_blocks_, dense_blocks_per_slot_);
  std::vector<DenseWork> dense_work;
  for (const DenseWork &t : dense_tiles)
    for (int32_t b = 0; b < t.block_end; b += dense_blocks_per_slot_)
      dense_work.push_back({t.sequence, t.kv_head, t.query_begin, t.query_count, b,
                            std::min(t.block_end, b + dense_blocks_per_slot_),
                            dense_slots_ > 1 ? b / dense_blocks_per_slot_ : -1});
  num_dense_work_ = int32_t(dense_work.size());

  // Sparse attention: decode-sized steps use one warp per selected edge; longer query runs
  // (prefill) invert the selection and go KV-block-major.
  use_k2q_ = max_q_len > 16;
  const int64_t edges = int64_t(num_queries_) * num_kv_heads_ * kTopkBlocks;
  const int64_t k2q_rows = int64_t(num_kv_heads_) * total_blocks_;
  k2q_max_ctas_ = int32_t(edges / detail::kK2qQueriesPerCta + k2q_rows + 1);

  page_tables_ = upload(page_tables, stream);
  query_sequence_ = upload(query_sequence, stream);
  query_position_ = upload(query_position, stream);
  block_offset_ = upload(block_offset, stream);
  kv_lens_ = upload(batch.kv_lens, stream);
  indexer_work_ = upload(indexer_work, stream);
  dense_work_ = upload(dense_work, stream);

  const int num_heads = num_kv_heads_ * kHeadsPerGroup;
  const int slots = std::max(kTopkBlocks, dense_slots_ > 1 ? dense_slots_ : 0);
  block_scores_ = allocate<float>(size_t(num_queries_) * num_kv_heads_ * max_blocks_);
  partial_o_ = allocate<__nv_bfloat16>(size_t(num_queries_) * num_heads * slots * kHeadDim);
  partial_lse_ = allocate<float>(size_t(num_queries_) * num_heads * slots);
  if (use_k2q_) {
    k2q_counts_ = allocate<int32_t>(k2q_rows);
    k2q_row_start_ = allocate<int32_t>(k2q_rows + 1);
    k2q_cta_start_ = allocate<int32_t>(k2q_rows + 1);
    k2q_cursor_ = allocate<int32_t>(k2q_rows);
    k2q_entries_ = allocate<int32_t>(edges);
  }
  M3_CUDA_CHECK(cudaStreamSynchronize(stream)); // host vectors die with this scope
}

MsaPlan::~MsaPlan() {
  for (void *p :
       {(void *)page_tables_, (void *)query_sequence_, (void *)query_position_,
        (void *)block_offset_, (void *)kv_lens_, (void *)indexer_work_, (void *)dense_work_,
        (void *)block_scores_, (void *)partial_o_, (void *)partial_lse_, (void *)k2q_counts_,
        (void *)k2q_row_start_, (void *)k2q_cta_start_, (void *)k2q_cursor_, (void *)k2q_entries_})
    if (p != nullptr)
      cudaFree(p);
}

void MsaPlan::score_blocks(const PagedLayer &layer, const __nv_bfloat16 *index_q,
                           cudaStream_t stream) const {
  detail::ScoreParams params;
  params.index_keys = layer.index_keys;
  params.index_q = index_q;
  params.page_tables = page_tables_;
  params.page_table_stride = max_blocks_;
  params.query_position = query_position_;
  params.work = indexer_work_;
  params.num_heads = num_kv_heads_;
  params.block_scores = block_scores_;
  params.score_stride = max_blocks_;
  detail::launch_score_blocks(params, layer.index_key_type, num_indexer_work_, indexer_max_rows_,
                              stream);
}

void MsaPlan::select_topk(int32_t *selected, cudaStream_t stream) const {
  detail::TopkParams params;
  params.block_scores = block_scores_;
  params.score_stride = max_blocks_;
  params.query_position = query_position_;
  params.num_heads = num_kv_heads_;
  params.num_rows = num_queries_ * num_kv_heads_;
  params.selected = selected;
  detail::launch_topk(params, max_candidates_, stream);
}

void MsaPlan::select(const PagedLayer &layer, const __nv_bfloat16 *index_q, int32_t *selected,
                     cudaStream_t stream) const {
  score_blocks(layer, index_q, stream);
  select_topk(selected, stream);
}

void MsaPlan::invert_selection(const int32_t *selected, cudaStream_t stream) const {
  if (!use_k2q_)
    return;
  detail::K2qParams params;
  params.selected = selected;
  params.query_sequence = query_sequence_;
  params.block_offset = block_offset_;
  params.num_queries = num_queries_;
  params.num_kv_heads = num_kv_heads_;
  params.total_blocks = total_blocks_;
  params.counts = k2q_counts_;
  params.row_start = k2q_row_start_;
  params.cta_start = k2q_cta_start_;
  params.cursor = k2q_cursor_;
  params.entries = k2q_entries_;
  detail::launch_k2q(params, stream);
}

detail::AttentionParams MsaPlan::attention_params(const PagedLayer &layer,
                                                  const __nv_bfloat16 *q) const {
  detail::AttentionParams params;
  params.keys = layer.keys;
  params.values = layer.values;
  params.q = q;
  params.num_kv_heads = num_kv_heads_;
  params.page_tables = page_tables_;
  params.page_table_stride = max_blocks_;
  params.query_sequence = query_sequence_;
  params.query_position = query_position_;
  params.kv_lens = kv_lens_;
  params.scale_log2 = float(1.0 / std::sqrt(double(kHeadDim)) * 1.4426950408889634);
  params.partial_o = partial_o_;
  params.partial_lse = partial_lse_;
  return params;
}

void MsaPlan::combine(int num_slots, int blocks_per_slot, __nv_bfloat16 *out, float *lse,
                      cudaStream_t stream) const {
  detail::CombineParams params;
  params.partial_o = partial_o_;
  params.partial_lse = partial_lse_;
  params.query_position = query_position_;
  params.num_queries = num_queries_;
  params.num_heads = num_kv_heads_ * kHeadsPerGroup;
  params.num_slots = num_slots;
  params.blocks_per_slot = blocks_per_slot;
  params.out = out;
  params.lse = lse;
  detail::launch_combine(params, stream);
}

void MsaPlan::sparse_partials(const PagedLayer &layer, const __nv_bfloat16 *q,
                              const int32_t *selected, cudaStream_t stream) const {
  detail::AttentionParams params = attention_params(layer, q);
  params.num_slots = kTopkBlocks;
  if (use_k2q_) {
    params.k2q_row_start = k2q_row_start_;
    params.k2q_cta_start = k2q_cta_start_;
    params.k2q_entries = k2q_entries_;
    params.block_offset = block_offset_;
    params.num_sequences = num_sequences_;
    params.total_blocks = total_blocks_;
    detail::launch_k2q_attention(params, k2q_max_ctas_, stream);
  } else {
    params.selected = selected;
    detail::launch_attention(detail::AttentionMode::kSparseEdges, params,
                             num_queries_ * num_kv_heads_ * kTopkBlocks, stream);
  }
}

void MsaPlan::merge_sparse_partials(__nv_bfloat16 *out, float *lse, cudaStream_t stream) const {
  combine(kTopkBlocks, 1, out, lse, stream);
}

void MsaPlan::sparse_attention(const PagedLayer &layer, const __nv_bfloat16 *q,
                               const int32_t *selected, __nv_bfloat16 *out, float *lse,
                               cudaStream_t stream) const {
  invert_selection(selected, stream);
  sparse_partials(layer, q, selected, stream);
  merge_sparse_partials(out, lse, stream);
}

void MsaPlan::dense_attention(const PagedLayer &layer, const __nv_bfloat16 *q, __nv_bfloat16 *out,
                              float *lse, cudaStream_t stream) const {
  detail::AttentionParams params = attention_params(layer, q);
  params.dense_work = dense_work_;
  params.out = out;
  params.lse = lse;
  params.num_slots = dense_slots_;
  detail::launch_attention(detail::AttentionMode::kDense, params, num_dense_work_, stream);
  if (dense_slots_ > 1)
    combine(dense_slots_, dense_blocks_per_slot_, out, lse, stream);
}

} // namespace m3::cuda
