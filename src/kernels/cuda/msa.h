#pragma once
// Host API of the paged attention kernels for M3 on Hopper: the MSA indexer (block scores and
// top-k selection), MSA sparse attention (decode: split over selected blocks; prefill:
// KV-block-major over an inverted selection) and dense causal attention for the full layers.
// Contracts: msa-kernels.md §1 (top-k rows: valid prefix, historical blocks in any order, the
// local block last, -1 padding). Lifecycle: an MsaPlan is built from host metadata outside graph
// capture (it uploads page tables and work lists); its run functions only launch kernels on the
// given stream, never read the device back, and may be captured in a CUDA graph.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

namespace m3::cuda {

namespace detail {
struct AttentionParams;
}

constexpr int kBlockSize = 128;    // tokens per page = one MSA block
constexpr int kHeadDim = 128;      // main q/k/v head dim
constexpr int kIndexHeadDim = 128; // index q/k head dim
constexpr int kTopkBlocks = 16;    // blocks selected per (token, KV group), local block included
constexpr int kHeadsPerGroup = 16; // q heads per KV head (GQA 16)

enum class IndexKeyType { kBF16, kFP8E4M3 };

// One layer's paged cache on the device. Page p of the K cache holds [num_kv_heads, 128, 128].
struct PagedLayer {
  const __nv_bfloat16 *keys = nullptr;   // [num_pages, num_kv_heads, 128, 128]
  const __nv_bfloat16 *values = nullptr; // [num_pages, num_kv_heads, 128, 128]
  const void *index_keys = nullptr;      // [num_pages, 128, 128] bf16 or e4m3 (sparse layers)
  IndexKeyType index_key_type = IndexKeyType::kBF16;
};

// A ragged batch as the host knows it. Sequence s contributes q_lens[s] query rows (rows in
// sequence order) at absolute positions kv_lens[s] - q_lens[s] ... kv_lens[s] - 1; its logical
// block b lives in physical page page_tables[s][b] (covers kv_lens[s] tokens).
struct BatchShape {
  std::vector<int32_t> q_lens;
  std::vector<int32_t> kv_lens;
  std::vector<std::vector<int32_t>> page_tables;
  int num_kv_heads = 4; // = index heads; q heads = 16 per KV head
};

// Work item of the indexer score kernel: query rows [query_begin, query_begin + query_count) of
// one sequence against its logical blocks [block_begin, block_end).
struct IndexerWork {
  int32_t sequence, query_begin, query_count, block_begin, block_end;
};

// Work item of the dense attention kernel: up to kDenseQueriesPerCta consecutive query rows of one
// sequence and KV head over logical blocks [block_begin, block_end); slot = -1 writes the final
// output, otherwise a partial (O, LSE) at that split slot.
struct DenseWork {
  int32_t sequence, kv_head, query_begin, query_count, block_begin, block_end, slot;
};

class MsaPlan {
public:
  // Uploads metadata and sizes the workspace for this batch; may allocate (not capturable).
  MsaPlan(const BatchShape &batch, cudaStream_t stream);
  ~MsaPlan();
  MsaPlan(const MsaPlan &) = delete;
  MsaPlan &operator=(const MsaPlan &) = delete;

  int32_t num_queries() const { return num_queries_; }
  int num_kv_heads() const { return num_kv_heads_; }
  bool uses_k2q() const { return use_k2q_; }

  // Indexer: index_q [num_queries, num_kv_heads, 128] bf16 -> selected
  // [num_queries, num_kv_heads, 16] int32 (block scores go to the plan's workspace).
  void select(const PagedLayer &layer, const __nv_bfloat16 *index_q, int32_t *selected,
              cudaStream_t stream) const;
  // The two halves of select(), for benchmarks.
  void score_blocks(const PagedLayer &layer, const __nv_bfloat16 *index_q,
                    cudaStream_t stream) const;
  void select_topk(int32_t *selected, cudaStream_t stream) const;

  // MSA attention: q [num_queries, 16 * num_kv_heads, 128] bf16, selected as above ->
  // out [num_queries, 16 * num_kv_heads, 128] bf16 and, if lse != nullptr, its natural-log LSE
  // [num_queries, 16 * num_kv_heads] fp32. softmax scale 1/sqrt(128).
  void sparse_attention(const PagedLayer &layer, const __nv_bfloat16 *q, const int32_t *selected,
                        __nv_bfloat16 *out, float *lse, cudaStream_t stream) const;
  // The three stages of sparse_attention(), for benchmarks: the selection inverted into the
  // KV-block-major work list (prefill-sized steps only; a no-op otherwise), the per-block partials
  // (O, LSE) in the plan's workspace, and their merge into out / lse.
  void invert_selection(const int32_t *selected, cudaStream_t stream) const;
  void sparse_partials(const PagedLayer &layer, const __nv_bfloat16 *q, const int32_t *selected,
                       cudaStream_t stream) const;
  void merge_sparse_partials(__nv_bfloat16 *out, float *lse, cudaStream_t stream) const;
  // Dense causal attention over the same paged K/V (full layers); same shapes.
  void dense_attention(const PagedLayer &layer, const __nv_bfloat16 *q, __nv_bfloat16 *out,
                       float *lse, cudaStream_t stream) const;

private:
  // Launch parameters shared by every attention schedule (cache, queries, metadata, partials).
  detail::AttentionParams attention_params(const PagedLayer &layer, const __nv_bfloat16 *q) const;
  // Merges the partials written by an attention schedule into out / lse.
  void combine(int num_slots, int blocks_per_slot, __nv_bfloat16 *out, float *lse,
               cudaStream_t stream) const;

  int num_kv_heads_ = 0;
  int32_t num_queries_ = 0;
  int32_t num_sequences_ = 0;
  int32_t max_blocks_ = 0;   // page table row stride and block-score row stride
  int32_t total_blocks_ = 0; // sum over sequences of their logical blocks
  int32_t max_candidates_ = 0;
  bool use_k2q_ = false;
  int32_t k2q_max_ctas_ = 0;
  int32_t indexer_max_rows_ = 0; // most (query, index head) rows of one indexer work item
  int32_t num_indexer_work_ = 0, num_dense_work_ = 0, dense_slots_ = 0, dense_blocks_per_slot_ = 0;

  // Device metadata.
  int32_t *page_tables_ = nullptr;    // [num_sequences, max_blocks]
  int32_t *query_sequence_ = nullptr; // [num_queries]
  int32_t *query_position_ = nullptr; // [num_queries]
  int32_t *block_offset_ = nullptr;   // [num_sequences + 1] prefix sum of logical blocks
  int32_t *kv_lens_ = nullptr;        // [num_sequences]
  IndexerWork *indexer_work_ = nullptr;
  DenseWork *dense_work_ = nullptr;
  // Device workspace.
  float *block_scores_ = nullptr;      // [num_queries, num_kv_heads, max_blocks]
  __nv_bfloat16 *partial_o_ = nullptr; // [num_queries, 16 * num_kv_heads, slots, 128]
  float *partial_lse_ = nullptr;       // [num_queries, 16 * num_kv_heads, slots]
  int32_t *k2q_counts_ = nullptr;      // [num_kv_heads * total_blocks]: queries per (head, block)
  int32_t *k2q_row_start_ = nullptr;   // [num_kv_heads * total_blocks + 1]
  int32_t *k2q_cta_start_ = nullptr;   // [num_kv_heads * total_blocks + 1]
  int32_t *k2q_cursor_ = nullptr;      // [num_kv_heads * total_blocks]
  int32_t *k2q_entries_ = nullptr;     // [num_queries * num_kv_heads * 16]: query * 16 + slot
};

} // namespace m3::cuda
