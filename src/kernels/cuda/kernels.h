#pragma once
// Kernel parameter structs and launchers behind MsaPlan (internal to src/kernels/cuda).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda/msa.h"

namespace m3::cuda::detail {

// CUDA runtime failures are programming or device errors, not user errors: throw with location.
inline void check_cuda(cudaError_t status, const char *what, const char *file, int line) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + what + ": " +
                             cudaGetErrorString(status));
}
#define M3_CUDA_CHECK(call) ::m3::cuda::detail::check_cuda((call), #call, __FILE__, __LINE__)
#define M3_CUDA_CHECK_LAUNCH() M3_CUDA_CHECK(cudaGetLastError())

constexpr int kScoreThreads = 256;     // 8 warps
constexpr int kScoreMaxRows = 128;     // (query, index head) rows per small (mma.sync) score CTA
constexpr int kScoreWideThreads = 512; // 4 warpgroups
constexpr int kScoreWideRows = 256;    // rows per full (wgmma) score CTA: one 64-row tile per group
constexpr int kAttentionThreads = 128; // 4 warps, one query (x 16 heads) each at a time
constexpr int kDenseQueriesPerCta = kAttentionThreads / 32;
constexpr int kK2qQueriesPerCta = 384;             // queries gathered per CTA for one KV block
constexpr int kEdgeParts = kAttentionThreads / 32; // decode edge: one warp per quarter block
constexpr int kTopkPerThread = 8; // candidate blocks held in registers per top-k thread

struct ScoreParams {
  const void *index_keys = nullptr;       // [num_pages, 128, 128] bf16 or e4m3
  const __nv_bfloat16 *index_q = nullptr; // [num_queries, num_heads, 128]
  const int32_t *page_tables = nullptr;   // [num_sequences, page_table_stride]
  int32_t page_table_stride = 0;
  const int32_t *query_position = nullptr; // [num_queries]
  const IndexerWork *work = nullptr;       // [grid]
  int num_heads = 0;
  float *block_scores = nullptr; // [num_queries, num_heads, score_stride]
  int32_t score_stride = 0;
};
// max_rows: the most (query, head) rows of any work item; beyond kScoreMaxRows / 2 (prefill) the
// items hold up to kScoreWideRows rows and run on wgmma.
void launch_score_blocks(const ScoreParams &params, IndexKeyType type, int num_work, int max_rows,
                         cudaStream_t stream);

struct TopkParams {
  const float *block_scores = nullptr; // [num_rows, score_stride]
  int32_t score_stride = 0;
  const int32_t *query_position = nullptr; // [num_queries]
  int num_heads = 0;                       // rows = num_queries * num_heads
  int32_t num_rows = 0;
  int32_t *selected = nullptr; // [num_rows, 16]
};
void launch_topk(const TopkParams &params, int32_t max_candidates, cudaStream_t stream);

enum class AttentionMode { kDense, kSparseEdges };

struct AttentionParams {
  const __nv_bfloat16 *keys = nullptr;   // [num_pages, num_kv_heads, 128, 128]
  const __nv_bfloat16 *values = nullptr; // [num_pages, num_kv_heads, 128, 128]
  const __nv_bfloat16 *q = nullptr;      // [num_queries, 16 * num_kv_heads, 128]
  int num_kv_heads = 0;
  const int32_t *page_tables = nullptr; // [num_sequences, page_table_stride]
  int32_t page_table_stride = 0;
  const int32_t *query_sequence = nullptr; // [num_queries]
  const int32_t *query_position = nullptr; // [num_queries]
  const int32_t *kv_lens = nullptr;        // [num_sequences]
  float scale_log2 = 0;                    // softmax scale * log2(e)
  const DenseWork *dense_work = nullptr;   // kDense: [grid]
  const int32_t *selected = nullptr;       // kSparseEdges: [num_queries, num_kv_heads, 16]
  // KV-block-major prefill (launch_k2q_attention): the inverted selection, rows = (kv_head,
  // global block) pairs.
  const int32_t *k2q_row_start = nullptr; // [num_rows + 1]
  const int32_t *k2q_cta_start = nullptr; // [num_rows + 1]
  const int32_t *k2q_entries = nullptr;   // [edges]: query * 16 + slot
  const int32_t *block_offset = nullptr;  // [num_sequences + 1]
  int32_t num_sequences = 0;
  int32_t total_blocks = 0;
  // Outputs: final (slot -1) or partial.
  __nv_bfloat16 *out = nullptr;       // [num_queries, 16 * num_kv_heads, 128]
  float *lse = nullptr;               // optional [num_queries, 16 * num_kv_heads]
  __nv_bfloat16 *partial_o = nullptr; // [num_queries, 16 * num_kv_heads, num_slots, 128]
  float *partial_lse = nullptr;       // [num_queries, 16 * num_kv_heads, num_slots]
  int num_slots = 0;
};
void launch_attention(AttentionMode mode, const AttentionParams &params, int32_t grid,
                      cudaStream_t stream);
// KV-block-major sparse attention (prefill) on wgmma: grid = an upper bound of the CSR's CTAs.
void launch_k2q_attention(const AttentionParams &params, int32_t grid, cudaStream_t stream);

// Merges the partials of each (query, head): slots s < min(num_slots, qb / blocks_per_slot + 1)
// are valid (qb = the query's local block).
struct CombineParams {
  const __nv_bfloat16 *partial_o = nullptr; // [num_queries, num_heads, num_slots, 128]
  const float *partial_lse = nullptr;       // [num_queries, num_heads, num_slots]
  const int32_t *query_position = nullptr;  // [num_queries]
  int32_t num_queries = 0;
  int num_heads = 0;
  int num_slots = 0;
  int blocks_per_slot = 0;
  __nv_bfloat16 *out = nullptr; // [num_queries, num_heads, 128]
  float *lse = nullptr;         // optional [num_queries, num_heads]
};
void launch_combine(const CombineParams &params, cudaStream_t stream);

struct K2qParams {
  const int32_t *selected = nullptr;       // [num_queries, num_kv_heads, 16]
  const int32_t *query_sequence = nullptr; // [num_queries]
  const int32_t *block_offset = nullptr;   // [num_sequences + 1]
  int32_t num_queries = 0;
  int num_kv_heads = 0;
  int32_t total_blocks = 0;
  int32_t *counts = nullptr;    // [num_kv_heads * total_blocks]
  int32_t *row_start = nullptr; // [num_kv_heads * total_blocks + 1]
  int32_t *cta_start = nullptr; // [num_kv_heads * total_blocks + 1]
  int32_t *cursor = nullptr;    // [num_kv_heads * total_blocks]
  int32_t *entries = nullptr;   // [num_queries * num_kv_heads * 16]
};
void launch_k2q(const K2qParams &params, cudaStream_t stream);

} // namespace m3::cuda::detail
