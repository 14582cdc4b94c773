#include "server/media.h"

#include <optional>

#include "core/base64.h"

namespace m3::server {
namespace {

bool starts_with(const std::string &data, const std::string &magic, size_t at = 0) {
  return data.size() >= at + magic.size() && data.compare(at, magic.size(), magic) == 0;
}

bool is_image(const std::string &d) {
  return starts_with(d, "\x89PNG\r\n\x1a\n") || starts_with(d, "\xFF\xD8\xFF") ||
         starts_with(d, "GIF87a") || starts_with(d, "GIF89a") || starts_with(d, "BM") ||
         (starts_with(d, "RIFF") && starts_with(d, "WEBP", 8));
}

bool is_video(const std::string &d) {
  return starts_with(d, "ftyp", 4) || starts_with(d, "\x1A\x45\xDF\xA3") ||
         (starts_with(d, "RIFF") && starts_with(d, "AVI ", 8));
}

} // namespace

std::string validate_media_data_url(const std::string &url) {
  if (url.rfind("data:", 0) != 0)
    return "expected a data URL (data:<type>;base64,<data>)";
  const size_t comma = url.find(',');
  if (comma == std::string::npos)
    return "data URL has no ','";
  const std::string header = url.substr(5, comma - 5);
  const size_t base64_at = header.rfind(";base64");
  if (base64_at == std::string::npos || base64_at + 7 != header.size())
    return "data URL must be base64-encoded";
  const std::string mime = header.substr(0, base64_at);
  const bool image = mime.rfind("image/", 0) == 0;
  const bool video = mime.rfind("video/", 0) == 0;
  if (!image && !video)
    return "data URL type '" + mime + "' is not an image or video type";
  auto bytes = decode_base64(std::string_view(url).substr(comma + 1));
  if (!bytes)
    return "data URL is not valid base64";
  const std::string data(bytes->begin(), bytes->end());
  if (data.empty())
    return "data URL holds no data";
  if (image && !is_image(data))
    return "data URL does not hold a PNG, JPEG, GIF, WebP or BMP image";
  if (video && !is_video(data))
    return "data URL does not hold an MP4, WebM or AVI video";
  return "";
}

} // namespace m3::server
