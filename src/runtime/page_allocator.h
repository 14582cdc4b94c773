#pragma once
// Reference-counted KV pages (one page = block_size tokens = one MSA block). A page whose count
// drops to zero goes back to the free list, unless it is marked cached: then it stays resident
// (least recently released first) until allocate() needs it and evicts it.
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <vector>

namespace m3 {

class PageAllocator {
public:
  explicit PageAllocator(int32_t num_pages);

  int32_t num_pages() const { return int32_t(refcounts_.size()); }
  int32_t num_free() const { return int32_t(free_.size()); }
  // Free pages plus unreferenced cached pages (what allocate() can hand out).
  int32_t num_available() const { return num_free() + int32_t(evictable_.size()); }
  int32_t num_in_use() const { return num_pages() - num_available(); }
  int32_t refcount(int32_t page) const { return refcounts_.at(page); }

  // A page with refcount 1, or nullopt when every page is referenced. Evicting a cached page
  // calls the eviction callback first so the cache forgets it.
  std::optional<int32_t> allocate();
  void retain(int32_t page);
  void release(int32_t page);
  // Cached pages outlive their last reference; uncaching an unreferenced page frees it.
  void set_cached(int32_t page, bool cached);
  bool is_cached(int32_t page) const { return cached_.at(page); }
  void set_eviction_callback(std::function<void(int32_t)> on_evict) {
    on_evict_ = std::move(on_evict);
  }

private:
  std::vector<int32_t> refcounts_;
  std::vector<bool> cached_;
  std::vector<int32_t> free_;
  std::list<int32_t> evictable_; // unreferenced cached pages, oldest release first
  std::vector<std::list<int32_t>::iterator> evictable_pos_;
  std::vector<bool> in_evictable_;
  std::function<void(int32_t)> on_evict_;
};

} // namespace m3
