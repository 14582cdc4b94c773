// CPU vision path timing at the full MiniMax-M3 vision shapes with random BF16 weights
// (ViT 1280 wide, 16 heads x 80, MLP 5120; projector 1280 -> 6144 -> 6144; merge 24576 -> 6144 ->
// 6144): preprocessing (smart_resize + bicubic resize + patch rows) and the tower per image.
//
//   bench_vision [--layers N] [--sizes HxW,HxW]
//
// --layers (default 32) encoder layers actually run; with fewer, the table also extrapolates the
// 32-layer time from the measured per-layer time (layers are identical in cost).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "vision/preprocess.h"
#include "vision/vision_tower.h"

namespace {

using Clock = std::chrono::steady_clock;
using m3::DType;
using m3::Weight;
using namespace m3::vision;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Random BF16 values ~ N(0, scale^2)-ish from a fast hash, stored in `store`.
struct Storage {
  std::vector<std::unique_ptr<uint16_t[]>> blocks;
  uint64_t state = 0x9E3779B97F4A7C15ull;

  Weight make(int64_t rows, int64_t cols, float scale, float offset = 0.0f) {
    auto data = std::make_unique<uint16_t[]>(size_t(rows * cols));
    for (int64_t i = 0; i < rows * cols; ++i) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      const float u = float(state >> 40) / float(1 << 24) - 0.5f; // [-0.5, 0.5)
      const float value = offset + scale * 3.4f * u;
      uint32_t bits;
      std::memcpy(&bits, &value, 4);
      data[i] = uint16_t(bits >> 16);
    }
    Weight w{DType::kBF16, data.get(), rows, cols, nullptr};
    blocks.push_back(std::move(data));
    return w;
  }
  Linear linear(int64_t out, int64_t in) {
    return {make(out, in, 1.0f / std::sqrt(float(in))), make(1, out, 0.02f)};
  }
  LayerNormWeights norm(int64_t width) {
    return {make(1, width, 0.1f, 1.0f), make(1, width, 0.1f)};
  }
};

RgbImage synthetic_image(int height, int width) {
  RgbImage image{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  for (size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = uint8_t((i * 2654435761u) >> 13);
  return image;
}

} // namespace

int main(int argc, char **argv) {
  int layers = 32;
  std::vector<std::pair<int, int>> sizes = {{448, 448}, {896, 1344}};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--layers"))
      layers = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--sizes")) {
      sizes.clear();
      for (const char *p = argv[i + 1]; *p;) {
        int h = 0, w = 0, n = 0;
        if (std::sscanf(p, "%dx%d%n", &h, &w, &n) != 2)
          break;
        sizes.push_back({h, w});
        p += n + (p[n] == ',');
      }
    }
  }
  VisionConfig config;
  config.hidden_size = 1280, config.num_heads = 16, config.num_layers = layers;
  config.intermediate_size = 5120, config.projector_hidden_size = 6144;
  config.text_hidden_size = 6144;
  auto storage = std::make_shared<Storage>();
  VisionWeights w;
  w.patch_embedding = storage->make(1280, kPatchValues, 1.0f / std::sqrt(float(kPatchValues)));
  w.pre_norm = storage->norm(1280);
  for (int l = 0; l < layers; ++l) {
    VisionLayerWeights layer;
    layer.norm1 = storage->norm(1280), layer.norm2 = storage->norm(1280);
    layer.q = storage->linear(1280, 1280), layer.k = storage->linear(1280, 1280);
    layer.v = storage->linear(1280, 1280), layer.out = storage->linear(1280, 1280);
    layer.fc1 = storage->linear(5120, 1280), layer.fc2 = storage->linear(1280, 5120);
    w.layers.push_back(layer);
  }
  w.projector1 = storage->linear(6144, 1280), w.projector2 = storage->linear(6144, 6144);
  w.merge1 = storage->linear(6144, 4 * 6144), w.merge2 = storage->linear(6144, 6144);
  const VisionTower tower(config, w, storage);

  std::printf("threads %d, encoder layers run %d\n", m3::default_thread_pool().size(), layers);
  std::printf(
      "| input HxW | resized HxW | patches | tokens | preprocess s | encoder s (%d layers) | "
      "per layer s | projector+merge s | est. 32-layer total s "
      "|\n|---|---|---|---|---|---|---|---|---|\n",
      layers);
  for (const auto &[height, width] : sizes) {
    const RgbImage image = synthetic_image(height, width);
    auto start = Clock::now();
    const VisionPatches patches = preprocess_image(image);
    const double preprocess = since(start);
    start = Clock::now();
    const std::vector<float> encoded = tower.encode(patches, 1);
    const double encoder = since(start);
    start = Clock::now();
    const std::vector<float> features = tower.project(encoded, patches.num_patches());
    const double projector = since(start);
    const double per_layer = layers > 0 ? encoder / layers : 0.0;
    std::printf("| %dx%d | %dx%d | %lld | %lld | %.3f | %.2f | %.2f | %.2f | %.1f |\n", height,
                width, patches.grid_h * kPatchSize, patches.grid_w * kPatchSize,
                (long long)patches.num_patches(), (long long)patches.num_tokens(), preprocess,
                encoder, per_layer, projector, preprocess + per_layer * 32 + projector);
    if (features.empty())
      return 1;
  }
  return 0;
}
