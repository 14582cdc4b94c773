#include "vision/vision_config.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_fields.h"
#include "core/text_file.h"
#include "model/config.h"

namespace m3::vision {

using nlohmann::json;

std::optional<VisionConfig> parse_vision_config(const std::string &json_text,
                                                int64_t text_hidden_size) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception &e) {
    fail(std::string("config.json is not valid JSON: ") + e.what());
  }
  if (!root.is_object() || !root.contains("vision_config") || !root["vision_config"].is_object())
    return std::nullopt;
  const json &v = root["vision_config"];
  const JsonFields vision(v, "vision_config."), top(root, "");
  VisionConfig c;
  c.hidden_size = int(vision.integer("hidden_size", 1280));
  c.num_heads = int(vision.integer("num_attention_heads", 16));
  c.num_layers = int(vision.integer("num_hidden_layers", 32));
  c.intermediate_size = int(vision.integer("intermediate_size", 5120));
  c.layer_norm_eps = float(vision.number("layer_norm_eps", 1e-5));
  c.rope_theta = vision.number("rope_theta", 10000.0);
  if (v.contains("rope_parameters") && v["rope_parameters"].is_object())
    c.rope_theta = JsonFields(v["rope_parameters"], "vision_config.rope_parameters.")
                       .number("rope_theta", c.rope_theta);
  c.segment_max_frames = int(vision.integer("vision_segment_max_frames", 4));
  c.text_hidden_size = text_hidden_size;
  c.projector_hidden_size = top.integer("projector_hidden_size", text_hidden_size);
  c.image_token_id = top.integer("image_token_index", top.integer("image_token_id", 200025));
  c.video_token_id = top.integer("video_token_index", top.integer("video_token_id", 200026));

  require(c.hidden_size > 0 && c.num_heads > 0 && c.hidden_size % c.num_heads == 0,
          "vision_config.hidden_size must be a positive multiple of num_attention_heads");
  require(c.head_dim() % 2 == 0 && c.rope_axis_dim() > 0,
          "vision head_dim must be even and at least 6 for the 3D RoPE");
  require(c.num_layers >= 0 && c.intermediate_size > 0, "vision_config sizes must be positive");
  require(c.segment_max_frames > 0, "vision_config.vision_segment_max_frames must be positive");
  require(c.projector_hidden_size > 0, "projector_hidden_size must be positive");
  const std::string act = vision.text("hidden_act", "gelu");
  require(act == "gelu", "vision_config.hidden_act '" + act + "' is not supported (gelu)");
  const std::string projector_act = top.text("projector_hidden_act", "gelu");
  require(projector_act == "gelu",
          "projector_hidden_act '" + projector_act + "' is not supported (gelu)");
  for (const char *key : {"patch_size"})
    require(vision.integer(key, 14) == 14, std::string("vision_config.") + key + " must be 14");
  for (const char *key : {"temporal_patch_size", "spatial_merge_size"})
    require(vision.integer(key, 2) == 2, std::string("vision_config.") + key + " must be 2");
  require(vision.integer("num_channels", 3) == 3, "vision_config.num_channels must be 3");
  if (v.contains("rope_mode"))
    require(v["rope_mode"] == "3d", "vision_config.rope_mode must be \"3d\"");
  return c;
}

std::optional<VisionConfig> load_vision_config(const std::string &model_dir) {
  const ModelConfig text = load_model_config(model_dir);
  const std::string path = (std::filesystem::path(model_dir) / "config.json").string();
  return parse_vision_config(read_text_file(path), text.hidden_size);
}

} // namespace m3::vision
