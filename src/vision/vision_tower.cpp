#include "vision/vision_tower.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/parallel.h"
#include "core/safetensors.h"
#include "model/cpu_ops.h"
#include "vision/vision_rope.h"

namespace m3::vision {

namespace {

const std::string kTower = "vision_tower.vision_model.";

Linear bind_linear(const SafetensorsArchive &archive, const std::string &name, int64_t out,
                   int64_t in) {
  return {bind_weight(archive, name + ".weight", {out, in}),
          bind_weight(archive, name + ".bias", {out})};
}

LayerNormWeights bind_norm(const SafetensorsArchive &archive, const std::string &name,
                           int64_t width) {
  return {bind_weight(archive, name + ".weight", {width}),
          bind_weight(archive, name + ".bias", {width})};
}

std::vector<float> linear(const std::vector<float> &x, int64_t rows, const Linear &layer) {
  std::vector<float> y = cpu::matmul(x, rows, layer.weight);
  const std::vector<float> bias = layer.bias.to_f32();
  const size_t width = bias.size();
  for (size_t i = 0; i < y.size(); ++i)
    y[i] += bias[i % width];
  return y;
}

std::vector<float> layer_norm(const std::vector<float> &x, int64_t rows, int64_t width,
                              const LayerNormWeights &norm, float eps) {
  const std::vector<float> w = norm.weight.to_f32(), b = norm.bias.to_f32();
  std::vector<float> y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    const float *in = &x[size_t(r * width)];
    double sum = 0, squares = 0;
    for (int64_t i = 0; i < width; ++i)
      sum += in[i];
    const double mean = sum / width;
    for (int64_t i = 0; i < width; ++i)
      squares += (in[i] - mean) * (in[i] - mean);
    const float inv = float(1.0 / std::sqrt(squares / width + eps));
    float *out = &y[size_t(r * width)];
    for (int64_t i = 0; i < width; ++i)
      out[i] = float(in[i] - mean) * inv * w[i] + b[i];
  }
  return y;
}

void gelu_in_place(std::vector<float> &x) { // exact (erf) GELU
  for (float &v : x)
    v = 0.5f * v * (1.0f + std::erf(v * float(M_SQRT1_2)));
}

// Bidirectional softmax attention of q, k, v [rows, heads, head_dim] inside [begin, end).
void segment_attention(const std::vector<float> &q, const std::vector<float> &k,
                       const std::vector<float> &v, int64_t begin, int64_t end, int heads,
                       int head_dim, std::vector<float> &out) {
  const int64_t n = end - begin, stride = int64_t(heads) * head_dim;
  const float scale = 1.0f / std::sqrt(float(head_dim));
  default_thread_pool().parallel_for(n * heads, [&](int64_t first, int64_t last) {
    std::vector<float> scores(static_cast<size_t>(n));
    std::vector<float> acc(static_cast<size_t>(head_dim));
    for (int64_t item = first; item < last; ++item) {
      const int64_t i = begin + item / heads;
      const int head = int(item % heads);
      const float *qi = &q[size_t(i * stride + head * head_dim)];
      float max_score = -INFINITY;
      for (int64_t j = 0; j < n; ++j) {
        const float *kj = &k[size_t((begin + j) * stride + head * head_dim)];
        scores[j] = cpu::dot(qi, kj, head_dim) * scale;
        max_score = std::max(max_score, scores[j]);
      }
      double total = 0;
      for (int64_t j = 0; j < n; ++j) {
        scores[j] = std::exp(scores[j] - max_score);
        total += scores[j];
      }
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t j = 0; j < n; ++j) {
        const float *vj = &v[size_t((begin + j) * stride + head * head_dim)];
        const float p = scores[j];
        for (int d = 0; d < head_dim; ++d)
          acc[d] += p * vj[d];
      }
      float *o = &out[size_t(i * stride + head * head_dim)];
      const float inv_total = float(1.0 / total);
      for (int d = 0; d < head_dim; ++d)
        o[d] = acc[d] * inv_total;
    }
  });
}

void add_into(std::vector<float> &target, const std::vector<float> &delta) {
  for (size_t i = 0; i < target.size(); ++i)
    target[i] += delta[i];
}

} // namespace

VisionWeights bind_vision_weights(const SafetensorsArchive &archive, const VisionConfig &c) {
  const int64_t hidden = c.hidden_size, text = c.text_hidden_size, proj = c.projector_hidden_size;
  VisionWeights w;
  w.patch_embedding = bind_weight(archive, kTower + "embeddings.patch_embedding.weight",
                                  {hidden, 3, kTemporalPatch, kPatchSize, kPatchSize});
  w.pre_norm = bind_norm(archive, kTower + "pre_layrnorm", hidden);
  for (int l = 0; l < c.num_layers; ++l) {
    const std::string p = kTower + "encoder.layers." + std::to_string(l) + ".";
    VisionLayerWeights layer;
    layer.norm1 = bind_norm(archive, p + "layer_norm1", hidden);
    layer.norm2 = bind_norm(archive, p + "layer_norm2", hidden);
    layer.q = bind_linear(archive, p + "self_attn.q_proj", hidden, hidden);
    layer.k = bind_linear(archive, p + "self_attn.k_proj", hidden, hidden);
    layer.v = bind_linear(archive, p + "self_attn.v_proj", hidden, hidden);
    layer.out = bind_linear(archive, p + "self_attn.out_proj", hidden, hidden);
    // Release: mlp.fc1/fc2; transformers' save_pretrained: block_sparse_moe.fc1/fc2.
    const std::string mlp = archive.find(p + "mlp.fc1.weight") == nullptr &&
                                    archive.find(p + "block_sparse_moe.fc1.weight") != nullptr
                                ? p + "block_sparse_moe."
                                : p + "mlp.";
    layer.fc1 = bind_linear(archive, mlp + "fc1", c.intermediate_size, hidden);
    layer.fc2 = bind_linear(archive, mlp + "fc2", hidden, c.intermediate_size);
    w.layers.push_back(layer);
  }
  w.projector1 = bind_linear(archive, "multi_modal_projector.linear_1", proj, hidden);
  w.projector2 = bind_linear(archive, "multi_modal_projector.linear_2", text, proj);
  w.merge1 = bind_linear(archive, "patch_merge_mlp.linear_1", proj, 4 * text);
  w.merge2 = bind_linear(archive, "patch_merge_mlp.linear_2", text, proj);
  return w;
}

VisionTower::VisionTower(VisionConfig config, std::shared_ptr<const SafetensorsArchive> archive)
    : config_(config), owner_(archive), weights_(bind_vision_weights(*archive, config_)) {}

VisionTower::VisionTower(VisionConfig config, VisionWeights weights,
                         std::shared_ptr<const void> owner)
    : config_(config), owner_(std::move(owner)), weights_(std::move(weights)) {
  require(int(weights_.layers.size()) == config_.num_layers,
          "vision weights have " + std::to_string(weights_.layers.size()) + " layers, config " +
              std::to_string(config_.num_layers));
}

VisionTower VisionTower::load(const std::string &model_dir) {
  const std::optional<VisionConfig> config = load_vision_config(model_dir);
  require(config.has_value(),
          "checkpoint " + model_dir + " has no vision tower (no vision_config in config.json)");
  return VisionTower(*config, std::make_shared<const SafetensorsArchive>(model_dir));
}

std::vector<float> VisionTower::encode(const VisionPatches &patches, int segment_frames) const {
  const VisionConfig &c = config_;
  const int64_t n = patches.num_patches(), hidden = c.hidden_size;
  require(n > 0 && int64_t(patches.rows.size()) == n * kPatchValues,
          "vision input has no patches or a ragged patch buffer");
  require(segment_frames > 0, "segment length must be positive");
  const int64_t group = int64_t(patches.grid_h) * patches.grid_w;
  // Segments of <= segment_frames temporal groups; t restarts at 0 in each.
  std::vector<PatchCoord> coords;
  std::vector<std::pair<int64_t, int64_t>> segments;
  for (int t0 = 0; t0 < patches.grid_t; t0 += segment_frames) {
    const int frames = std::min(segment_frames, patches.grid_t - t0);
    const std::vector<PatchCoord> seg = window_order_coords(frames, patches.grid_h, patches.grid_w);
    coords.insert(coords.end(), seg.begin(), seg.end());
    segments.push_back({t0 * group, (t0 + frames) * group});
  }
  std::vector<float> h = cpu::matmul(patches.rows, n, weights_.patch_embedding);
  h = layer_norm(h, n, hidden, weights_.pre_norm, c.layer_norm_eps);
  std::vector<float> attn(h.size());
  for (const VisionLayerWeights &layer : weights_.layers) {
    const std::vector<float> a = layer_norm(h, n, hidden, layer.norm1, c.layer_norm_eps);
    std::vector<float> q = linear(a, n, layer.q), k = linear(a, n, layer.k);
    const std::vector<float> v = linear(a, n, layer.v);
    rope_3d(q.data(), n, c.num_heads, c.head_dim(), c.rope_axis_dim(), c.rope_theta, coords.data());
    rope_3d(k.data(), n, c.num_heads, c.head_dim(), c.rope_axis_dim(), c.rope_theta, coords.data());
    for (const auto &[begin, end] : segments)
      segment_attention(q, k, v, begin, end, c.num_heads, c.head_dim(), attn);
    add_into(h, linear(attn, n, layer.out));
    std::vector<float> m =
        linear(layer_norm(h, n, hidden, layer.norm2, c.layer_norm_eps), n, layer.fc1);
    gelu_in_place(m);
    add_into(h, linear(m, n, layer.fc2));
  }
  return h;
}

std::vector<float> VisionTower::project(const std::vector<float> &encoded,
                                        int64_t num_patches) const {
  require(num_patches % 4 == 0, "patch count must be a multiple of the 2x2 merge window");
  std::vector<float> z = linear(encoded, num_patches, weights_.projector1);
  gelu_in_place(z);
  z = linear(z, num_patches, weights_.projector2);
  // Four consecutive rows (one 2x2 window) side by side form one merged row.
  std::vector<float> y = linear(z, num_patches / 4, weights_.merge1);
  gelu_in_place(y);
  return linear(y, num_patches / 4, weights_.merge2);
}

std::vector<float> VisionTower::image_features(const VisionPatches &patches) const {
  return project(encode(patches, std::max(1, patches.grid_t)), patches.num_patches());
}

std::vector<float> VisionTower::video_features(const VisionPatches &patches) const {
  return project(encode(patches, config_.segment_max_frames), patches.num_patches());
}

} // namespace m3::vision
