#pragma once
// Video files (mp4, webm, anything FFmpeg's libraries demux) to sampled RGB frames.
#include <cstdint>
#include <optional>
#include <vector>

#include "vision/image_decode.h"
#include "vision/preprocess.h"

namespace m3::vision {

struct VideoSampling {
  double fps = 1.0; // frames kept per second of video (m3-model.md §10.1)
  int min_frames = 4;
  int max_frames = 768;
};

struct DecodedVideo {
  std::vector<RgbImage> frames; // the sampled frames, in order
  std::vector<double> seconds;  // source time of each sampled frame
};

// Frame indices to keep out of `total` frames of a video at `video_fps`: round(duration * fps)
// clamped to [min_frames, max_frames] and to the frames there are, made even, spread evenly
// (rounded linspace over [0, total - 1]).
std::vector<int64_t> sample_frame_indices(int64_t total, double video_fps,
                                          const VideoSampling &sampling);

// Decodes `bytes` (two passes: count, then convert the sampled frames). Corrupt or unsupported
// data and frames over the limits are m3::Error. With `resize`, each sampled frame is resized as
// it arrives the way preprocess_video resizes it (smart_resize + resize_bicubic), so a long
// high-resolution video never holds its full-size frames (up to max_frames of max_pixels each).
DecodedVideo decode_video(const std::vector<uint8_t> &bytes, const VideoSampling &sampling = {},
                          const MediaLimits &limits = {},
                          std::optional<ResizeLimits> resize = std::nullopt);

} // namespace m3::vision
