// Hostile inputs: damaged copies (corrupt_media.h) of valid PNG, JPEG, WebP and GIF files (fresh
// random seed each run, printed on failure). Every attempt must either decode to an image inside
// the limits or throw m3::Error — never crash, hang or throw anything else.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "corrupt_media.h"
#include "fixture_files.h"
#include "vision/image_decode.h"
#include "vision/preprocess.h"

namespace m3::vision {
namespace {

TEST(DecodeFuzz, CorruptImagesAreErrorsNeverCrashes) {
  const auto dir = m3::test::vision_fixtures() / "preprocess";
  const char *files[] = {
      "decode.png", "decode.jpg",      "decode.lossless.webp",    "decode.lossy.webp",
      "decode.gif", "decode.anim.gif", "photo0_crop40x30_min.png"};
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  MediaLimits limits;
  limits.max_pixels = 1 << 20;
  limits.max_side = 4096;
  int decoded = 0, rejected = 0;
  for (const char *file : files) {
    const std::vector<uint8_t> valid = m3::test::read_bytes(dir / file);
    ASSERT_NO_THROW(decode_image(valid, limits)) << file;
    for (int attempt = 0; attempt < 300; ++attempt) {
      const std::vector<uint8_t> bytes = m3::test::corrupt_copy(valid, rng);
      try {
        const RgbImage image = decode_image(bytes, limits);
        ASSERT_GT(image.width, 0);
        ASSERT_LE(int64_t(image.width) * image.height, limits.max_pixels);
        ASSERT_EQ(image.pixels.size(), size_t(image.width) * image.height * 3);
        preprocess_image(image); // whatever decodes must also preprocess (or be an m3::Error)
        ++decoded;
      } catch (const m3::Error &) {
        ++rejected;
      } catch (const std::exception &e) {
        FAIL() << file << " seed " << seed << " attempt " << attempt << ": " << e.what();
      }
    }
  }
  EXPECT_GT(rejected, 100) << "seed " << seed; // the mutations do reach the error paths
  EXPECT_GT(decoded, 10) << "seed " << seed;   // and some bit flips only change pixels
}

} // namespace
} // namespace m3::vision
