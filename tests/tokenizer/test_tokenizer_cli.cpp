// `m3 tokenize` / `m3 detokenize` end to end against the @huggingface/tokenizers ids.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "assets.h"

namespace m3::test {
namespace {

std::string run(const std::string &command) {
  const char *binary = std::getenv("M3_BINARY");
  EXPECT_NE(binary, nullptr) << "M3_BINARY is not set";
  const auto out = std::filesystem::temp_directory_path() /
                   ("m3_tokenizer_cli_" + std::to_string(::getpid()) + ".out");
  const int status =
      std::system((std::string(binary) + " " + command + " > " + out.string()).c_str());
  EXPECT_EQ(status, 0) << command;
  std::ifstream file(out, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(file)), {});
  std::filesystem::remove(out);
  return text;
}

TEST(TokenizerCli, TokenizeMatchesOracleAndDetokenizeRestoresText) {
  const std::string corpus = kAssetRoot + "/corpus/linux-doc-ja_JP.txt";
  const std::string tokenizer = model_path("qwen3");
  std::istringstream printed(run("tokenize --tokenizer " + tokenizer + " --in " + corpus));
  std::vector<int32_t> ids;
  for (int32_t id; printed >> id;)
    ids.push_back(id);
  EXPECT_EQ(ids, read_ids("oracle/ids/qwen3/linux-doc-ja_JP.txt.hf.i32"));

  const auto ids_file = std::filesystem::temp_directory_path() /
                        ("m3_tokenizer_cli_" + std::to_string(::getpid()) + ".ids");
  std::ofstream(ids_file) << printed.str();
  const std::string text =
      run("detokenize --tokenizer " + tokenizer + " --in " + ids_file.string());
  std::filesystem::remove(ids_file);
  EXPECT_TRUE(text == read_asset("corpus/linux-doc-ja_JP.txt"));
}

TEST(TokenizerCli, BadIdsAreAOneLineError) {
  const char *binary = std::getenv("M3_BINARY");
  ASSERT_NE(binary, nullptr);
  const std::string command = "echo '12 x' | " + std::string(binary) + " detokenize --tokenizer " +
                              model_path("qwen3") + " 2>/dev/null";
  EXPECT_NE(std::system(command.c_str()), 0);
}

} // namespace
} // namespace m3::test
