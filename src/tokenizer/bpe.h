#pragma once
// The BPE model of tokenizer.json: vocabulary, ranked merges, byte-level or character symbols
// (with byte_fallback / unk), ignore_merges, and a cache of piece -> ids.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace m3 {

class BpeModel {
public:
  // byte_level: pieces arrive as raw bytes and each byte starts as its byte-level symbol.
  BpeModel(const nlohmann::json &model, bool byte_level);
  ~BpeModel();

  // Appends the ids of one pre-tokenized piece.
  void encode(std::string_view piece, std::vector<int32_t> &out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Vocabulary spelling of an id ("" for ids the vocabulary does not use).
  const std::string &id_to_token(int32_t id) const;
  size_t size() const { return tokens_.size(); }

private:
  struct MergeTable;
  void initial_symbols(std::string_view piece, std::vector<int32_t> &symbols) const;
  void merge(std::vector<int32_t> &symbols) const;

  // Lets the maps below be searched with a string_view, without building a std::string.
  struct PieceHash {
    using is_transparent = void;
    size_t operator()(std::string_view piece) const { return std::hash<std::string_view>()(piece); }
  };
  using TokenMap = std::unordered_map<std::string, int32_t, PieceHash, std::equal_to<>>;

  TokenMap vocab_;
  std::vector<std::string> tokens_; // by id
  std::unique_ptr<MergeTable> merges_;
  bool byte_level_;
  bool ignore_merges_;
  bool byte_fallback_;
  bool fuse_unk_;
  std::optional<int32_t> unk_id_;
  int32_t byte_symbol_[256]; // byte-level symbol id, or fallback "<0xXX>" id; -1 when absent
  // For ignore_merges with byte-level pieces: raw bytes of each token -> id.
  TokenMap raw_vocab_;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, PieceHash, std::equal_to<>> cache_;
};

} // namespace m3
