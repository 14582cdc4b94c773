#pragma once
// The server's hook into the vision path: the media parts of OpenAI chat messages
// (`image_url` / `video_url` in user, system and tool messages) become preprocessed media, and a
// templated prompt (one `]<]image[>[` / `]<]video[>[` token per part, as the chat template renders
// them) becomes the expanded ids plus the embeddings to run. Every user mistake is an m3::Error
// (a 400 for the server).
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vision/multimodal.h"
#include "vision/video_decode.h"

namespace m3::vision {

struct MediaPolicy {
  bool allow_remote = false; // fetch http(s) URLs; otherwise only data URLs are accepted
  int remote_timeout_seconds = 10;
  MediaLimits limits;
  int max_video_frames = VideoSampling{}.max_frames; // sampled frames kept per video
};

// The media of every message in order (content arrays only; string contents have none). Videos
// honour a part's "fps" (default 1.0).
std::vector<MediaInput> load_message_media(const nlohmann::ordered_json &messages,
                                           const MediaPolicy &policy);

// The bytes behind one media URL: a base64 data URL, or (when allowed) an http(s) URL.
std::vector<uint8_t> fetch_media_url(const std::string &url, const MediaPolicy &policy);

struct MultimodalPrompt {
  std::vector<int32_t> ids;    // placeholders expanded
  PromptEmbeddings embeddings; // vision features over the expanded placeholders
};

// template_ids holds one image / video token per media item, in the order of `media`; returns the
// ids with each placeholder expanded. Videos with timestamps get "]<]{t:.1f} seconds[>[" before
// each temporal group, tokenized by `tokenize`. Cheap: callers check the length before paying
// for the tower.
std::vector<int32_t>
expand_placeholders(const std::vector<int32_t> &template_ids, const std::vector<MediaInput> &media,
                    const MediaTokens &tokens,
                    const std::function<std::vector<int32_t>(const std::string &)> &tokenize);

// expand_placeholders, then the tower's features over the expanded placeholders.
MultimodalPrompt
build_multimodal_prompt(const std::vector<int32_t> &template_ids,
                        const std::vector<MediaInput> &media, const VisionTower &tower,
                        const MediaTokens &tokens,
                        const std::function<std::vector<int32_t>(const std::string &)> &tokenize);

} // namespace m3::vision
