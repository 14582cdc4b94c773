#include "vision/request_media.h"

#include <algorithm>

#include <httplib.h>

#include "core/error.h"
#include "vision/video_decode.h"

namespace m3::vision {

namespace {

bool is_remote(const std::string &url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

MediaInput video_input(const std::vector<uint8_t> &bytes, double fps, const MediaPolicy &policy) {
  VideoSampling sampling;
  sampling.fps = fps;
  sampling.max_frames = policy.max_video_frames;
  sampling.min_frames = std::min(sampling.min_frames, sampling.max_frames);
  return video_media(bytes, sampling, policy.limits);
}

} // namespace

std::vector<uint8_t> fetch_media_url(const std::string &url, const MediaPolicy &policy) {
  if (url.rfind("data:", 0) == 0)
    return read_media_bytes(url, policy.limits);
  require(is_remote(url), "media URL must be a data URL (data:<type>;base64,...) or http(s)");
  require(policy.allow_remote, "remote media URLs are disabled on this server; send the media as "
                               "a base64 data URL (or start the server with remote media allowed)");
  const size_t path_at = url.find('/', url.find("//") + 2);
  const std::string origin = url.substr(0, path_at);
  const std::string path = path_at == std::string::npos ? "/" : url.substr(path_at);
  httplib::Client client(origin);
  client.set_connection_timeout(policy.remote_timeout_seconds);
  client.set_read_timeout(policy.remote_timeout_seconds);
  client.set_follow_location(true);
  std::vector<uint8_t> bytes;
  bool too_large = false;
  const httplib::Result result = client.Get(path, [&](const char *data, size_t size) {
    if (bytes.size() + size > policy.limits.max_bytes) {
      too_large = true;
      return false;
    }
    bytes.insert(bytes.end(), data, data + size);
    return true;
  });
  require(!too_large, "media at " + url + " is over the limit of " +
                          std::to_string(policy.limits.max_bytes) + " bytes");
  require(bool(result), "cannot fetch " + url + ": " + httplib::to_string(result.error()));
  require(result->status == 200,
          "cannot fetch " + url + ": HTTP status " + std::to_string(result->status));
  return bytes;
}

std::vector<MediaInput> load_message_media(const nlohmann::ordered_json &messages,
                                           const MediaPolicy &policy) {
  std::vector<MediaInput> media;
  int images = 0, videos = 0;
  require(messages.is_array(), "messages must be an array");
  for (const auto &message : messages) {
    if (!message.is_object() || !message.contains("content") || !message["content"].is_array())
      continue;
    for (const auto &part : message["content"]) {
      const std::string type = part.value("type", std::string());
      if (type != "image_url" && type != "video_url")
        continue;
      const auto &body = part.at(type);
      const std::string url =
          body.is_string() ? body.get<std::string>() : body.at("url").get<std::string>();
      const std::vector<uint8_t> bytes = fetch_media_url(url, policy);
      if (type == "image_url") {
        require(++images <= policy.limits.max_images,
                "too many images (limit " + std::to_string(policy.limits.max_images) + ")");
        MediaInput image;
        image.patches = preprocess_image(decode_image(bytes, policy.limits));
        media.push_back(std::move(image));
      } else {
        require(++videos <= policy.limits.max_videos,
                "too many videos (limit " + std::to_string(policy.limits.max_videos) + ")");
        const double fps = body.is_object() ? body.value("fps", 1.0) : 1.0;
        require(fps > 0 && fps <= 120, "video fps must be in (0, 120]");
        media.push_back(video_input(bytes, fps, policy));
      }
    }
  }
  return media;
}

std::vector<int32_t>
expand_placeholders(const std::vector<int32_t> &template_ids, const std::vector<MediaInput> &media,
                    const MediaTokens &tokens,
                    const std::function<std::vector<int32_t>(const std::string &)> &tokenize) {
  std::vector<int32_t> ids;
  size_t next = 0;
  for (int32_t id : template_ids) {
    if (id != tokens.image && id != tokens.video) {
      ids.push_back(id);
      continue;
    }
    require(next < media.size(), "the prompt has more image/video placeholders than media parts");
    const MediaInput &item = media[next++];
    require((id == tokens.image) == (item.kind == MediaKind::kImage),
            "image/video placeholders are out of order with the media parts");
    const std::vector<int32_t> expanded = expand_media(
        item, tokens, [&](double seconds) { return tokenize(timestamp_text(seconds)); });
    ids.insert(ids.end(), expanded.begin(), expanded.end());
  }
  require(next == media.size(), "the prompt has fewer image/video placeholders (" +
                                    std::to_string(next) + ") than media parts (" +
                                    std::to_string(media.size()) + ")");
  return ids;
}

MultimodalPrompt
build_multimodal_prompt(const std::vector<int32_t> &template_ids,
                        const std::vector<MediaInput> &media, const VisionTower &tower,
                        const MediaTokens &tokens,
                        const std::function<std::vector<int32_t>(const std::string &)> &tokenize) {
  MultimodalPrompt prompt;
  prompt.ids = expand_placeholders(template_ids, media, tokens, tokenize);
  if (!media.empty())
    prompt.embeddings = media_embeddings(prompt.ids, tower, media);
  return prompt;
}

} // namespace m3::vision
