#pragma once
// Checks of media sent inline in requests (data URLs). Vision is not served yet, but malformed
// media must be a 400 now, not a failure later.
#include <string>

namespace m3::server {

// "" when url is a well-formed base64 data URL of an image (PNG, JPEG, GIF, WebP, BMP) or a
// video (MP4/MOV, WebM/MKV, AVI), else a one-line reason.
std::string validate_media_data_url(const std::string &url);

} // namespace m3::server
