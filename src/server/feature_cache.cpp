#include "server/feature_cache.h"

#include <xxhash.h>

namespace m3::server {

FeatureCache::Key FeatureCache::key_of(const vision::MediaInput &media) {
  const vision::VisionPatches &p = media.patches;
  const int32_t shape[4] = {int32_t(media.kind), p.grid_t, p.grid_h, p.grid_w};
  XXH3_state_t *state = XXH3_createState();
  XXH3_128bits_reset(state);
  XXH3_128bits_update(state, shape, sizeof shape);
  XXH3_128bits_update(state, p.rows.data(), p.rows.size() * sizeof(float));
  const XXH128_hash_t hash = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return {hash.low64, hash.high64};
}

FeatureCache::Features FeatureCache::get(const vision::MediaInput &media,
                                         const std::function<std::vector<float>()> &compute) {
  const Key key = key_of(media);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      ++hits_;
      return it->second->second;
    }
    ++misses_;
  }
  auto features = std::make_shared<const std::vector<float>>(compute()); // outside the lock
  insert(key, features);
  return features;
}

void FeatureCache::insert(const Key &key, Features features) {
  const size_t size = features->size() * sizeof(float);
  std::lock_guard<std::mutex> lock(mutex_);
  if (size > capacity_bytes_ || entries_.count(key))
    return;
  order_.emplace_front(key, std::move(features));
  entries_.emplace(key, order_.begin());
  bytes_ += size;
  while (bytes_ > capacity_bytes_) {
    bytes_ -= order_.back().second->size() * sizeof(float);
    entries_.erase(order_.back().first);
    order_.pop_back();
  }
}

int64_t FeatureCache::hits() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return hits_;
}

int64_t FeatureCache::misses() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return misses_;
}

} // namespace m3::server
