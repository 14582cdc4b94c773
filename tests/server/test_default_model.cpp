// The embedded default model: the shipped checkpoint binds under the real loader (MXFP8 weights,
// MSA and MoE layers, a vision tower), the committed tokenizer carries the M3 special tokens as
// single tokens and round-trips arbitrary text, and the server tests' random-weight model is a
// pure function of its sources.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "model/weights.h"
#include "random_model.h"
#include "server/default_model.h"
#include "tokenizer/tokenizer.h"

namespace m3::server {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(DefaultModel, ShippedCheckpointLoads) {
  Checkpoint checkpoint = load_checkpoint(default_model_dir());
  EXPECT_EQ(checkpoint.config.vocab_size, 8064);
  EXPECT_TRUE(checkpoint.config.has_sparse_layers());
  EXPECT_GT(checkpoint.config.num_experts, 1);
  const std::string index = read(fs::path(default_model_dir()) / "model.safetensors.index.json");
  EXPECT_NE(index.find("weight_scale_inv"), std::string::npos) << "stored as MXFP8";
  EXPECT_NE(index.find("vision_tower.vision_model."), std::string::npos);
}

TEST(DefaultModel, TokenizerHasTheM3SpecialTokensAndRoundTrips) {
  const Tokenizer tokenizer = Tokenizer::from_file("models/default/tokenizer.json");
  for (const char *special : {"]~!b[", "]~b]", "[e~[", "]<]minimax[>[", "<mm:think>", "</mm:think>",
                              "<tool_call>", "</tool_call>", "]<]image[>[", "]<]video[>["}) {
    auto id = tokenizer.token_to_id(special);
    ASSERT_TRUE(id.has_value()) << special;
    EXPECT_TRUE(tokenizer.is_special(*id));
    EXPECT_EQ(tokenizer.encode(std::string("x") + special + "y").size(), 3u) << special;
  }
  EXPECT_LE(tokenizer.vocab_size(), 8064u);
  EXPECT_LT(tokenizer.encode("In the beginning God created the heaven and the earth.").size(), 14u)
      << "merges trained on the KJV make common words single tokens";
  std::mt19937 rng(std::random_device{}());
  const std::vector<std::string> pieces = {"a",    "Z", " ", "\n", "é",   "中",
                                           "🙂", "]", "<", "0",  "tool"};
  for (int round = 0; round < 200; ++round) {
    std::string text;
    for (int i = 0; i < 30; ++i)
      text += pieces[rng() % pieces.size()];
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(text)), text);
  }
}

TEST(RandomTestModel, WeightsAreDeterministicAndLoad) {
  const std::string dir = test_support::prepare_random_model();
  const fs::path again =
      fs::temp_directory_path() / ("m3_random_again_" + std::to_string(getpid()));
  fs::create_directories(again);
  fs::copy_file(fs::path(dir) / "config.json", again / "config.json");
  test_support::write_random_weights(again.string());
  const std::string first = read(fs::path(dir) / "model.safetensors");
  const std::string second = read(again / "model.safetensors");
  fs::remove_all(again);
  EXPECT_GT(first.size(), 1000000u);
  EXPECT_TRUE(first == second) << "two generations differ";
  Checkpoint checkpoint = load_checkpoint(dir);
  EXPECT_TRUE(checkpoint.config.has_sparse_layers());
}

} // namespace
} // namespace m3::server
