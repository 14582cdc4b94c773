#pragma once
// The float32 CPU vision tower of MiniMax-M3 (m3-model.md §10.2-10.4): Conv3d patch embedding (a
// matmul over 1176-value rows), pre-LayerNorm, pre-LN CLIP blocks with 3D RoPE and bidirectional
// attention inside each image / video segment, no post-LN; then the per-patch projector and the
// 2x2 patch-merge MLP, giving one text-width embedding per merged token.
#include <memory>
#include <vector>

#include "model/weights.h"
#include "vision/preprocess.h"
#include "vision/vision_config.h"

namespace m3 {
class SafetensorsArchive;
}

namespace m3::vision {

struct Linear {
  Weight weight; // [out, in]
  Weight bias;   // [out]
};

struct LayerNormWeights {
  Weight weight, bias; // [hidden]
};

struct VisionLayerWeights {
  LayerNormWeights norm1, norm2;
  Linear q, k, v, out;
  Linear fc1, fc2;
};

struct VisionWeights {
  Weight patch_embedding; // [hidden, 1176] (Conv3d [hidden, 3, 2, 14, 14] flattened)
  LayerNormWeights pre_norm;
  std::vector<VisionLayerWeights> layers;
  Linear projector1, projector2; // hidden -> projector -> text hidden, per patch
  Linear merge1, merge2;         // 4 * text hidden -> projector -> text hidden, per token
};

// Binds the release names (vision_tower.vision_model.*, multi_modal_projector.*,
// patch_merge_mlp.*), with the encoder MLPs under mlp.* or transformers' block_sparse_moe.*.
VisionWeights bind_vision_weights(const SafetensorsArchive &archive, const VisionConfig &config);

class VisionTower {
public:
  VisionTower(VisionConfig config, std::shared_ptr<const SafetensorsArchive> archive);
  // Weights whose bytes `owner` keeps alive (benchmarks, tests).
  VisionTower(VisionConfig config, VisionWeights weights, std::shared_ptr<const void> owner);
  // Loads config.json and the weights of a VL checkpoint directory; throws m3::Error when the
  // checkpoint has no vision tower.
  static VisionTower load(const std::string &model_dir);

  const VisionConfig &config() const { return config_; }
  // Last encoder layer [num_patches, hidden] (no post-LN). segment_frames: temporal groups per
  // attention sequence (1 per image is enough; videos use config().segment_max_frames).
  std::vector<float> encode(const VisionPatches &patches, int segment_frames) const;
  // Projected and merged embeddings [num_tokens, text_hidden] of one image.
  std::vector<float> image_features(const VisionPatches &patches) const;
  // The same for a video, attention cut into segments of segment_max_frames temporal groups.
  std::vector<float> video_features(const VisionPatches &patches) const;
  std::vector<float> project(const std::vector<float> &encoded, int64_t num_patches) const;

private:
  VisionConfig config_;
  std::shared_ptr<const void> owner_; // the mapped checkpoint or other storage of the weights
  VisionWeights weights_;
};

} // namespace m3::vision
