#pragma once
// Hyper-parameters of the vision tower, projector and patch merge (m3-model.md §2.3-2.4), read
// from the VL wrapper's config.json.
#include <cstdint>
#include <optional>
#include <string>

namespace m3::vision {

struct VisionConfig {
  int hidden_size = 0;       // ViT width (1280)
  int num_heads = 0;         // 16
  int num_layers = 0;        // 32
  int intermediate_size = 0; // 5120
  float layer_norm_eps = 1e-5f;
  double rope_theta = 10000.0;
  int segment_max_frames = 4;        // temporal groups per attention sequence of a video
  int64_t projector_hidden_size = 0; // 6144
  int64_t text_hidden_size = 0;      // 6144
  int64_t image_token_id = 200025;
  int64_t video_token_id = 200026;

  int head_dim() const { return hidden_size / num_heads; }
  // Channels rotated per axis (t, h, w): 2 * ((head_dim / 3) / 2), 26 for head_dim 80.
  int rope_axis_dim() const { return 2 * ((head_dim() / 3) / 2); }
};

// The vision part of <model_dir>/config.json, or nullopt for a text-only checkpoint. Throws
// m3::Error naming the key for values the tower does not support.
std::optional<VisionConfig> load_vision_config(const std::string &model_dir);
std::optional<VisionConfig> parse_vision_config(const std::string &json_text,
                                                int64_t text_hidden_size);

} // namespace m3::vision
