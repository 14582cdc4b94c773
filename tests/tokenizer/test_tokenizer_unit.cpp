// Asset-free tests: UTF-8 helpers, the incremental detokenizer (random splits of multi-byte
// characters) and added-token handling, on a small byte-level BPE built here with random merges.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace m3 {
namespace {

std::mt19937 &rng() {
  static std::mt19937 generator(std::random_device{}());
  return generator;
}

// Random valid UTF-8 mixing ASCII, Latin, CJK, emoji (4-byte) and whitespace runs.
std::string random_text(size_t characters) {
  static const char32_t kRanges[][2] = {{0x20, 0x7E},     {0xA0, 0x24F},      {0x3040, 0x30FF},
                                        {0x4E00, 0x9FFF}, {0x1F300, 0x1FAFF}, {0x0A, 0x0A}};
  std::string text;
  for (size_t i = 0; i < characters; ++i) {
    const auto &range = kRanges[rng()() % std::size(kRanges)];
    utf8::append(text, range[0] + static_cast<char32_t>(rng()() % (range[1] - range[0] + 1)));
  }
  return text;
}

// Character boundaries of valid UTF-8, found by decoding.
std::vector<size_t> boundaries(const std::string &text) {
  std::vector<size_t> result{0};
  for (size_t pos = 0; pos < text.size();) {
    utf8::next(text, pos);
    result.push_back(pos);
  }
  return result;
}

TEST(Utf8, LossyFollowsTheUnicodeMaximalSubpartExample) {
  // Unicode Standard 15.0, section 3.9, Table 3-8 (U+FFFD for maximal subparts).
  const std::string bytes = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8::lossy(bytes), "a" + fffd + fffd + fffd + "b" + fffd + "c" + fffd + fffd + "d");
  EXPECT_FALSE(utf8::is_valid(bytes));
  EXPECT_FALSE(utf8::is_valid("\xED\xA0\x80")); // surrogate
  EXPECT_FALSE(utf8::is_valid("\xC0\xAF"));     // overlong
}

TEST(Utf8, ValidTextSurvivesAndRandomBytesComeOutValid) {
  for (int round = 0; round < 200; ++round) {
    const std::string text = random_text(50);
    EXPECT_TRUE(utf8::is_valid(text));
    EXPECT_EQ(utf8::lossy(text), text);
    std::string bytes(text);
    for (int flips = 0; flips < 3; ++flips)
      bytes[rng()() % bytes.size()] = static_cast<char>(rng()());
    EXPECT_TRUE(utf8::is_valid(utf8::lossy(bytes)));
  }
}

TEST(Utf8, CompletePrefixStopsAtTheLastWholeCharacter) {
  for (int round = 0; round < 100; ++round) {
    const std::string text = random_text(30);
    const std::vector<size_t> cuts = boundaries(text);
    for (size_t length = 0; length <= text.size(); ++length) {
      const size_t expected = *std::prev(std::upper_bound(cuts.begin(), cuts.end(), length));
      ASSERT_EQ(utf8::complete_prefix_length(std::string_view(text).substr(0, length)), expected);
    }
  }
}

// A byte-level BPE whose merges join random neighbouring bytes of random text, so tokens often
// hold part of a character; plus one special and one plain added token.
struct SmallTokenizer {
  Tokenizer tokenizer;
  std::string json;
  int32_t special_id;
  int32_t plain_id;
};

SmallTokenizer make_small_tokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  std::vector<std::string> tokens;
  for (int byte = 0; byte < 256; ++byte) {
    tokens.push_back(byte_level::byte_to_token(static_cast<uint8_t>(byte)));
    vocab[tokens.back()] = byte;
  }
  nlohmann::json merges = nlohmann::json::array();
  const std::string sample = random_text(2000);
  std::vector<std::string> symbols;
  for (unsigned char c : sample)
    symbols.push_back(byte_level::byte_to_token(c));
  for (int merge = 0; merge < 400 && symbols.size() > 1; ++merge) {
    const size_t at = rng()() % (symbols.size() - 1);
    const std::string joined = symbols[at] + symbols[at + 1];
    if (!vocab.contains(joined)) {
      vocab[joined] = static_cast<int>(tokens.size());
      tokens.push_back(joined);
      merges.push_back(nlohmann::json::array({symbols[at], symbols[at + 1]}));
    }
    symbols[at] = joined;
    symbols.erase(symbols.begin() + static_cast<long>(at) + 1);
  }
  const int special_id = static_cast<int>(tokens.size()), plain_id = special_id + 1;
  const auto added = [](int id, const char *content, bool special) {
    return nlohmann::json{{"id", id},          {"content", content}, {"single_word", false},
                          {"lstrip", false},   {"rstrip", false},    {"normalized", false},
                          {"special", special}};
  };
  const nlohmann::json spec = {
      {"added_tokens", {added(special_id, "<|end|>", true), added(plain_id, "<sep>", false)}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
  return {Tokenizer::from_json(spec.dump()), spec.dump(), special_id, plain_id};
}

TEST(Tokenizer, RoundTripsRandomTextAndMatchesAddedTokens) {
  const SmallTokenizer small = make_small_tokenizer();
  for (int round = 0; round < 50; ++round) {
    const std::string left = random_text(40), right = random_text(40);
    const std::string text = left + "<|end|>" + right + "<sep>";
    const std::vector<int32_t> ids = small.tokenizer.encode(text);
    EXPECT_EQ(small.tokenizer.decode(ids), text);
    std::vector<int32_t> expected = small.tokenizer.encode(left);
    expected.push_back(small.special_id);
    for (int32_t id : small.tokenizer.encode(right))
      expected.push_back(id);
    expected.push_back(small.plain_id);
    EXPECT_EQ(ids, expected);
    const std::vector<int32_t> literal = small.tokenizer.encode(text, /*parse_special=*/false);
    EXPECT_EQ(std::count(literal.begin(), literal.end(), small.special_id), 0);
    EXPECT_EQ(literal.back(), small.plain_id);
    EXPECT_EQ(small.tokenizer.decode(literal), text);
    EXPECT_EQ(small.tokenizer.decode(ids, /*skip_special=*/true), left + right + "<sep>");
  }
}

TEST(IncrementalDetokenizer, EmitsOnlyWholeCharactersAndMatchesDecode) {
  const SmallTokenizer small = make_small_tokenizer();
  for (int round = 0; round < 200; ++round) {
    const std::string text = random_text(1 + rng()() % 60);
    std::vector<int32_t> ids = small.tokenizer.encode(text);
    for (bool skip_special : {false, true}) {
      IncrementalDetokenizer detokenizer(small.tokenizer, skip_special);
      std::string streamed;
      size_t bytes_in = 0;
      for (int32_t id : ids) {
        const std::string piece = detokenizer.push(id);
        bytes_in += small.tokenizer.token_bytes(id).size();
        ASSERT_TRUE(utf8::is_valid(piece));
        ASSERT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos);
        streamed += piece;
        ASSERT_TRUE(text.starts_with(streamed));
        // Every whole character received so far has been emitted; at most 3 bytes wait.
        ASSERT_LE(bytes_in - streamed.size(), 3u);
      }
      streamed += detokenizer.flush();
      EXPECT_EQ(streamed, text);
    }
  }
}

TEST(IncrementalDetokenizer, RandomIdStreamsMatchDecodeIncludingSpecialTokens) {
  const SmallTokenizer small = make_small_tokenizer();
  for (int round = 0; round < 300; ++round) {
    std::vector<int32_t> ids;
    for (int i = 0; i < 20; ++i)
      ids.push_back(static_cast<int32_t>(rng()() % small.tokenizer.vocab_size()));
    for (bool skip_special : {false, true}) {
      IncrementalDetokenizer detokenizer(small.tokenizer, skip_special);
      std::string streamed;
      for (int32_t id : ids) {
        const std::string piece = detokenizer.push(id);
        ASSERT_TRUE(utf8::is_valid(piece));
        streamed += piece;
      }
      streamed += detokenizer.flush();
      EXPECT_EQ(streamed, small.tokenizer.decode(ids, skip_special));
    }
  }
}

TEST(Tokenizer, ConcurrentEncodesAgreeWithSequentialOnes) {
  const SmallTokenizer small = make_small_tokenizer();
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i)
    texts.push_back(random_text(200));
  std::vector<std::vector<int32_t>> expected;
  for (const std::string &text : texts)
    expected.push_back(small.tokenizer.encode(text));
  // A second instance of the same tokenizer, so the threads start from an empty piece cache.
  const Tokenizer shared = Tokenizer::from_json(small.json);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round)
        for (size_t i = 0; i < texts.size(); ++i)
          mismatches[t] += shared.encode(texts[(i + t * 7) % texts.size()]) !=
                           expected[(i + t * 7) % texts.size()];
    });
  for (auto &thread : threads)
    thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(Tokenizer, UserMistakesAreClearErrors) {
  EXPECT_THROW(Tokenizer::from_json("{not json"), Error);
  EXPECT_THROW(Tokenizer::from_json(R"({"model": {"type": "Unigram"}})"), Error);
  EXPECT_THROW(Tokenizer::from_file("/nonexistent/tokenizer.json"), Error);
  const SmallTokenizer small = make_small_tokenizer();
  EXPECT_THROW(small.tokenizer.decode(std::vector<int32_t>{-1}), Error);
  EXPECT_THROW(small.tokenizer.id_to_token(static_cast<int32_t>(small.tokenizer.vocab_size())),
               Error);
  EXPECT_EQ(small.tokenizer.token_to_id("<|end|>"), small.special_id);
  EXPECT_TRUE(small.tokenizer.is_special(small.special_id));
  EXPECT_FALSE(small.tokenizer.is_special(small.plain_id));
}

TEST(Tokenizer, InvalidUtf8InputIsReplacedNotRejected) {
  const SmallTokenizer small = make_small_tokenizer();
  const std::string bytes = "ok\xFF\xE4\xB8";
  EXPECT_EQ(small.tokenizer.decode(small.tokenizer.encode(bytes)), utf8::lossy(bytes));
}

} // namespace
} // namespace m3
