#pragma once
// Vision features of recently seen media, keyed by a 128-bit hash of the preprocessed patches
// (kind and grid included): a chat that sends the same image every turn runs the tower once.
// Shared by the HTTP threads; least recently used entries go first when over capacity.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "vision/multimodal.h"

namespace m3::server {

class FeatureCache {
public:
  explicit FeatureCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  using Features = std::shared_ptr<const std::vector<float>>;
  // The cached features of media, or compute()'s (then cached). Two threads that miss at once
  // both compute; the results are equal.
  Features get(const vision::MediaInput &media, const std::function<std::vector<float>()> &compute);

  int64_t hits() const;
  int64_t misses() const;

private:
  struct Key {
    uint64_t low, high;
    bool operator==(const Key &) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key &key) const { return size_t(key.low); }
  };
  static Key key_of(const vision::MediaInput &media);
  void insert(const Key &key, Features features);

  size_t capacity_bytes_;
  mutable std::mutex mutex_;
  std::list<std::pair<Key, Features>> order_; // most recently used first
  std::unordered_map<Key, std::list<std::pair<Key, Features>>::iterator, KeyHash> entries_;
  size_t bytes_ = 0;
  int64_t hits_ = 0;
  int64_t misses_ = 0;
};

} // namespace m3::server
