#include "vision/multimodal.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"

namespace m3::vision {

namespace {

// Feature rows of all items of one kind, concatenated in order.
std::vector<float> features_of(const VisionTower &tower, const std::vector<MediaInput> &media,
                               MediaKind kind, const MediaFeatures &features) {
  std::vector<float> all;
  for (const MediaInput &m : media) {
    if (m.kind != kind)
      continue;
    if (features) {
      const std::shared_ptr<const std::vector<float>> f = features(m);
      all.insert(all.end(), f->begin(), f->end());
    } else {
      const std::vector<float> f = item_features(tower, m);
      all.insert(all.end(), f.begin(), f.end());
    }
  }
  return all;
}

// Feature row k of its kind for the k-th placeholder of that kind, positions ascending (counts
// were checked by the caller).
void scatter(const std::vector<int32_t> &ids, int64_t image_token, int64_t video_token,
             const std::vector<float> &images, const std::vector<float> &videos,
             PromptEmbeddings &out) {
  const size_t hidden = size_t(out.hidden);
  size_t next_image = 0, next_video = 0;
  for (size_t position = 0; position < ids.size(); ++position) {
    const bool image = ids[position] == image_token;
    if (!image && ids[position] != video_token)
      continue;
    const float *row = image ? &images[next_image++ * hidden] : &videos[next_video++ * hidden];
    out.positions.push_back(int32_t(position));
    out.rows.insert(out.rows.end(), row, row + hidden);
  }
}

} // namespace

MediaInput load_image(const std::string &file_or_data_url, const MediaLimits &limits) {
  MediaInput media;
  media.kind = MediaKind::kImage;
  media.patches =
      preprocess_image(decode_image(read_media_bytes(file_or_data_url, limits), limits));
  return media;
}

MediaInput load_video(const std::string &source, const MediaLimits &limits) {
  if (source.rfind("data:", 0) == 0 || source.find(',') == std::string::npos)
    return video_media(read_media_bytes(source, limits), {}, limits);
  std::vector<RgbImage> frames;
  size_t begin = 0;
  while (begin <= source.size()) {
    const size_t end = std::min(source.find(',', begin), source.size());
    frames.push_back(
        decode_image(read_media_bytes(source.substr(begin, end - begin), limits), limits));
    begin = end + 1;
  }
  MediaInput media;
  media.kind = MediaKind::kVideo;
  media.patches = preprocess_video(frames);
  return media;
}

MediaInput video_media(const std::vector<uint8_t> &bytes, const VideoSampling &sampling,
                       const MediaLimits &limits) {
  const DecodedVideo video = decode_video(bytes, sampling, limits, kVideoFrameResize);
  MediaInput media;
  media.kind = MediaKind::kVideo;
  for (size_t f = 0; f < video.frames.size(); f += kTemporalPatch)
    media.group_seconds.push_back(video.seconds[f]);
  media.patches = preprocess_video(video.frames);
  return media;
}

std::string timestamp_text(double seconds) {
  char text[64];
  std::snprintf(text, sizeof text, "]<]%.1f seconds[>[", seconds);
  return text;
}

std::vector<float> item_features(const VisionTower &tower, const MediaInput &media) {
  return media.kind == MediaKind::kImage ? tower.image_features(media.patches)
                                         : tower.video_features(media.patches);
}

PromptEmbeddings media_embeddings(const std::vector<int32_t> &ids, const VisionTower &tower,
                                  const std::vector<MediaInput> &media,
                                  const MediaFeatures &features) {
  const VisionConfig &c = tower.config();
  PromptEmbeddings out;
  out.hidden = c.text_hidden_size;
  // Counts first: a mismatch must not cost a tower run.
  for (MediaKind kind : {MediaKind::kImage, MediaKind::kVideo}) {
    const int64_t token = kind == MediaKind::kImage ? c.image_token_id : c.video_token_id;
    int64_t placeholders = 0, rows = 0;
    for (int32_t id : ids)
      placeholders += id == token;
    for (const MediaInput &m : media)
      rows += m.kind == kind ? m.patches.num_tokens() : 0;
    const char *what = kind == MediaKind::kImage ? "image" : "video";
    require(placeholders == rows, "the ids have " + std::to_string(placeholders) + " " + what +
                                      " placeholder tokens (id " + std::to_string(token) +
                                      ") but the " + what + "s given need " + std::to_string(rows));
  }
  const std::vector<float> images = features_of(tower, media, MediaKind::kImage, features);
  const std::vector<float> videos = features_of(tower, media, MediaKind::kVideo, features);
  scatter(ids, c.image_token_id, c.video_token_id, images, videos, out);
  return out;
}

PromptEmbeddings media_embeddings_from_files(const std::string &model_dir,
                                             const std::vector<int32_t> &ids,
                                             const std::vector<std::string> &images,
                                             const std::vector<std::string> &videos) {
  if (images.empty() && videos.empty())
    return {};
  const MediaLimits limits;
  require(int(images.size()) <= limits.max_images && int(videos.size()) <= limits.max_videos,
          "too many images or videos (limits: " + std::to_string(limits.max_images) + " images, " +
              std::to_string(limits.max_videos) + " videos)");
  const VisionTower tower = VisionTower::load(model_dir);
  std::vector<MediaInput> media;
  for (const std::string &image : images)
    media.push_back(load_image(image, limits));
  for (const std::string &video : videos)
    media.push_back(load_video(video, limits));
  return media_embeddings(ids, tower, media);
}

} // namespace m3::vision
