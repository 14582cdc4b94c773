#pragma once
// Decoding of user images (PNG, JPEG, WebP, GIF first frame) into 8-bit RGB with Debian's image
// libraries. Every failure — unknown format, corrupt or truncated data, dimensions over the
// limits — is an m3::Error; no input makes the decoders crash or allocate without bound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace m3::vision {

// An 8-bit RGB picture, rows top to bottom, pixels interleaved (R, G, B).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels; // [height, width, 3]

  const uint8_t *at(int y, int x) const { return &pixels[(size_t(y) * width + x) * 3]; }
};

struct MediaLimits {
  size_t max_bytes = size_t(64) << 20;   // encoded size of one image or video
  int64_t max_pixels = int64_t(1) << 26; // decoded width * height of one image or frame
  int max_side = 16384;                  // decoded width or height
  int max_images = 32;                   // images in one request
  int max_videos = 4;                    // videos in one request
};

// Decodes an image by its signature. Alpha is dropped, gray is replicated, palettes are
// expanded (what PIL's convert("RGB") does).
RgbImage decode_image(const uint8_t *data, size_t size, const MediaLimits &limits = {});
RgbImage decode_image(const std::vector<uint8_t> &bytes, const MediaLimits &limits = {});

// The bytes of a local file or of a `data:<mime>;base64,...` URL (size checked against limits).
std::vector<uint8_t> read_media_bytes(const std::string &file_or_data_url,
                                      const MediaLimits &limits = {});

} // namespace m3::vision
