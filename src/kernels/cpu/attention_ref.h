#pragma once
// CPU reference of the attention-family ops over the paged KV cache: dense causal GQA attention,
// the MSA indexer (token scores, causal block max, forced local block, top-k) and MSA sparse
// attention. float32 throughout. The CPU backend runs these; CUDA kernel tests compare against
// them. Semantics: shared m3-model.md §4, contract: msa-kernels.md §1.
#include <cstdint>

namespace m3::cpu {

// One sequence's view of one layer's paged cache. Logical block b holds absolute positions
// [b * block_size, (b + 1) * block_size) and lives in physical page page_table[b].
struct PagedKv {
  const float* keys = nullptr;        // [num_pages, num_kv_heads, block_size, head_dim]
  const float* values = nullptr;      // [num_pages, num_kv_heads, block_size, head_dim]
  const float* index_keys = nullptr;  // [num_pages, block_size, index_head_dim]; sparse layers
  const int32_t* page_table = nullptr;  // [ceil(kv_len / block_size)]
  int32_t kv_len = 0;                 // tokens written for this sequence (cached + this step)
  int block_size = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int index_head_dim = 0;
};

// MSA indexer for num_queries query tokens of one sequence. Query t at absolute position
// positions[t] (< kv_len) scores every visible index key j <= positions[t]; each block's score is
// the max over its visible keys; the local block(s) are forced; the top min(topk_blocks, qb + 1)
// blocks are kept per (token, index head). Output order (msa-kernels.md §1.3): valid entries
// first, historical blocks by descending score (ties: lower block id first), the local block
// last, then -1 padding. With local_blocks > 1 the forced blocks close the row in ascending order
// (..., qb - 1, qb); forced blocks never exceed the row's min(topk_blocks, qb + 1) entries (the
// newest are kept).
struct MsaSelectParams {
  const float* index_q = nullptr;     // [num_queries, num_index_heads, index_head_dim]
  const int32_t* positions = nullptr; // [num_queries]
  int num_queries = 0;
  int num_index_heads = 0;            // = num_kv_heads: one index head per GQA group
  int topk_blocks = 0;
  int local_blocks = 1;               // blocks qb, qb-1, ..., qb-local_blocks+1 are forced
  int32_t* selected = nullptr;        // out [num_queries, num_index_heads, topk_blocks]
};
void msa_select(const PagedKv& kv, const MsaSelectParams& params);

// Softmax attention of num_queries query tokens of one sequence. Query t attends to keys
// j <= positions[t]: all of them (selected == nullptr: dense causal) or only those in the blocks
// selected[t, kv_head, :] (MSA). q head h reads kv head h / (num_heads / num_kv_heads).
struct AttentionParams {
  const float* q = nullptr;           // [num_queries, num_heads, head_dim]
  const int32_t* positions = nullptr; // [num_queries]
  int num_queries = 0;
  int num_heads = 0;
  float scale = 0;                    // softmax scale, 1/sqrt(head_dim) for M3
  const int32_t* selected = nullptr;  // optional [num_queries, num_kv_heads, topk_blocks], -1 pad
  int topk_blocks = 0;
  float* out = nullptr;               // [num_queries, num_heads, head_dim]
  float* lse = nullptr;               // optional [num_queries, num_heads], natural log
};
void paged_attention(const PagedKv& kv, const AttentionParams& params);

}  // namespace m3::cpu
