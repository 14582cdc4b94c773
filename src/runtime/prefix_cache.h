#pragma once
// Prefix caching of full KV pages. Page i of a sequence is keyed by a hash chain over token ids:
// key_i = xxh64(tokens of page i, seed = key_{i-1}), so a key names the whole prefix up to the end
// of that page. A page holding vision features also mixes in a hash of those features: identical
// placeholder ids with different images must never share KV. Cached pages stay resident after their
// last user releases them and are evicted least-recently-released first when the allocator runs out
// of free pages.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "model/forward_batch.h"
#include "runtime/page_allocator.h"

namespace m3 {

class PrefixCache {
public:
  PrefixCache(PageAllocator &allocator, int block_size);
  PrefixCache(const PrefixCache &) = delete;
  PrefixCache &operator=(const PrefixCache &) = delete;

  static constexpr uint64_t kRootKey = 0x6d33; // seed of the first page's key
  // media: the page's media hash (page_media_hashes), 0 when it holds only tokens.
  static uint64_t chain_key(uint64_t parent_key, const int32_t *tokens, int count,
                            uint64_t media = 0);
  // Per page of block_size prompt positions: a hash of the embedding rows it holds, 0 for a page
  // without any.
  static std::vector<uint64_t> page_media_hashes(const PromptEmbeddings &embeddings,
                                                 int block_size);

  // The longest run of cached pages that starts the token sequence, at most max_pages long;
  // page_media as from page_media_hashes (may be shorter: missing pages hold no media).
  // Each returned page is retained for the caller; keys receives their chain keys.
  std::vector<int32_t> match(const std::vector<int32_t> &tokens, int max_pages,
                             std::vector<uint64_t> &keys,
                             const std::vector<uint64_t> &page_media = {});
  // Offers a freshly filled page (tokens = its block_size token ids) under key. A key that is
  // already cached keeps its existing page.
  void insert(uint64_t key, int32_t page, const int32_t *tokens, uint64_t media = 0);

  // Counted in tokens, as vLLM does: queries = prompt tokens looked up, hits = tokens found.
  int64_t query_tokens() const { return query_tokens_; }
  int64_t hit_tokens() const { return hit_tokens_; }
  int32_t num_cached_pages() const { return int32_t(entries_.size()); }

private:
  struct Entry {
    int32_t page;
    std::vector<int32_t> tokens; // verified on lookup, so a 64-bit collision cannot alias
    uint64_t media;              // verified too (the features themselves are not kept)
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
