#pragma once
// Image and video preprocessing exactly as transformers 5.17's MiniMax-M3 processors do it
// (m3-model.md §10.1): Qwen-style smart_resize, torchvision's uint8 antialiased BICUBIC resize
// (bit-exact integer arithmetic), CLIP normalisation, and patch rows of 3 x 2 x 14 x 14 values in
// (C, T, ph, pw) order, listed in 2x2 merge-window order.
#include <cstdint>
#include <vector>

#include "vision/image_decode.h"

namespace m3::vision {

struct ResizeLimits {
  int64_t min_pixels = 0;
  int64_t max_pixels = 0;
};
inline constexpr ResizeLimits kImageResize{3136, 451584};      // 4*28^2 .. 672^2
inline constexpr ResizeLimits kVideoFrameResize{3136, 602112}; // 4*28^2 .. 768*28^2
inline constexpr int kPatchSize = 14;
inline constexpr int kTemporalPatch = 2;
inline constexpr int kMergeSize = 2;
inline constexpr int kPatchValues = 3 * kTemporalPatch * kPatchSize * kPatchSize; // 1176

struct Size2 {
  int height = 0;
  int width = 0;
  bool operator==(const Size2 &) const = default;
};

// Height and width rounded (half to even, like Python) to multiples of factor with the area kept
// inside the limits; throws m3::Error when the aspect ratio is over 200.
Size2 smart_resize(int height, int width, int factor, const ResizeLimits &limits);

// torchvision's resize(uint8, BICUBIC, antialias=True) on the CPU: separable (width first, then
// height; an axis of unchanged size is skipped), Keys cubic a = -0.5 with the support stretched by
// the downscale factor, int16 fixed-point weights and uint8 rounding/clipping after each pass.
RgbImage resize_bicubic(const RgbImage &image, Size2 size);

// Patches of one image or one video, ready for the vision tower.
struct VisionPatches {
  int grid_t = 0, grid_h = 0, grid_w = 0; // in 14-pixel patches; grid_t in pairs of frames
  std::vector<float> rows;                // [grid_t * grid_h * grid_w, 1176]
  int64_t num_patches() const { return int64_t(grid_t) * grid_h * grid_w; }
  int64_t num_tokens() const { return num_patches() / (kMergeSize * kMergeSize); }
  int64_t tokens_per_group() const { return int64_t(grid_h) * grid_w / (kMergeSize * kMergeSize); }
};

// CLIP-normalised patch rows of equally sized frames (a multiple of kTemporalPatch of them).
VisionPatches patchify(const std::vector<RgbImage> &frames);

// One image: smart_resize + resize + the frame duplicated to the temporal patch.
VisionPatches preprocess_image(const RgbImage &image, const ResizeLimits &limits = kImageResize);
// Video frames (already sampled): each resized to smart_resize of the first frame's size, padded
// to an even count by repeating the last frame.
VisionPatches preprocess_video(const std::vector<RgbImage> &frames,
                               const ResizeLimits &limits = kVideoFrameResize);

} // namespace m3::vision
