#include "server/media.h"

#include <optional>

namespace m3::server {
namespace {

std::optional<std::string> decode_base64(const std::string &text, size_t begin) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    if (c == '+' || c == '-')
      return 62;
    if (c == '/' || c == '_')
      return 63;
    return -1;
  };
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  size_t padding = 0;
  for (size_t i = begin; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0)
      return std::nullopt; // data after padding
    const int v = value(c);
    if (v < 0)
      return std::nullopt;
    buffer = (buffer << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((buffer >> bits) & 0xFF));
    }
  }
  if (padding > 2 || bits >= 6)
    return std::nullopt;
  return out;
}

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
  auto data = decode_base64(url, comma + 1);
  if (!data)
    return "data URL is not valid base64";
  if (data->empty())
    return "data URL holds no data";
  if (image && !is_image(*data))
    return "data URL does not hold a PNG, JPEG, GIF, WebP or BMP image";
  if (video && !is_video(*data))
    return "data URL does not hold an MP4, WebM or AVI video";
  return "";
}

} // namespace m3::server
