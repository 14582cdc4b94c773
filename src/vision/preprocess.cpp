#include "vision/preprocess.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace m3::vision {

namespace {

// OpenAI CLIP normalisation constants.
constexpr float kMean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
constexpr float kStd[3] = {0.26862954f, 0.26130258f, 0.27577711f};

// Keys cubic convolution with a = -0.5 (the antialiased bicubic filter of torch and PIL).
double cubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0)
    return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2.0)
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0.0;
}

// Fixed-point taps of one axis: output i reads input [first[i], first[i] + count[i]).
struct AxisTaps {
  int max_taps = 0;
  int precision = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weights; // [out, max_taps], int16 range
};

AxisTaps axis_taps(int in_size, int out_size) {
  const double scale = double(in_size) / out_size;
  const double support = scale >= 1.0 ? 2.0 * scale : 2.0;
  const double inv_scale = scale >= 1.0 ? 1.0 / scale : 1.0;
  AxisTaps taps;
  taps.max_taps = int(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  std::vector<double> real(size_t(out_size) * taps.max_taps, 0.0);
  double max_weight = 0.0;
  for (int i = 0; i < out_size; ++i) {
    const double center = scale * (i + 0.5);
    const int64_t lo = std::max<int64_t>(int64_t(center - support + 0.5), 0);
    const int64_t hi = std::min<int64_t>(int64_t(center + support + 0.5), in_size);
    const int n = int(std::clamp<int64_t>(hi - lo, 0, taps.max_taps));
    double *w = &real[size_t(i) * taps.max_taps];
    double total = 0.0;
    for (int j = 0; j < n; ++j) {
      w[j] = cubic((j + lo - center + 0.5) * inv_scale);
      total += w[j];
    }
    if (total != 0.0) {
      for (int j = 0; j < n; ++j) {
        w[j] /= total;
        max_weight = std::max(max_weight, w[j]);
      }
    }
    taps.first[i] = int(lo);
    taps.count[i] = n;
  }
  // The largest precision (<= 22 bits) that keeps every weight inside int16.
  while (taps.precision < 22 &&
         int64_t(0.5 + max_weight * double(int64_t(1) << (taps.precision + 1))) < (1 << 15))
    ++taps.precision;
  taps.weights.resize(real.size());
  const double one = double(int64_t(1) << taps.precision);
  for (size_t k = 0; k < real.size(); ++k) {
    const double v = real[k] * one;
    taps.weights[k] = int32_t(v < 0 ? std::trunc(-0.5 + v) : std::trunc(0.5 + v));
  }
  return taps;
}

uint8_t apply_taps(const AxisTaps &taps, int i, const uint8_t *src, size_t stride) {
  const int32_t *w = &taps.weights[size_t(i) * taps.max_taps];
  int32_t acc = int32_t(1) << (taps.precision - 1);
  const uint8_t *p = src + size_t(taps.first[i]) * stride;
  for (int j = 0; j < taps.count[i]; ++j)
    acc += int32_t(p[size_t(j) * stride]) * w[j];
  return uint8_t(std::clamp(acc >> taps.precision, 0, 255));
}

RgbImage resize_width(const RgbImage &in, int width) {
  const AxisTaps taps = axis_taps(in.width, width);
  RgbImage out{width, in.height, std::vector<uint8_t>(size_t(width) * in.height * 3)};
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        out.pixels[(size_t(y) * width + x) * 3 + c] = apply_taps(taps, x, in.at(y, 0) + c, 3);
  return out;
}

RgbImage resize_height(const RgbImage &in, int height) {
  const AxisTaps taps = axis_taps(in.height, height);
  RgbImage out{in.width, height, std::vector<uint8_t>(size_t(in.width) * height * 3)};
  const size_t row_stride = size_t(in.width) * 3;
  for (int y = 0; y < height; ++y)
    for (size_t k = 0; k < row_stride; ++k)
      out.pixels[y * row_stride + k] = apply_taps(taps, y, in.pixels.data() + k, row_stride);
  return out;
}

} // namespace

Size2 smart_resize(int height, int width, int factor, const ResizeLimits &limits) {
  require(height > 0 && width > 0, "image has no pixels");
  const double ratio = double(std::max(height, width)) / std::min(height, width);
  require(ratio <= 200,
          "image aspect ratio " + std::to_string(ratio) + " is over the limit of 200");
  // Python's round() rounds halves to even; nearbyint does too in the default rounding mode.
  int h = int(std::nearbyint(double(height) / factor)) * factor;
  int w = int(std::nearbyint(double(width) / factor)) * factor;
  if (int64_t(h) * w > limits.max_pixels) {
    const double beta = std::sqrt(double(int64_t(height) * width) / double(limits.max_pixels));
    h = std::max(factor, int(std::floor(height / beta / factor)) * factor);
    w = std::max(factor, int(std::floor(width / beta / factor)) * factor);
  } else if (int64_t(h) * w < limits.min_pixels) {
    const double beta = std::sqrt(double(limits.min_pixels) / double(int64_t(height) * width));
    h = int(std::ceil(height * beta / factor)) * factor;
    w = int(std::ceil(width * beta / factor)) * factor;
  }
  return {h, w};
}

RgbImage resize_bicubic(const RgbImage &image, Size2 size) {
  require(size.height > 0 && size.width > 0, "resize to an empty image");
  RgbImage out = image.width == size.width ? image : resize_width(image, size.width);
  if (out.height != size.height)
    out = resize_height(out, size.height);
  return out;
}

VisionPatches patchify(const std::vector<RgbImage> &frames) {
  require(!frames.empty() && frames.size() % kTemporalPatch == 0,
          "patchify needs a positive, even number of frames");
  const int height = frames[0].height, width = frames[0].width;
  for (const RgbImage &f : frames)
    require(f.height == height && f.width == width, "video frames differ in size");
  const int unit = kPatchSize * kMergeSize;
  require(height % unit == 0 && width % unit == 0,
          "frame size must be a multiple of " + std::to_string(unit));
  VisionPatches p;
  p.grid_t = int(frames.size()) / kTemporalPatch;
  p.grid_h = height / kPatchSize;
  p.grid_w = width / kPatchSize;
  p.rows.resize(size_t(p.num_patches()) * kPatchValues);
  float mean255[3], std255[3];
  for (int c = 0; c < 3; ++c) { // transformers fuses 1/255 into mean and std (float32)
    mean255[c] = kMean[c] * 255.0f;
    std255[c] = kStd[c] * 255.0f;
  }
  float *row = p.rows.data();
  for (int t = 0; t < p.grid_t; ++t)
    for (int hb = 0; hb < p.grid_h / kMergeSize; ++hb)
      for (int wb = 0; wb < p.grid_w / kMergeSize; ++wb)
        for (int hi = 0; hi < kMergeSize; ++hi)
          for (int wi = 0; wi < kMergeSize; ++wi, row += kPatchValues) {
            const int y0 = (hb * kMergeSize + hi) * kPatchSize;
            const int x0 = (wb * kMergeSize + wi) * kPatchSize;
            float *out = row;
            for (int c = 0; c < 3; ++c)
              for (int dt = 0; dt < kTemporalPatch; ++dt) {
                const RgbImage &frame = frames[size_t(t) * kTemporalPatch + dt];
                for (int py = 0; py < kPatchSize; ++py)
                  for (int px = 0; px < kPatchSize; ++px)
                    *out++ = (float(frame.at(y0 + py, x0 + px)[c]) - mean255[c]) / std255[c];
              }
          }
  return p;
}

VisionPatches preprocess_image(const RgbImage &image, const ResizeLimits &limits) {
  const Size2 size = smart_resize(image.height, image.width, kPatchSize * kMergeSize, limits);
  const RgbImage resized = resize_bicubic(image, size);
  return patchify({resized, resized});
}

VisionPatches preprocess_video(const std::vector<RgbImage> &frames, const ResizeLimits &limits) {
  require(!frames.empty(), "video has no frames");
  const Size2 size =
      smart_resize(frames[0].height, frames[0].width, kPatchSize * kMergeSize, limits);
  std::vector<RgbImage> resized;
  resized.reserve(frames.size() + 1);
  for (const RgbImage &f : frames) {
    require(f.height == frames[0].height && f.width == frames[0].width,
            "video frames differ in size");
    resized.push_back(resize_bicubic(f, size));
  }
  while (resized.size() % kTemporalPatch != 0)
    resized.push_back(resized.back());
  return patchify(resized);
}

} // namespace m3::vision
