#pragma once
// Paths and readers for the assets scripts/assets/tokenizers.sh fetches into .deps/tokenizer.
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace m3::test {

inline const std::string kAssetRoot = ".deps/tokenizer";
// gpt4o-m3 is gpt4o plus MiniMax-M3's added tokens (tests/tokenizer/make_fixtures.mjs).
inline const std::vector<std::string> kModels = {"gpt4o", "gpt4o-m3", "gptoss",
                                                 "qwen3", "llama3",   "deepseek_v3"};
inline const std::vector<std::string> kCorpora = {"kjv.txt",
                                                  "python-docs.txt",
                                                  "linux-doc-zh_CN.txt",
                                                  "linux-doc-ja_JP.txt",
                                                  "linux-doc-ko_KR.txt",
                                                  "linux-doc-it_IT.txt",
                                                  "emoji-test.txt",
                                                  "emoji-zwj.txt",
                                                  "special-mix.txt",
                                                  "long-runs.txt"};

inline std::string read_asset(const std::string &relative) {
  const std::string path = kAssetRoot + "/" + relative;
  std::ifstream file(path, std::ios::binary);
  require(file.good(), "missing test asset " + path + " (run scripts/test_assets.sh)");
  return std::string(std::istreambuf_iterator<char>(file), {});
}

inline std::vector<int32_t> read_ids(const std::string &relative) {
  const std::string bytes = read_asset(relative);
  std::vector<int32_t> ids(bytes.size() / sizeof(int32_t));
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char *>(ids.data()));
  return ids;
}

inline std::string model_path(const std::string &model) {
  return kAssetRoot + "/models/" + model + "/tokenizer.json";
}

// Loading takes a fraction of a second; share one instance per model across tests.
inline const Tokenizer &load_model(const std::string &model) {
  static std::map<std::string, Tokenizer> loaded;
  auto it = loaded.find(model);
  if (it == loaded.end())
    it = loaded.emplace(model, Tokenizer::from_file(model_path(model))).first;
  return it->second;
}

} // namespace m3::test
