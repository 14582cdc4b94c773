#pragma once
// A small test video written with FFmpeg's encoders from known frames: 16 frames of 96x64 at
// 4 fps (4 s), smooth colour ramps plus a bright square that moves with the frame index.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
}

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "vision/image_decode.h"

namespace m3::test {

inline constexpr int kWidth = 96, kHeight = 64, kFrames = 16, kFps = 4;

// Frame k: smooth colour ramps moving with k, plus a bright square at a k-dependent place.
inline vision::RgbImage source_frame(int k) {
  vision::RgbImage f{kWidth, kHeight, std::vector<uint8_t>(size_t(kWidth) * kHeight * 3)};
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
inline bool write_video(const std::string &path, const char *codec_name) {
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
      packet->duration = 1; // one frame: MP4 edit lists drop a zero-length last frame
      av_packet_rescale_ts(packet, ctx->time_base, stream->time_base);
      packet->stream_index = stream->index;
      av_interleaved_write_frame(format, packet);
    }
  };
  for (int k = 0; ok && k < kFrames; ++k) {
    av_frame_make_writable(frame);
    const vision::RgbImage rgb = source_frame(k);
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

} // namespace m3::test
