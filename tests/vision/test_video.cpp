// Video input: an MP4 (MPEG-4 Part 2) and, where the encoder exists, a WebM (VP8) are written
// here with FFmpeg's libraries from known frames; decode_video must sample them at 1 fps (frame
// indices from the sampling rule, timestamps index / fps) and return frames close to the
// originals (lossy codecs: compared by mean absolute difference, and each sampled frame must be
// closer to its source frame than to any other). Corrupt videos are m3::Error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "core/error.h"
#include "corrupt_media.h"
#include "fixture_files.h"
#include "video_writer.h"
#include "vision/multimodal.h"
#include "vision/video_decode.h"

namespace m3::vision {
namespace {

using test::kFps;
using test::kFrames;
using test::kHeight;
using test::kWidth;
using test::source_frame;
using test::write_video;

double mean_abs_diff(const RgbImage &a, const RgbImage &b) {
  double total = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i)
    total += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
  return total / a.pixels.size();
}

TEST(Video, SamplingRule) {
  // 16 frames at 4 fps = 4 s -> 4 frames at 1 fps: rounded linspace over [0, 15].
  EXPECT_EQ(sample_frame_indices(16, 4.0, {}), (std::vector<int64_t>{0, 5, 10, 15}));
  // 120 s at 30 fps -> 120 frames, even.
  EXPECT_EQ(sample_frame_indices(3600, 30.0, {}).size(), 120u);
  // Short clips still give min_frames (4), bounded by the frames there are.
  EXPECT_EQ(sample_frame_indices(30, 30.0, {}).size(), 4u);
  EXPECT_EQ(sample_frame_indices(3, 30.0, {}).size(), 2u);
  // Long clips stop at max_frames.
  EXPECT_EQ(sample_frame_indices(100000, 10.0, {}).size(), 768u);
}

// tests/fixtures/vision/video_sampling.json (scripts/gen_video_sampling.py, transformers 5.17).
// Its MiniMax-M3 video processor pads an odd frame count like we do; it does not sample by default
// (do_sample_frames False) and, asked to, falls back to the generic BaseVideoProcessor rule:
// floor(duration * fps) frames with a stride from frame 0, no min/max frames, no even count,
// errors for clips shorter than one sampled frame. We follow m3-model.md §10.1 (rounded count
// clamped to 4..768 frames, even, spread over the whole clip); the counts agree wherever the two
// rules coincide (duration * fps whole, even and inside the frame limits).
TEST(Video, PaddingAndFrameCountsAgreeWithTransformers) {
  const auto reference = m3::test::read_json(m3::test::vision_fixtures() / "video_sampling.json");
  std::mt19937 rng(std::random_device{}());
  for (const auto &pad : reference["padding"]) {
    std::vector<RgbImage> frames;
    for (int f = 0; f < pad["frames"].get<int>(); ++f) {
      RgbImage frame{84, 56, std::vector<uint8_t>(84 * 56 * 3)};
      for (auto &v : frame.pixels)
        v = uint8_t(rng());
      frames.push_back(std::move(frame));
    }
    const VisionPatches patches = preprocess_video(frames);
    EXPECT_EQ((std::vector<int>{patches.grid_t, patches.grid_h, patches.grid_w}),
              pad["grid_thw"].get<std::vector<int>>())
        << pad["frames"] << " frames";
  }
  int compared = 0;
  for (const auto &c : reference["cases"]) {
    if (!c.contains("count"))
      continue;
    const int64_t total = c["total"], count = c["count"];
    const double source_fps = c["source_fps"], fps = c["fps"];
    const double wanted = double(total) / source_fps * fps;
    if (std::abs(wanted - std::round(wanted)) > 1e-9 || count % 2 || count < 4 || count > 768 ||
        count > total)
      continue;
    ++compared;
    VideoSampling sampling;
    sampling.fps = fps;
    const std::vector<int64_t> ours = sample_frame_indices(total, source_fps, sampling);
    EXPECT_EQ(int64_t(ours.size()), count) << total << " frames at " << source_fps << " fps";
    if (count == total && c.contains("indices")) { // every frame: the index rules coincide too
      EXPECT_EQ(ours, c["indices"].get<std::vector<int64_t>>());
    }
  }
  EXPECT_GE(compared, 20);
}

void check_roundtrip(const char *codec, const char *extension) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("m3_video_test_" + std::to_string(getpid()) + extension))
                               .string();
  if (!write_video(path, codec))
    GTEST_SKIP() << "no " << codec << " encoder in this FFmpeg build";
  const std::vector<uint8_t> bytes = read_media_bytes(path);
  std::filesystem::remove(path);
  const DecodedVideo video = decode_video(bytes);
  const std::vector<int64_t> indices = {0, 5, 10, 15};
  ASSERT_EQ(video.frames.size(), indices.size()) << codec;
  for (size_t i = 0; i < indices.size(); ++i) {
    EXPECT_DOUBLE_EQ(video.seconds[i], double(indices[i]) / kFps);
    ASSERT_EQ(video.frames[i].width, kWidth);
    ASSERT_EQ(video.frames[i].height, kHeight);
    const double own = mean_abs_diff(video.frames[i], source_frame(int(indices[i])));
    EXPECT_LT(own, 6.0) << codec << " frame " << indices[i];
    for (int other = 0; other < kFrames; ++other) {
      if (other != indices[i]) {
        EXPECT_LT(own, mean_abs_diff(video.frames[i], source_frame(other)))
            << codec << " frame " << indices[i] << " vs " << other;
      }
    }
  }
  // Resized as they arrive: the frames preprocess_video makes (96x64 -> 84x56), same patches.
  const DecodedVideo resized = decode_video(bytes, {}, {}, kVideoFrameResize);
  ASSERT_EQ(resized.frames.size(), indices.size()) << codec;
  EXPECT_EQ(resized.frames[0].width, 84);
  EXPECT_EQ(resized.frames[0].height, 56);
  EXPECT_EQ(resized.seconds, video.seconds);
  EXPECT_EQ(preprocess_video(resized.frames).rows, preprocess_video(video.frames).rows) << codec;
  // Through the media path: 4 frames -> 2 temporal groups with timestamps 0.0 s and 2.5 s.
  const std::string file = (std::filesystem::temp_directory_path() /
                            ("m3_video_media_" + std::to_string(getpid()) + extension))
                               .string();
  {
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
  }
  const MediaInput media = load_video(file);
  std::filesystem::remove(file);
  EXPECT_EQ(media.patches.grid_t, 2);
  EXPECT_EQ(media.group_seconds, (std::vector<double>{0.0, 2.5}));
  EXPECT_EQ(timestamp_text(2.5), "]<]2.5 seconds[>[");
  const MediaTokens tokens;
  const std::vector<int32_t> ids =
      expand_media(media, tokens, [](double s) { return std::vector<int32_t>{int32_t(s * 10)}; });
  const int64_t per_group = media.patches.tokens_per_group();
  ASSERT_EQ(ids.size(), size_t(2 * (per_group + 3)));
  EXPECT_EQ(ids[0], 0); // timestamp of group 0
  EXPECT_EQ(ids[1], tokens.start_image);
  EXPECT_EQ(ids[2], tokens.video);
  EXPECT_EQ(ids[per_group + 2], tokens.end_image);
  EXPECT_EQ(ids[per_group + 3], 25);

  // Corrupt copies: errors, never crashes.
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  for (int attempt = 0; attempt < 40; ++attempt) {
    try {
      const DecodedVideo v = decode_video(m3::test::corrupt_copy(bytes, rng));
      EXPECT_FALSE(v.frames.empty()) << codec << " seed " << seed << " attempt " << attempt;
    } catch (const m3::Error &) {
    } catch (const std::exception &e) {
      FAIL() << codec << " seed " << seed << " attempt " << attempt << ": " << e.what();
    }
  }
}

TEST(Video, Mp4RoundTrip) { check_roundtrip("mpeg4", ".mp4"); }
TEST(Video, WebmRoundTrip) { check_roundtrip("libvpx", ".webm"); }

TEST(Video, RejectsNonVideo) {
  EXPECT_THROW(decode_video({}), m3::Error);
  EXPECT_THROW(decode_video(std::vector<uint8_t>(1000, 7)), m3::Error);
}

TEST(Video, ImageExpansion) {
  MediaInput image;
  image.patches.grid_t = 1, image.patches.grid_h = 6, image.patches.grid_w = 8;
  const MediaTokens tokens;
  const std::vector<int32_t> ids =
      expand_media(image, tokens, [](double) { return std::vector<int32_t>{}; });
  ASSERT_EQ(ids.size(), 14u); // start + 48 / 4 + end
  EXPECT_EQ(ids.front(), tokens.start_image);
  EXPECT_EQ(ids.back(), tokens.end_image);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), tokens.image), 12);
}

} // namespace
} // namespace m3::vision
