#pragma once
// Images and videos in the LM sequence (m3-model.md §6): placeholder expansion and the in-order
// scatter of vision features over the placeholder positions. Positions stay 1-D.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/forward_batch.h"
#include "vision/preprocess.h"
#include "vision/video_decode.h"
#include "vision/vision_tower.h"

namespace m3::vision {

enum class MediaKind { kImage, kVideo };

struct MediaInput {
  MediaKind kind = MediaKind::kImage;
  VisionPatches patches;
  // Video only: the source time (seconds) of the first frame of each temporal group, for the
  // optional "]<]{ts:.1f} seconds[>[" text before the group; empty when unknown.
  std::vector<double> group_seconds;
};

// Decodes and preprocesses one image (file path or data URL).
MediaInput load_image(const std::string &file_or_data_url, const MediaLimits &limits = {});
// One video: a video file or data URL (sampled at 1 fps, with timestamps), or "F1,F2,..." — image
// files taken as already sampled frames (no timestamps).
MediaInput load_video(const std::string &source, const MediaLimits &limits = {});
// One encoded video: sampled, decoded, preprocessed, with the timestamps of its temporal groups.
MediaInput video_media(const std::vector<uint8_t> &bytes, const VideoSampling &sampling,
                       const MediaLimits &limits);

// Token ids of the special markers used to expand media placeholders.
struct MediaTokens {
  int32_t image = 200025;       // ]<]image[>[
  int32_t video = 200026;       // ]<]video[>[
  int32_t start_image = 200029; // ]<]start of image[>[
  int32_t end_image = 200030;   // ]<]end of image[>[
};

// The ids one media item expands to: start + N x image + end for an image; per temporal group
// (optional timestamp ids from `timestamp_ids(seconds)`) start + M x video + end for a video.
template <typename TimestampIds>
std::vector<int32_t> expand_media(const MediaInput &media, const MediaTokens &tokens,
                                  TimestampIds timestamp_ids) {
  std::vector<int32_t> ids;
  const bool image = media.kind == MediaKind::kImage;
  const int groups = image ? 1 : media.patches.grid_t;
  const int64_t per_group = image ? media.patches.num_tokens() : media.patches.tokens_per_group();
  for (int g = 0; g < groups; ++g) {
    if (!image && g < int(media.group_seconds.size())) {
      const std::vector<int32_t> ts = timestamp_ids(media.group_seconds[g]);
      ids.insert(ids.end(), ts.begin(), ts.end());
    }
    ids.push_back(tokens.start_image);
    ids.insert(ids.end(), size_t(per_group), image ? tokens.image : tokens.video);
    ids.push_back(tokens.end_image);
  }
  return ids;
}

// "]<]{seconds:.1f} seconds[>[" (plain text, tokenized by the caller).
std::string timestamp_text(double seconds);

// The features of one media item, [num_tokens, text hidden] (e.g. from a cache).
using MediaFeatures =
    std::function<std::shared_ptr<const std::vector<float>>(const MediaInput &media)>;

// Runs the tower on every media item (or asks `features` for them) and places the features over
// the placeholder ids of `ids` in order: images over image_token_id positions, videos over
// video_token_id positions. A placeholder count that does not match the media is an m3::Error.
PromptEmbeddings media_embeddings(const std::vector<int32_t> &ids, const VisionTower &tower,
                                  const std::vector<MediaInput> &media,
                                  const MediaFeatures &features = {});
// The tower's features of one item (image_features or video_features by kind).
std::vector<float> item_features(const VisionTower &tower, const MediaInput &media);

// `m3 logits` / `m3 generate` with --image / --video: loads the tower of model_dir and the media
// and returns the embeddings for ids (empty when there is no media).
PromptEmbeddings media_embeddings_from_files(const std::string &model_dir,
                                             const std::vector<int32_t> &ids,
                                             const std::vector<std::string> &images,
                                             const std::vector<std::string> &videos);

} // namespace m3::vision
