// Parity of the vision path with transformers 5.17 on the tiny VL fixtures of
// tests/fixtures/vision/<model> (scripts/gen_golden_vl.py: random checkpoints whose vision RoPE
// and per-image / per-segment attention follow the spec, PNG images and video frames, prompt ids
// with placeholders). Checked: the tower output and the projected + merged features of every
// image and video, the logits of every position with the features scattered over the
// placeholders (one prefill, and a prefill that stops inside the first image followed by decode
// steps), the greedy continuation, and `m3 logits` / `m3 generate` with --image / --video.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "fixture_files.h"
#include "model/minimax_m3.h"
#include "model/sequence_runner.h"
#include "model/token_ids_file.h"
#include "vision/multimodal.h"

namespace m3::vision {
namespace {

namespace fs = std::filesystem;
using m3::test::read_bytes;
using m3::test::read_floats;
using nlohmann::json;

constexpr double kMaxDiffOverStd = 1e-3;

std::vector<fs::path> model_fixtures() {
  std::vector<fs::path> dirs;
  for (const auto &entry : fs::directory_iterator(m3::test::vision_fixtures()))
    if (fs::exists(entry.path() / "model.safetensors"))
      dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

double std_dev(const float *x, size_t n) {
  double sum = 0, squares = 0;
  for (size_t i = 0; i < n; ++i)
    sum += x[i];
  const double mean = sum / n;
  for (size_t i = 0; i < n; ++i)
    squares += (x[i] - mean) * (x[i] - mean);
  return std::sqrt(squares / (n - 1));
}

// max |got - ref| / std(ref) over the whole buffer.
double rel_diff(const std::vector<float> &got, const std::vector<float> &ref) {
  EXPECT_EQ(got.size(), ref.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(got.size(), ref.size()); ++i)
    worst = std::max(worst, double(std::fabs(got[i] - ref[i])));
  return worst / std_dev(ref.data(), ref.size());
}

// Per row: max |diff| / std(ref row) <= tolerance and the same argmax.
void expect_logits_match(const std::vector<float> &got, const std::vector<float> &ref,
                         int64_t vocab, const std::string &what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  const int64_t rows = int64_t(ref.size()) / vocab;
  double worst = 0;
  int argmax_changes = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float *g = &got[r * vocab], *e = &ref[r * vocab];
    double diff = 0;
    for (int64_t i = 0; i < vocab; ++i)
      diff = std::max(diff, double(std::fabs(g[i] - e[i])));
    worst = std::max(worst, diff / std_dev(e, vocab));
    argmax_changes += std::max_element(g, g + vocab) - g != std::max_element(e, e + vocab) - e;
  }
  EXPECT_LE(worst, kMaxDiffOverStd) << what;
  EXPECT_EQ(argmax_changes, 0) << what;
}

struct Fixture {
  fs::path dir;
  json meta;
  std::vector<int32_t> ids;
  std::vector<MediaInput> media;
};

Fixture load_fixture(const fs::path &dir) {
  Fixture f{
      dir, m3::test::read_json(dir / "meta.json"), read_token_ids((dir / "ids.txt").string()), {}};
  for (const auto &m : f.meta["media"]) {
    std::vector<RgbImage> frames;
    for (const auto &file : m["files"])
      frames.push_back(decode_image(read_bytes(dir / file.get<std::string>())));
    MediaInput input;
    input.kind = m["kind"] == "image" ? MediaKind::kImage : MediaKind::kVideo;
    input.patches =
        input.kind == MediaKind::kImage ? preprocess_image(frames[0]) : preprocess_video(frames);
    EXPECT_EQ(input.patches.grid_t, m["grid_thw"][0].get<int>());
    EXPECT_EQ(input.patches.grid_h, m["grid_thw"][1].get<int>());
    EXPECT_EQ(input.patches.grid_w, m["grid_thw"][2].get<int>());
    f.media.push_back(std::move(input));
  }
  return f;
}

class VlParity : public ::testing::TestWithParam<fs::path> {};

TEST_P(VlParity, TowerAndFeaturesMatchTransformers) {
  const Fixture f = load_fixture(GetParam());
  const VisionTower tower = VisionTower::load(f.dir.string());
  std::vector<float> images, tower_out, videos;
  for (const MediaInput &m : f.media) {
    if (m.kind == MediaKind::kImage) {
      const std::vector<float> encoded = tower.encode(m.patches, 1);
      tower_out.insert(tower_out.end(), encoded.begin(), encoded.end());
      const std::vector<float> projected = tower.project(encoded, m.patches.num_patches());
      images.insert(images.end(), projected.begin(), projected.end());
    } else {
      const std::vector<float> v = tower.video_features(m.patches);
      videos.insert(videos.end(), v.begin(), v.end());
    }
  }
  EXPECT_LE(rel_diff(tower_out, read_floats(f.dir / "image_tower_out.f32")), 1e-4);
  EXPECT_LE(rel_diff(images, read_floats(f.dir / "image_features.f32")), 1e-4);
  EXPECT_LE(rel_diff(videos, read_floats(f.dir / "video_features.f32")), 1e-4);
}

TEST_P(VlParity, LogitsAndGreedyMatchTransformers) {
  const Fixture f = load_fixture(GetParam());
  const VisionTower tower = VisionTower::load(f.dir.string());
  CpuModel model(load_checkpoint(f.dir.string()));
  const PromptEmbeddings embeddings = media_embeddings(f.ids, tower, f.media);
  const std::vector<float> expected = read_floats(f.dir / "logits.f32");
  const int64_t vocab = model.config().vocab_size;
  expect_logits_match(sequence_logits(model, f.ids, 0, nullptr, &embeddings), expected, vocab,
                      "one prefill");
  // Stop the prefill inside the first image: its remaining placeholders arrive one per step.
  const auto first = std::find(f.ids.begin(), f.ids.end(), tower.config().image_token_id);
  const int32_t split = int32_t(first - f.ids.begin()) + 3;
  expect_logits_match(sequence_logits(model, f.ids, split, nullptr, &embeddings), expected, vocab,
                      "prefill " + std::to_string(split) + " + decode");
  const std::vector<int32_t> greedy = read_token_ids((f.dir / "greedy_ids.txt").string());
  EXPECT_EQ(greedy_generate(model, f.ids, int32_t(greedy.size()), false, &embeddings), greedy);
}

TEST_P(VlParity, MediaChangeTheLogits) {
  // The fixture is only meaningful if the media matter and transformers' own 2D tower (which
  // the generator replaced by the spec's) would give something else.
  const json meta = m3::test::read_json(GetParam() / "meta.json");
  EXPECT_GT(meta["media_vs_no_media_max_rel_diff"].get<double>(), 0.1);
  EXPECT_GT(meta["transformers_rope_vs_spec"]["first_image_features_max_rel_diff"].get<double>(),
            0.1);
  EXPECT_GT(meta["transformers_rope_vs_spec"]["logits_argmax_changes"].get<int>(), 0);
}

TEST_P(VlParity, PlaceholderCountMismatchIsAnError) {
  Fixture f = load_fixture(GetParam());
  const VisionTower tower = VisionTower::load(f.dir.string());
  f.media.pop_back();
  EXPECT_THROW(media_embeddings(f.ids, tower, f.media), m3::Error);
}

std::string run(const std::string &command) {
  std::string out;
  FILE *pipe = popen((command + " 2>&1").c_str(), "r");
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe))
    out.append(buffer, n);
  const int status = pclose(pipe);
  return (WIFEXITED(status) ? std::to_string(WEXITSTATUS(status)) : "signal") + ":" + out;
}

TEST_P(VlParity, CliLogitsAndGenerateTakeImagesAndVideos) {
  const Fixture f = load_fixture(GetParam());
  const char *binary = std::getenv("M3_BINARY");
  ASSERT_NE(binary, nullptr);
  std::string media;
  for (const auto &m : f.meta["media"]) {
    std::string files;
    for (const auto &file : m["files"])
      files += (files.empty() ? "" : ",") + (f.dir / file.get<std::string>()).string();
    media += std::string(m["kind"] == "image" ? " --image " : " --video ") + "'" + files + "'";
  }
  const std::string base = std::string(binary) + " %s --model '" + f.dir.string() + "' --ids '" +
                           (f.dir / "ids.txt").string() + "'";
  const fs::path out = fs::temp_directory_path() / ("m3_vl_" + f.dir.filename().string() + ".f32");
  char command[4096];
  std::snprintf(command, sizeof command, base.c_str(), "logits");
  const std::string logits_run = run(command + media + " --out '" + out.string() + "'");
  ASSERT_EQ(logits_run.substr(0, 2), "0:") << logits_run;
  expect_logits_match(read_floats(out), read_floats(f.dir / "logits.f32"),
                      f.meta["vocab"].get<int64_t>(), "m3 logits");
  fs::remove(out);

  const std::vector<int32_t> greedy = read_token_ids((f.dir / "greedy_ids.txt").string());
  std::snprintf(command, sizeof command, base.c_str(), "generate");
  const std::string generated =
      run(command + media + " --temperature 0 --ignore-eos --max-tokens " +
          std::to_string(greedy.size()));
  std::string expected = "0:";
  for (size_t i = 0; i < greedy.size(); ++i)
    expected += (i ? " " : "") + std::to_string(greedy[i]);
  EXPECT_EQ(generated, expected + "\n");

  // One media item short: one clear line, non-zero exit.
  const size_t last = media.rfind(" --");
  const std::string missing = run(command + media.substr(0, last) + " --max-tokens 1");
  EXPECT_EQ(missing.substr(0, 2), "1:") << missing;
  EXPECT_NE(missing.find("placeholder"), std::string::npos) << missing;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VlParity, ::testing::ValuesIn(model_fixtures()),
                         [](const auto &info) { return info.param.filename().string(); });

} // namespace
} // namespace m3::vision
