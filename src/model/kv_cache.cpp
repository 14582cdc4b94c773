#include "model/kv_cache.h"

#include "core/error.h"

namespace m3 {

namespace {
// Page size when a model has no sparse layers (and so no MSA block size of its own).
constexpr int kDefaultPageSize = 128;
} // namespace

int kv_page_size(const ModelConfig &config) {
  return config.index_block_size > 0 ? config.index_block_size : kDefaultPageSize;
}

KvCache::KvCache(const ModelConfig &config, int32_t num_pages)
    : num_pages_(num_pages), block_size_(kv_page_size(config)), num_kv_heads_(config.num_kv_heads),
      head_dim_(config.head_dim), index_head_dim_(config.index_head_dim) {
  require(num_pages > 0, "KV cache needs at least one page");
  const size_t kv_elems = size_t(num_pages) * num_kv_heads_ * block_size_ * head_dim_;
  const size_t index_elems = size_t(num_pages) * block_size_ * index_head_dim_;
  keys_.resize(config.num_layers);
  values_.resize(config.num_layers);
  index_keys_.resize(config.num_layers);
  for (int layer = 0; layer < config.num_layers; ++layer) {
    keys_[layer].assign(kv_elems, 0.0f);
    values_[layer].assign(kv_elems, 0.0f);
    if (config.attention_kinds[layer] == AttentionKind::kSparse)
      index_keys_[layer].assign(index_elems, 0.0f);
  }
}

int64_t KvCache::bytes() const {
  int64_t total = 0;
  for (size_t layer = 0; layer < keys_.size(); ++layer)
    total += int64_t(keys_[layer].size() + values_[layer].size() + index_keys_[layer].size());
  return total * int64_t(sizeof(float));
}

float *KvCache::keys(int layer, int32_t page) {
  return keys_[layer].data() + size_t(page) * num_kv_heads_ * block_size_ * head_dim_;
}

float *KvCache::values(int layer, int32_t page) {
  return values_[layer].data() + size_t(page) * num_kv_heads_ * block_size_ * head_dim_;
}

float *KvCache::index_keys(int layer, int32_t page) {
  if (index_keys_[layer].empty())
    return nullptr;
  return index_keys_[layer].data() + size_t(page) * block_size_ * index_head_dim_;
}

} // namespace m3
