#include "runtime/page_allocator.h"

#include <stdexcept>

namespace m3 {

PageAllocator::PageAllocator(int32_t num_pages)
    : refcounts_(num_pages, 0), cached_(num_pages, false), evictable_pos_(num_pages),
      in_evictable_(num_pages, false) {
  if (num_pages <= 0)
    throw std::invalid_argument("PageAllocator needs at least one page");
  free_.reserve(num_pages);
  // Hand out low page ids first (pop_back).
  for (int32_t page = num_pages - 1; page >= 0; --page)
    free_.push_back(page);
}

std::optional<int32_t> PageAllocator::allocate() {
  int32_t page;
  if (!free_.empty()) {
    page = free_.back();
    free_.pop_back();
  } else if (!evictable_.empty()) {
    page = evictable_.front();
    evictable_.pop_front();
    in_evictable_[page] = false;
    cached_[page] = false;
    if (on_evict_)
      on_evict_(page);
  } else {
    return std::nullopt;
  }
  refcounts_[page] = 1;
  return page;
}

void PageAllocator::retain(int32_t page) {
  if (refcounts_.at(page) == 0) {
    if (!in_evictable_[page])
      throw std::logic_error("retain of a free page");
    evictable_.erase(evictable_pos_[page]);
    in_evictable_[page] = false;
  }
  ++refcounts_[page];
}

void PageAllocator::release(int32_t page) {
  if (refcounts_.at(page) <= 0)
    throw std::logic_error("release of an unreferenced page");
  if (--refcounts_[page] > 0)
    return;
  if (cached_[page]) {
    evictable_pos_[page] = evictable_.insert(evictable_.end(), page);
    in_evictable_[page] = true;
  } else {
    free_.push_back(page);
  }
}

void PageAllocator::set_cached(int32_t page, bool cached) {
  if (cached_.at(page) == cached)
    return;
  cached_[page] = cached;
  if (!cached && in_evictable_[page]) {
    evictable_.erase(evictable_pos_[page]);
    in_evictable_[page] = false;
    free_.push_back(page);
  }
}

} // namespace m3
