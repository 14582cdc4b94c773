#include "server/media.h"

#include <optional>

#include "core/base64.h"
#include "core/error.h"
#include "server/api_error.h"
#include "server/server_context.h"
#include "vision/request_media.h"

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

// "image" / "video" when some message has a part of that kind (the first kind found), else "".
std::string first_media_kind(const nlohmann::ordered_json &messages) {
  for (const auto &message : messages) {
    if (!message.is_object() || !message.contains("content") || !message["content"].is_array())
      continue;
    for (const auto &part : message["content"]) {
      const std::string type = part.is_object() ? part.value("type", std::string()) : "";
      if (type == "image_url")
        return "image";
      if (type == "video_url")
        return "video";
    }
  }
  return "";
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

std::vector<vision::MediaInput> load_request_media(const ServerContext &ctx,
                                                   const nlohmann::ordered_json &messages) {
  const std::string kind = first_media_kind(messages);
  if (kind.empty())
    return {};
  if (!ctx.model.vision_tower())
    invalid_request("this model does not accept " + kind + "s (it has no vision tower)",
                    "messages");
  try {
    return vision::load_message_media(messages, ctx.media);
  } catch (const Error &error) {
    invalid_request(std::string("cannot use the media: ") + error.what(), "messages");
  } catch (const std::exception &error) {
    // Decoders report bad input as m3::Error; anything else from them (e.g. an allocation the
    // limits did not foresee) is still about this request's media, not the server.
    invalid_request(std::string("cannot decode the media: ") + error.what(), "messages");
  }
}

std::vector<int32_t> expand_media_placeholders(const ServerContext &ctx,
                                               const std::vector<int32_t> &template_ids,
                                               const std::vector<vision::MediaInput> &media) {
  if (!ctx.model.vision_tower())
    return template_ids;
  const Tokenizer &tokenizer = ctx.model.tokenizer();
  try {
    return vision::expand_placeholders(
        template_ids, media, ctx.model.media_tokens(),
        [&](const std::string &text) { return tokenizer.encode(text); });
  } catch (const Error &error) {
    invalid_request(error.what(), "messages");
  }
}

std::shared_ptr<const PromptEmbeddings>
media_features(ServerContext &ctx, const std::vector<int32_t> &ids,
               const std::vector<vision::MediaInput> &media) {
  if (media.empty())
    return nullptr;
  // The CPU tower runs here, on the HTTP thread, while the engine thread keeps stepping other
  // requests. A device encoder belongs to the engine thread (which owns the device): the request
  // would then carry the preprocessed media and the engine would fill the embeddings itself.
  const vision::VisionTower &tower = *ctx.model.vision_tower();
  auto cached = [&](const vision::MediaInput &item) {
    return ctx.vision_features.get(item, [&] { return vision::item_features(tower, item); });
  };
  return std::make_shared<const PromptEmbeddings>(
      vision::media_embeddings(ids, tower, media, cached));
}

} // namespace m3::server
