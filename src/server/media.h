#pragma once
// Media in chat requests: the early shape check of data URLs (while the body is validated) and
// the images / videos of a request turned into expanded placeholder ids plus vision features.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/forward_batch.h"
#include "vision/multimodal.h"

namespace m3::server {

struct ServerContext;

// "" when url is a well-formed base64 data URL of an image (PNG, JPEG, GIF, WebP, BMP) or a
// video (MP4/MOV, WebM/MKV, AVI), else a one-line reason.
std::string validate_media_data_url(const std::string &url);

// Decodes and preprocesses every image_url / video_url part of the validated messages, in order,
// under the server's media policy. 400 when the model has no vision tower, for media over the
// limits and for anything that does not decode.
std::vector<vision::MediaInput> load_request_media(const ServerContext &ctx,
                                                   const nlohmann::ordered_json &messages);

// The templated prompt ids with each placeholder expanded for its media item (a vision model's
// prompt is checked even without media: a stray placeholder is a 400).
std::vector<int32_t> expand_media_placeholders(const ServerContext &ctx,
                                               const std::vector<int32_t> &template_ids,
                                               const std::vector<vision::MediaInput> &media);

// Runs the vision tower over the media (features of media seen recently come from ctx's cache):
// features for the placeholder positions of the expanded ids; null without media.
std::shared_ptr<const PromptEmbeddings>
media_features(ServerContext &ctx, const std::vector<int32_t> &ids,
               const std::vector<vision::MediaInput> &media);

} // namespace m3::server
