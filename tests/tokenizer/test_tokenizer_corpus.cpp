// Our ids against @huggingface/tokenizers (and tiktoken for o200k) on the >5 MB corpus, plus
// llama.cpp's own vocab test pairs, plus decode(encode(x)) == x.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "assets.h"

namespace m3::test {
namespace {

std::string join_ids(const std::vector<int32_t> &ids, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < std::min(end, ids.size()); ++i)
    out += std::to_string(ids[i]) + " ";
  return out;
}

// Empty when equal; otherwise the first mismatch with the ids and text around it.
std::string first_mismatch(const Tokenizer &tokenizer, const std::vector<int32_t> &expected,
                           const std::vector<int32_t> &actual) {
  const auto [at_expected, at_actual] =
      std::mismatch(expected.begin(), expected.end(), actual.begin(), actual.end());
  if (at_expected == expected.end() && at_actual == actual.end())
    return {};
  const size_t index = static_cast<size_t>(at_expected - expected.begin());
  const size_t from = index > 8 ? index - 8 : 0;
  std::vector<int32_t> context(expected.begin() + static_cast<long>(from),
                               expected.begin() +
                                   static_cast<long>(std::min(index + 8, expected.size())));
  std::ostringstream report;
  report << "first mismatch at id #" << index << " of " << expected.size() << " expected / "
         << actual.size() << " actual\n  expected: " << join_ids(expected, from, index + 8)
         << "\n  actual:   " << join_ids(actual, from, index + 8) << "\n  text near: \""
         << tokenizer.decode(context) << "\"";
  return report.str();
}

// One test per model (loading a tokenizer takes a while) covering every corpus file.
class CorpusTest : public testing::TestWithParam<std::string> {};

TEST_P(CorpusTest, IdsMatchOraclesAndRoundTrip) {
  const std::string &model = GetParam();
  const Tokenizer &tokenizer = load_model(model);
  for (const std::string &corpus : kCorpora) {
    SCOPED_TRACE(model + " on " + corpus);
    const std::string text = read_asset("corpus/" + corpus);
    const std::vector<int32_t> ids = tokenizer.encode(text);
    const std::string prefix = "oracle/ids/" + model + "/" + corpus;
    EXPECT_EQ(first_mismatch(tokenizer, read_ids(prefix + ".hf.i32"), ids), "");
    if (model == "gpt4o") {
      EXPECT_EQ(first_mismatch(tokenizer, read_ids(prefix + ".tiktoken.i32"), ids), "");
    }
    const std::string decoded = tokenizer.decode(ids);
    // gpt4o-m3 has lstrip/rstrip tokens, which swallow the whitespace around them.
    if (model != "gpt4o-m3" || corpus != "special-mix.txt") {
      EXPECT_TRUE(decoded == text) << "decode(encode(x)) != x";
    }
    IncrementalDetokenizer detokenizer(tokenizer);
    std::string streamed;
    for (int32_t id : ids)
      streamed += detokenizer.push(id);
    streamed += detokenizer.flush();
    EXPECT_TRUE(streamed == decoded) << "streamed detokenization differs from decode";
  }
}

std::string case_name(const testing::TestParamInfo<std::string> &info) {
  std::string name = info.param;
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusTest, testing::ValuesIn(kModels), case_name);

// llama.cpp's ggml-vocab-*.gguf.inp/.out: test strings separated by a marker line, and the
// expected ids one line each.
void check_llama_vocab_pairs(const std::string &vocab, const std::string &model) {
  const std::string inputs = read_asset("llama-vocab/ggml-vocab-" + vocab + ".gguf.inp");
  std::istringstream outputs(read_asset("llama-vocab/ggml-vocab-" + vocab + ".gguf.out"));
  const std::string separator = "\n__ggml_vocab_test__\n";
  const Tokenizer &tokenizer = load_model(model);
  size_t begin = 0, cases = 0;
  for (size_t end; (end = inputs.find(separator, begin)) != std::string::npos;
       begin = end + separator.size()) {
    const std::string text = inputs.substr(begin, end - begin);
    std::string line;
    ASSERT_TRUE(std::getline(outputs, line)) << "fewer outputs than inputs";
    std::istringstream numbers(line);
    std::vector<int32_t> expected;
    for (int32_t id; numbers >> id;)
      expected.push_back(id);
    EXPECT_EQ(first_mismatch(tokenizer, expected, tokenizer.encode(text)), "")
        << "input: \"" << text << "\"";
    ++cases;
  }
  EXPECT_GE(cases, 40u);
}

// Edge cases (Unicode 15 characters, single_word/lstrip/rstrip tokens, Unicode whitespace)
// against ids from HF tokenizers' Rust library, recorded by tests/tokenizer/hf_rust_probes.py.
TEST(HfRustProbes, EdgeCasesMatchTheRustLibrary) {
  std::ifstream file("tests/tokenizer/hf_rust_probes.json");
  ASSERT_TRUE(file.good());
  const nlohmann::json probes = nlohmann::json::parse(file);
  const std::string single_word_suffix = "+single_word:";
  for (const auto &[name, cases] : probes.at("ids").items()) {
    const size_t variant = name.find(single_word_suffix);
    std::optional<Tokenizer> derived;
    if (variant != std::string::npos) {
      nlohmann::json spec = nlohmann::json::parse(
          read_asset("models/" + name.substr(0, variant) + "/tokenizer.json"));
      for (auto &token : spec.at("added_tokens"))
        if (token.at("content") == name.substr(variant + single_word_suffix.size()))
          token["single_word"] = true;
      derived = Tokenizer::from_json(spec.dump());
    }
    const Tokenizer &tokenizer = derived ? *derived : load_model(name);
    for (const auto &[text, ids] : cases.items())
      EXPECT_EQ(tokenizer.encode(text), ids.get<std::vector<int32_t>>())
          << name << " on \"" << text << "\"";
  }
}

TEST(LlamaCppVocab, Qwen2PairsWithQwen3Tokenizer) { check_llama_vocab_pairs("qwen2", "qwen3"); }
TEST(LlamaCppVocab, LlamaBpePairsWithLlama3Tokenizer) {
  check_llama_vocab_pairs("llama-bpe", "llama3");
}

} // namespace
} // namespace m3::test
