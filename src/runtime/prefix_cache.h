#pragma once
// Prefix caching of full KV pages. Page i of a sequence is keyed by a hash chain over token ids:
// key_i = xxh64(tokens of page i, seed = key_{i-1}), so a key names the whole prefix up to the end
// of that page. Cached pages stay resident after their last user releases them and are evicted
// least-recently-released first when the allocator runs out of free pages.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "runtime/page_allocator.h"

namespace m3 {

class PrefixCache {
public:
  PrefixCache(PageAllocator &allocator, int block_size);
  PrefixCache(const PrefixCache &) = delete;
  PrefixCache &operator=(const PrefixCache &) = delete;

  static constexpr uint64_t kRootKey = 0x6d33; // seed of the first page's key
  static uint64_t chain_key(uint64_t parent_key, const int32_t *tokens, int count);

  // The longest run of cached pages that starts the token sequence, at most max_pages long.
  // Each returned page is retained for the caller; keys receives their chain keys.
  std::vector<int32_t> match(const std::vector<int32_t> &tokens, int max_pages,
                             std::vector<uint64_t> &keys);
  // Offers a freshly filled page (tokens = its block_size token ids) under key. A key that is
  // already cached keeps its existing page.
  void insert(uint64_t key, int32_t page, const int32_t *tokens);

  // Counted in tokens, as vLLM does: queries = prompt tokens looked up, hits = tokens found.
  int64_t query_tokens() const { return query_tokens_; }
  int64_t hit_tokens() const { return hit_tokens_; }
  int32_t num_cached_pages() const { return int32_t(entries_.size()); }

private:
  struct Entry {
    int32_t page;
    std::vector<int32_t> tokens; // verified on lookup, so a 64-bit collision cannot alias
  };
  void forget_page(int32_t page);

  PageAllocator &allocator_;
  int block_size_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::unordered_map<int32_t, uint64_t> key_of_page_;
  int64_t query_tokens_ = 0;
  int64_t hit_tokens_ = 0;
};

} // namespace m3
