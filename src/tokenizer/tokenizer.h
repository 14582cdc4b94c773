#pragma once
// A HF tokenizer.json tokenizer (byte-level BPE family: GPT-4o/o200k, Qwen, Llama 3, MiniMax).
//
//   auto tok = m3::Tokenizer::from_file("tokenizer.json");
//   std::vector<int32_t> ids = tok.encode("Hello <|endoftext|>");  // special tokens are matched
//   std::string text = tok.decode(ids);
//
// encode() matches HF `encode(text, add_special_tokens=False)`: no BOS/EOS or post-processing.
// Tokenizer is cheap to copy (shared immutable state) and safe to use from many threads.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace m3 {

class Tokenizer {
public:
  // Throws m3::Error for a missing file, bad JSON or an unsupported tokenizer.json feature.
  static Tokenizer from_file(const std::string &path);
  static Tokenizer from_json(std::string_view json);

  // Invalid UTF-8 in text is replaced by U+FFFD first (HF only accepts valid strings).
  // parse_special=false treats special added tokens in the text as plain text.
  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;
  // Invalid UTF-8 produced by the ids comes out as U+FFFD, as in HF decode.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Vocabulary spelling (e.g. "Ġhello"); throws m3::Error for an id outside the vocabulary.
  std::string id_to_token(int32_t id) const;
  bool is_special(int32_t id) const;
  // 1 + the largest id (vocabulary and added tokens).
  size_t vocab_size() const;

  // The bytes one token adds to decoded text; not necessarily valid UTF-8 on its own
  // (IncrementalDetokenizer joins them). Throws m3::Error for an unknown id.
  std::string_view token_bytes(int32_t id) const;

private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// Turns a stream of generated ids into text, emitting only complete UTF-8 characters.
class IncrementalDetokenizer {
public:
  explicit IncrementalDetokenizer(Tokenizer tokenizer, bool skip_special = false);
  // Text made complete by this id (often empty while a character's bytes are pending).
  std::string push(int32_t id);
  // Whatever is still pending, with an unfinished character shown as U+FFFD; resets the state.
  std::string flush();

private:
  Tokenizer tokenizer_;
  bool skip_special_;
  std::string pending_;
};

} // namespace m3
