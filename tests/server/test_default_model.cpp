// The embedded default model: weights are a pure function of config.json (byte-identical when
// generated twice), the checkpoint binds under the real loader, and the committed tokenizer
// carries the M3 special tokens as single tokens and round-trips arbitrary text.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "model/weights.h"
#include "server/default_model.h"
#include "tokenizer/tokenizer.h"

namespace m3::server {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(DefaultModel, WeightsAreDeterministicAndLoad) {
  const fs::path root = fs::temp_directory_path() / ("m3_default_" + std::to_string(getpid()));
  std::vector<std::string> weights;
  for (const char* name : {"a", "b"}) {
    setenv("M3_CACHE_DIR", (root / name).c_str(), 1);
    const std::string dir = prepare_default_model();
    weights.push_back(read(fs::path(dir) / "model.safetensors"));
    Checkpoint checkpoint = load_checkpoint(dir);
    EXPECT_EQ(checkpoint.config.vocab_size, 8064);
    EXPECT_TRUE(checkpoint.config.has_sparse_layers());
    EXPECT_GT(checkpoint.config.num_experts, 1);
  }
  unsetenv("M3_CACHE_DIR");
  fs::remove_all(root);
  EXPECT_GT(weights[0].size(), 1000000u);
  EXPECT_TRUE(weights[0] == weights[1]) << "two generations differ";
}

TEST(DefaultModel, TokenizerHasTheM3SpecialTokensAndRoundTrips) {
  const Tokenizer tokenizer = Tokenizer::from_file("models/default/tokenizer.json");
  for (const char* special : {"]~!b[", "]~b]", "[e~[", "]<]minimax[>[", "<mm:think>", "</mm:think>",
                              "<tool_call>", "</tool_call>", "]<]image[>[", "]<]video[>["}) {
    auto id = tokenizer.token_to_id(special);
    ASSERT_TRUE(id.has_value()) << special;
    EXPECT_TRUE(tokenizer.is_special(*id));
    EXPECT_EQ(tokenizer.encode(std::string("x") + special + "y").size(), 3u) << special;
  }
  EXPECT_LE(tokenizer.vocab_size(), 8064u);
  EXPECT_LT(tokenizer.encode("In the beginning God created the heaven and the earth.").size(), 14u)
      << "KJV-trained merges make common words single tokens";
  std::mt19937 rng(std::random_device{}());
  const std::vector<std::string> pieces = {"a", "Z", " ", "\n", "é", "中", "🙂", "]", "<", "0", "tool"};
  for (int round = 0; round < 200; ++round) {
    std::string text;
    for (int i = 0; i < 30; ++i) text += pieces[rng() % pieces.size()];
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(text)), text);
  }
}

}  // namespace
}  // namespace m3::server
