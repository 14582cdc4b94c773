#include "runtime/prefix_cache.h"

#include <algorithm>
#include <xxhash.h>

namespace m3 {

PrefixCache::PrefixCache(PageAllocator &allocator, int block_size)
    : allocator_(allocator), block_size_(block_size) {
  allocator_.set_eviction_callback([this](int32_t page) { forget_page(page); });
}

uint64_t PrefixCache::chain_key(uint64_t parent_key, const int32_t *tokens, int count,
                                uint64_t media) {
  const uint64_t key = XXH64(tokens, size_t(count) * sizeof(int32_t), parent_key);
  return media == 0 ? key : XXH64(&media, sizeof media, key);
}

std::vector<uint64_t> PrefixCache::page_media_hashes(const PromptEmbeddings &embeddings,
                                                     int block_size) {
  std::vector<uint64_t> hashes;
  const size_t hidden = size_t(embeddings.hidden);
  const std::vector<int32_t> &positions = embeddings.positions;
  for (size_t k = 0; k < positions.size();) {
    const size_t page = size_t(positions[k] / block_size);
    hashes.resize(page + 1, 0);
    XXH64_state_t *state = XXH64_createState();
    XXH64_reset(state, 0);
    for (; k < positions.size() && size_t(positions[k] / block_size) == page; ++k) {
      XXH64_update(state, &positions[k], sizeof positions[k]);
      XXH64_update(state, &embeddings.rows[k * hidden], hidden * sizeof(float));
    }
    const uint64_t hash = XXH64_digest(state);
    XXH64_freeState(state);
    hashes[page] = hash == 0 ? 1 : hash; // 0 means "no media"
  }
  return hashes;
}

std::vector<int32_t> PrefixCache::match(const std::vector<int32_t> &tokens, int max_pages,
                                        std::vector<uint64_t> &keys,
                                        const std::vector<uint64_t> &page_media) {
  std::vector<int32_t> pages;
  keys.clear();
  query_tokens_ += int64_t(tokens.size());
  uint64_t key = kRootKey;
  for (int i = 0; i < max_pages && int64_t(i + 1) * block_size_ <= int64_t(tokens.size()); ++i) {
    const int32_t *page_tokens = tokens.data() + int64_t(i) * block_size_;
    const uint64_t media = size_t(i) < page_media.size() ? page_media[i] : 0;
    key = chain_key(key, page_tokens, block_size_, media);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.media != media ||
        !std::equal(it->second.tokens.begin(), it->second.tokens.end(), page_tokens))
      break;
    allocator_.retain(it->second.page);
    pages.push_back(it->second.page);
    keys.push_back(key);
  }
  hit_tokens_ += int64_t(pages.size()) * block_size_;
  return pages;
}

void PrefixCache::insert(uint64_t key, int32_t page, const int32_t *tokens, uint64_t media) {
  if (entries_.count(key) || key_of_page_.count(page))
    return;
  entries_.emplace(key, Entry{page, std::vector<int32_t>(tokens, tokens + block_size_), media});
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
