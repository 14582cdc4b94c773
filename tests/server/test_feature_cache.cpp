// The server's cache of vision features: the same preprocessed media computes once, any change
// to the pixels (or the kind) computes again, and the least recently used entries leave first
// when the byte capacity is exceeded.
#include <gtest/gtest.h>

#include <random>

#include "server/feature_cache.h"

namespace m3::server {
namespace {

vision::MediaInput random_media(std::mt19937 &rng) {
  vision::MediaInput media;
  media.patches.grid_t = 1;
  media.patches.grid_h = 2;
  media.patches.grid_w = 2;
  media.patches.rows.resize(4 * vision::kPatchValues);
  for (float &v : media.patches.rows)
    v = float(rng() % 1000) / 500.0f - 1.0f;
  return media;
}

TEST(FeatureCache, SameMediaComputeOnceAndChangesComputeAgain) {
  std::mt19937 rng(std::random_device{}());
  FeatureCache cache(1 << 20);
  int computed = 0;
  auto compute = [&] {
    ++computed;
    return std::vector<float>(8, float(computed));
  };
  const vision::MediaInput a = random_media(rng);
  const auto first = cache.get(a, compute);
  const auto again = cache.get(a, compute);
  EXPECT_EQ(computed, 1);
  EXPECT_EQ(*again, *first);
  vision::MediaInput pixel = a;
  pixel.patches.rows[rng() % pixel.patches.rows.size()] += 0.25f;
  EXPECT_EQ(*cache.get(pixel, compute), std::vector<float>(8, 2.0f));
  vision::MediaInput video = a;
  video.kind = vision::MediaKind::kVideo;
  cache.get(video, compute);
  EXPECT_EQ(computed, 3);
  EXPECT_EQ(cache.hits(), 1);
  EXPECT_EQ(cache.misses(), 3);
}

TEST(FeatureCache, EvictsLeastRecentlyUsed) {
  std::mt19937 rng(std::random_device{}());
  FeatureCache cache(2 * 8 * sizeof(float)); // room for two entries of 8 floats
  int computed = 0;
  auto compute = [&] {
    ++computed;
    return std::vector<float>(8, 0.0f);
  };
  const vision::MediaInput a = random_media(rng), b = random_media(rng), c = random_media(rng);
  cache.get(a, compute);
  cache.get(b, compute);
  cache.get(a, compute); // a is now the most recent
  cache.get(c, compute); // evicts b
  EXPECT_EQ(computed, 3);
  cache.get(a, compute);
  EXPECT_EQ(computed, 3);
  cache.get(b, compute);
  EXPECT_EQ(computed, 4);
}

} // namespace
} // namespace m3::server
