#include "vision/video_decode.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>

#include "core/error.h"
#include "vision/byte_cursor.h"

namespace m3::vision {

namespace {

constexpr int64_t kMaxDecodedFrames = 200000;

int read_memory(void *opaque, uint8_t *buffer, int size) {
  const size_t n = static_cast<ByteCursor *>(opaque)->read(buffer, size_t(std::max(size, 0)));
  return n == 0 ? AVERROR_EOF : int(n);
}

int64_t seek_memory(void *opaque, int64_t offset, int whence) {
  auto *in = static_cast<ByteCursor *>(opaque);
  if (whence == AVSEEK_SIZE)
    return int64_t(in->size);
  const int64_t base = (whence & ~AVSEEK_FORCE) == SEEK_CUR   ? int64_t(in->offset)
                       : (whence & ~AVSEEK_FORCE) == SEEK_END ? int64_t(in->size)
                                                              : 0;
  const int64_t target = base + offset;
  if (target < 0 || target > int64_t(in->size))
    return -1;
  in->offset = size_t(target);
  return target;
}

std::string av_message(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

// The FFmpeg objects of one reader, released even when opening fails half-way.
struct AvHandles {
  AVIOContext *io = nullptr;
  AVFormatContext *format = nullptr;
  AVCodecContext *decoder = nullptr;
  ~AvHandles() {
    avcodec_free_context(&decoder);
    avformat_close_input(&format);
    if (io)
      av_freep(&io->buffer);
    avio_context_free(&io);
  }
};

// One open demuxer + decoder over an in-memory file; calls on_frame for every decoded frame.
class VideoReader {
public:
  VideoReader(const std::vector<uint8_t> &bytes, const MediaLimits &limits)
      : input_{bytes.data(), bytes.size()}, limits_(limits) {
    av_log_set_level(AV_LOG_FATAL); // corrupt user input is reported as m3::Error, not logged
    AVIOContext *&io_ = h_.io;
    AVFormatContext *&format_ = h_.format;
    AVCodecContext *&decoder_ = h_.decoder;
    constexpr int kBuffer = 1 << 16;
    auto *buffer = static_cast<uint8_t *>(av_malloc(kBuffer));
    require(buffer != nullptr, "out of memory opening a video");
    io_ = avio_alloc_context(buffer, kBuffer, 0, &input_, read_memory, nullptr, seek_memory);
    if (!io_)
      av_free(buffer);
    require(io_ != nullptr, "out of memory opening a video");
    format_ = avformat_alloc_context();
    require(format_ != nullptr, "out of memory opening a video");
    format_->pb = io_;
    format_->flags |= AVFMT_FLAG_CUSTOM_IO;
    int code = avformat_open_input(&format_, nullptr, nullptr, nullptr);
    require(code >= 0, "invalid video: " + av_message(code));
    code = avformat_find_stream_info(format_, nullptr);
    require(code >= 0, "invalid video: " + av_message(code));
    const AVCodec *codec = nullptr;
    stream_ = av_find_best_stream(format_, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    require(stream_ >= 0 && codec != nullptr, "the video has no decodable video stream");
    decoder_ = avcodec_alloc_context3(codec);
    require(decoder_ != nullptr, "out of memory opening a video decoder");
    code = avcodec_parameters_to_context(decoder_, format_->streams[stream_]->codecpar);
    require(code >= 0, "invalid video stream: " + av_message(code));
    code = avcodec_open2(decoder_, codec, nullptr);
    require(code >= 0, "cannot open the video decoder: " + av_message(code));
    const AVRational rate = av_guess_frame_rate(format_, format_->streams[stream_], nullptr);
    fps_ = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
  }

  double fps() const { return fps_; }

  // Decodes every frame in order; returns the frame count.
  int64_t for_each_frame(const std::function<void(int64_t, const AVFrame &)> &on_frame) {
    AVPacket *packet = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int64_t count = 0;
    auto drain = [&]() {
      while (true) {
        const int code = avcodec_receive_frame(h_.decoder, frame);
        if (code == AVERROR(EAGAIN) || code == AVERROR_EOF)
          return;
        require(code >= 0, "invalid video frame: " + av_message(code));
        require(int64_t(frame->width) * frame->height <= limits_.max_pixels &&
                    frame->width <= limits_.max_side && frame->height <= limits_.max_side &&
                    frame->width > 0 && frame->height > 0,
                "video frame of " + std::to_string(frame->width) + "x" +
                    std::to_string(frame->height) + " pixels is over the limit");
        require(count < kMaxDecodedFrames, "video has too many frames");
        on_frame(count++, *frame);
      }
    };
    try {
      while (av_read_frame(h_.format, packet) >= 0) {
        if (packet->stream_index == stream_) {
          const int code = avcodec_send_packet(h_.decoder, packet);
          require(code >= 0 || code == AVERROR(EAGAIN),
                  "invalid video packet: " + av_message(code));
          drain();
        }
        av_packet_unref(packet);
      }
      avcodec_send_packet(h_.decoder, nullptr);
      drain();
    } catch (...) {
      av_packet_free(&packet);
      av_frame_free(&frame);
      throw;
    }
    av_packet_free(&packet);
    av_frame_free(&frame);
    return count;
  }

private:
  ByteCursor input_;
  MediaLimits limits_;
  AvHandles h_;
  int stream_ = -1;
  double fps_ = 0;
};

RgbImage to_rgb(const AVFrame &frame) {
  SwsContext *sws =
      sws_getContext(frame.width, frame.height, AVPixelFormat(frame.format), frame.width,
                     frame.height, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr, nullptr);
  require(sws != nullptr, "unsupported video pixel format");
  // swscale's SIMD paths may write past the end of a row: convert into aligned, padded rows
  // (odd sizes from damaged streams included), then close the gaps between the rows in place
  // (one frame-sized buffer, not two: a frame may be 2^26 pixels).
  const size_t row_bytes = size_t(frame.width) * 3;
  const size_t stride = (row_bytes + 63) / 64 * 64;
  std::vector<uint8_t> pixels(stride * (size_t(frame.height) + 1) + 64);
  uint8_t *planes[4] = {pixels.data(), nullptr, nullptr, nullptr};
  int strides[4] = {int(stride), 0, 0, 0};
  sws_scale(sws, frame.data, frame.linesize, 0, frame.height, planes, strides);
  sws_freeContext(sws);
  for (int y = 1; y < frame.height; ++y)
    std::memmove(&pixels[size_t(y) * row_bytes], &pixels[size_t(y) * stride], row_bytes);
  pixels.resize(row_bytes * frame.height);
  return {frame.width, frame.height, std::move(pixels)};
}

} // namespace

std::vector<int64_t> sample_frame_indices(int64_t total, double video_fps,
                                          const VideoSampling &sampling) {
  require(total > 0, "the video has no frames");
  const double duration = video_fps > 0 ? double(total) / video_fps : double(total);
  int64_t n = int64_t(std::llround(duration * sampling.fps));
  n = std::max<int64_t>(n, sampling.min_frames);
  n = std::min<int64_t>({n, sampling.max_frames, total});
  if (n >= 2)
    n -= n % 2;
  n = std::max<int64_t>(n, 1);
  std::vector<int64_t> indices(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    indices[size_t(i)] =
        n == 1 ? 0 : int64_t(std::nearbyint(double(i) * double(total - 1) / double(n - 1)));
  return indices;
}

DecodedVideo decode_video(const std::vector<uint8_t> &bytes, const VideoSampling &sampling,
                          const MediaLimits &limits, std::optional<ResizeLimits> resize) {
  require(!bytes.empty(), "empty video data");
  require(bytes.size() <= limits.max_bytes, "video of " + std::to_string(bytes.size()) +
                                                " bytes is over the limit of " +
                                                std::to_string(limits.max_bytes));
  int64_t total = 0;
  double fps = 0;
  {
    VideoReader counter(bytes, limits);
    fps = counter.fps();
    total = counter.for_each_frame([](int64_t, const AVFrame &) {});
  }
  const std::vector<int64_t> keep = sample_frame_indices(total, fps, sampling);
  DecodedVideo video;
  VideoReader reader(bytes, limits);
  size_t next = 0;
  Size2 first_size; // of the first sampled frame, before any resize
  reader.for_each_frame([&](int64_t index, const AVFrame &frame) {
    if (next >= keep.size() || keep[next] != index)
      return;
    if (next == 0)
      first_size = {frame.height, frame.width};
    require(Size2{frame.height, frame.width} == first_size, "video frames change size mid-stream");
    RgbImage rgb = to_rgb(frame);
    if (resize)
      rgb = resize_bicubic(rgb,
                           smart_resize(rgb.height, rgb.width, kPatchSize * kMergeSize, *resize));
    for (; next < keep.size() && keep[next] == index; ++next) { // repeats in short videos
      video.frames.push_back(rgb);
      video.seconds.push_back(fps > 0 ? double(index) / fps : double(index));
    }
  });
  require(!video.frames.empty(), "the video has no decodable frames");
  return video;
}

} // namespace m3::vision
