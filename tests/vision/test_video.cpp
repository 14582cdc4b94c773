// Video input: an MP4 (MPEG-4 Part 2) and, where the encoder exists, a WebM (VP8) are written
// here with FFmpeg's libraries from known frames; decode_video must sample them at 1 fps (frame
// indices from the sampling rule, timestamps index / fps) and return frames close to the
// originals (lossy codecs: compared by mean absolute difference, and each sampled frame must be
// closer to its source frame than to any other). Corrupt videos are m3::Error.
#include <gtest/gtest.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
}

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "core/error.h"
#include "vision/multimodal.h"
#include "vision/video_decode.h"

namespace m3::vision {
namespace {

constexpr int kWidth = 96, kHeight = 64, kFrames = 16, kFps = 4;

// Frame k: smooth colour ramps moving with k, plus a bright square at a k-dependent place.
RgbImage source_frame(int k) {
  RgbImage f{kWidth, kHeight, std::vector<uint8_t>(size_t(kWidth) * kHeight * 3)};
  for (int y = 0; y < kHeight; ++y)
    for (int x = 0; x < kWidth; ++x) {
      uint8_t *p = &f.pixels[(size_t(y) * kWidth + x) * 3];
      p[0] = uint8_t((x * 2 + k * 15) % 256);
      p[1] = uint8_t((y * 3 + k * 9) % 256);
      p[2] = uint8_t(128 + 100 * std::sin(0.1 * x + 0.3 * k));
      if (std::abs(x - 5 * k - 10) < 6 && std::abs(y - 2 * k - 20) < 6)
        p[0] = p[1] = p[2] = 250;
    }
  return f;
}

// Encodes the source frames with `codec_name` into `path` (container from the extension).
bool write_video(const std::string &path, const char *codec_name) {
  const AVCodec *codec = avcodec_find_encoder_by_name(codec_name);
  if (!codec)
    return false;
  AVFormatContext *format = nullptr;
  if (avformat_alloc_output_context2(&format, nullptr, nullptr, path.c_str()) < 0)
    return false;
  AVStream *stream = avformat_new_stream(format, nullptr);
  AVCodecContext *ctx = avcodec_alloc_context3(codec);
  ctx->width = kWidth;
  ctx->height = kHeight;
  ctx->time_base = {1, kFps};
  ctx->framerate = {kFps, 1};
  ctx->pix_fmt = AV_PIX_FMT_YUV420P;
  ctx->gop_size = 4;
  ctx->bit_rate = 4000000;
  ctx->qmin = ctx->qmax = 2;
  if (format->oformat->flags & AVFMT_GLOBALHEADER)
    ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  bool ok = avcodec_open2(ctx, codec, nullptr) >= 0 &&
            avcodec_parameters_from_context(stream->codecpar, ctx) >= 0 &&
            avio_open(&format->pb, path.c_str(), AVIO_FLAG_WRITE) >= 0;
  stream->time_base = ctx->time_base;
  ok = ok && avformat_write_header(format, nullptr) >= 0;
  AVFrame *frame = av_frame_alloc();
  frame->format = ctx->pix_fmt;
  frame->width = kWidth;
  frame->height = kHeight;
  ok = ok && av_frame_get_buffer(frame, 0) >= 0;
  AVPacket *packet = av_packet_alloc();
  auto drain = [&]() {
    while (avcodec_receive_packet(ctx, packet) == 0) {
      packet->duration = 1;  // one frame: MP4 edit lists drop a zero-length last frame
      av_packet_rescale_ts(packet, ctx->time_base, stream->time_base);
      packet->stream_index = stream->index;
      av_interleaved_write_frame(format, packet);
    }
  };
  for (int k = 0; ok && k < kFrames; ++k) {
    av_frame_make_writable(frame);
    const RgbImage rgb = source_frame(k);
    for (int y = 0; y < kHeight; ++y) // BT.601 limited range, what swscale assumes back
      for (int x = 0; x < kWidth; ++x) {
        const uint8_t *p = rgb.at(y, x);
        frame->data[0][y * frame->linesize[0] + x] =
            uint8_t(std::lround(16 + (65.481 * p[0] + 128.553 * p[1] + 24.966 * p[2]) / 255));
        if (y % 2 == 0 && x % 2 == 0) {
          frame->data[1][y / 2 * frame->linesize[1] + x / 2] =
              uint8_t(std::lround(128 + (-37.797 * p[0] - 74.203 * p[1] + 112.0 * p[2]) / 255));
          frame->data[2][y / 2 * frame->linesize[2] + x / 2] =
              uint8_t(std::lround(128 + (112.0 * p[0] - 93.786 * p[1] - 18.214 * p[2]) / 255));
        }
      }
    frame->pts = k;
    ok = avcodec_send_frame(ctx, frame) >= 0;
    drain();
  }
  avcodec_send_frame(ctx, nullptr);
  drain();
  ok = ok && av_write_trailer(format) >= 0;
  av_packet_free(&packet);
  av_frame_free(&frame);
  avcodec_free_context(&ctx);
  avio_closep(&format->pb);
  avformat_free_context(format);
  return ok;
}

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
    for (int other = 0; other < kFrames; ++other)
      if (other != indices[i])
        EXPECT_LT(own, mean_abs_diff(video.frames[i], source_frame(other)))
            << codec << " frame " << indices[i] << " vs " << other;
  }
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
  std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 40; ++attempt) {
    std::vector<uint8_t> broken = bytes;
    if (attempt % 2)
      broken.resize(std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng));
    else
      for (int i = 0; i < 8; ++i)
        broken[std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng)] ^= uint8_t(rng());
    try {
      const DecodedVideo v = decode_video(broken);
      EXPECT_FALSE(v.frames.empty());
    } catch (const m3::Error &) {
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
