#pragma once
// The paged KV cache shared by every backend (design.md §0): pages of block_size tokens
// (= one MSA block). Each page holds, per layer, K and V of every KV head and, in sparse layers,
// the index key. Page ownership (allocation, refcounts, prefix sharing) lives in the runtime;
// this class is only the storage. The CPU reference keeps float32.
#include <cstdint>
#include <vector>

#include "model/config.h"

namespace m3 {

// Tokens per page: the model's MSA block size (128 when it has no sparse layers).
int kv_page_size(const ModelConfig &config);

class KvCache {
public:
  KvCache(const ModelConfig &config, int32_t num_pages);

  int32_t num_pages() const { return num_pages_; }
  int block_size() const { return block_size_; }
  int64_t bytes() const;

  // [num_kv_heads, block_size, head_dim] for (layer, page).
  float *keys(int layer, int32_t page);
  float *values(int layer, int32_t page);
  // [block_size, index_head_dim] for (layer, page); sparse layers only.
  float *index_keys(int layer, int32_t page);

private:
  int32_t num_pages_;
  int block_size_;
  int num_kv_heads_;
  int head_dim_;
  int index_head_dim_;
  std::vector<std::vector<float>> keys_, values_, index_keys_; // [layer][page * page_elems]
};

} // namespace m3
