// Page allocator refcounts/free list and the prefix cache's hash chain, hits and LRU eviction.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "runtime/page_allocator.h"
#include "runtime/prefix_cache.h"

namespace m3 {
namespace {

std::vector<int32_t> random_tokens(std::mt19937 &rng, int count) {
  std::uniform_int_distribution<int32_t> dist(0, 50000);
  std::vector<int32_t> tokens(count);
  for (auto &t : tokens)
    t = dist(rng);
  return tokens;
}

TEST(PageAllocator, HandsOutEveryPageOnceAndTakesThemBack) {
  PageAllocator allocator(5);
  std::set<int32_t> pages;
  for (int i = 0; i < 5; ++i) {
    auto page = allocator.allocate();
    ASSERT_TRUE(page.has_value());
    EXPECT_TRUE(pages.insert(*page).second);
    EXPECT_EQ(allocator.refcount(*page), 1);
  }
  EXPECT_FALSE(allocator.allocate().has_value());
  EXPECT_EQ(allocator.num_in_use(), 5);
  allocator.retain(2);
  allocator.release(2);
  EXPECT_EQ(allocator.num_available(), 0); // still referenced once
  allocator.release(2);
  EXPECT_EQ(allocator.num_free(), 1);
  EXPECT_EQ(allocator.allocate().value(), 2);
  allocator.release(4);
  EXPECT_THROW(allocator.release(4), std::logic_error) << "release below zero must throw";
}

TEST(PageAllocator, CachedPagesAreEvictedOldestReleaseFirst) {
  PageAllocator allocator(3);
  std::vector<int32_t> evicted;
  allocator.set_eviction_callback([&](int32_t page) { evicted.push_back(page); });
  for (int i = 0; i < 3; ++i)
    allocator.allocate();
  for (int32_t page : {1, 0, 2}) {
    allocator.set_cached(page, true);
    allocator.release(page);
  }
  EXPECT_EQ(allocator.num_free(), 0);
  EXPECT_EQ(allocator.num_available(), 3);
  allocator.retain(0); // a cache hit takes page 0 out of the eviction order
  EXPECT_EQ(allocator.allocate().value(), 1);
  EXPECT_EQ(allocator.allocate().value(), 2);
  EXPECT_FALSE(allocator.allocate().has_value());
  EXPECT_EQ(evicted, (std::vector<int32_t>{1, 2}));
  EXPECT_FALSE(allocator.is_cached(1));
}

TEST(PrefixCache, MatchesTheLongestCachedRunOfFullPages) {
  std::mt19937 rng(std::random_device{}());
  const int block = 4;
  PageAllocator allocator(16);
  PrefixCache cache(allocator, block);
  std::vector<int32_t> first = random_tokens(rng, 3 * block + 1);
  // Fill three pages as a sequence would and offer them to the cache.
  std::vector<int32_t> pages;
  uint64_t key = PrefixCache::kRootKey;
  for (int i = 0; i < 3; ++i) {
    pages.push_back(allocator.allocate().value());
    key = PrefixCache::chain_key(key, first.data() + i * block, block);
    cache.insert(key, pages.back(), first.data() + i * block);
  }
  for (int32_t page : pages)
    allocator.release(page);
  EXPECT_EQ(allocator.num_in_use(), 0);
  EXPECT_EQ(cache.num_cached_pages(), 3);

  // Same first two pages, different third page.
  std::vector<int32_t> second(first.begin(), first.begin() + 2 * block);
  std::vector<int32_t> tail = random_tokens(rng, block + 3);
  second.insert(second.end(), tail.begin(), tail.end());
  second[2 * block] = first[2 * block] + 1; // make sure page 2 differs
  std::vector<uint64_t> keys;
  std::vector<int32_t> hit = cache.match(second, 10, keys);
  EXPECT_EQ(hit, (std::vector<int32_t>{pages[0], pages[1]}));
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_EQ(allocator.refcount(pages[0]), 1);
  EXPECT_EQ(cache.hit_tokens(), 2 * block);
  EXPECT_EQ(cache.query_tokens(), int64_t(second.size()));

  // max_pages bounds the match; a different first token misses entirely.
  EXPECT_EQ(cache.match(first, 1, keys).size(), 1u);
  std::vector<int32_t> other = first;
  other[0] += 1;
  EXPECT_TRUE(cache.match(other, 10, keys).empty());
}

TEST(PrefixCache, EvictedPagesAreForgotten) {
  std::mt19937 rng(std::random_device{}());
  const int block = 2;
  PageAllocator allocator(2);
  PrefixCache cache(allocator, block);
  std::vector<int32_t> tokens = random_tokens(rng, 2 * block);
  uint64_t key = PrefixCache::kRootKey;
  for (int i = 0; i < 2; ++i) {
    int32_t page = allocator.allocate().value();
    key = PrefixCache::chain_key(key, tokens.data() + i * block, block);
    cache.insert(key, page, tokens.data() + i * block);
    allocator.release(page);
  }
  allocator.allocate(); // evicts the first released page (the first block)
  std::vector<uint64_t> keys;
  EXPECT_TRUE(cache.match(tokens, 2, keys).empty()) << "chain broken at the evicted first page";
  EXPECT_EQ(cache.num_cached_pages(), 1);
}

} // namespace
} // namespace m3
