#include "runtime/prefix_cache.h"

#include <algorithm>
#include <xxhash.h>

namespace m3 {

PrefixCache::PrefixCache(PageAllocator &allocator, int block_size)
    : allocator_(allocator), block_size_(block_size) {
  allocator_.set_eviction_callback([this](int32_t page) { forget_page(page); });
}

uint64_t PrefixCache::chain_key(uint64_t parent_key, const int32_t *tokens, int count) {
  return XXH64(tokens, size_t(count) * sizeof(int32_t), parent_key);
}

std::vector<int32_t> PrefixCache::match(const std::vector<int32_t> &tokens, int max_pages,
                                        std::vector<uint64_t> &keys) {
  std::vector<int32_t> pages;
  keys.clear();
  query_tokens_ += int64_t(tokens.size());
  uint64_t key = kRootKey;
  for (int i = 0; i < max_pages && int64_t(i + 1) * block_size_ <= int64_t(tokens.size()); ++i) {
    const int32_t *page_tokens = tokens.data() + int64_t(i) * block_size_;
    key = chain_key(key, page_tokens, block_size_);
    auto it = entries_.find(key);
    if (it == entries_.end() ||
        !std::equal(it->second.tokens.begin(), it->second.tokens.end(), page_tokens))
      break;
    allocator_.retain(it->second.page);
    pages.push_back(it->second.page);
    keys.push_back(key);
  }
  hit_tokens_ += int64_t(pages.size()) * block_size_;
  return pages;
}

void PrefixCache::insert(uint64_t key, int32_t page, const int32_t *tokens) {
  if (entries_.count(key) || key_of_page_.count(page))
    return;
  entries_.emplace(key, Entry{page, std::vector<int32_t>(tokens, tokens + block_size_)});
  key_of_page_.emplace(page, key);
  allocator_.set_cached(page, true);
}

void PrefixCache::forget_page(int32_t page) {
  auto it = key_of_page_.find(page);
  if (it == key_of_page_.end())
    return;
  entries_.erase(it->second);
  key_of_page_.erase(it);
}

} // namespace m3
