#include "tokenizer/bpe.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace m3 {

namespace {
constexpr size_t kMaxCachedPieceBytes = 256;
constexpr size_t kMaxCacheEntries = 1 << 18;
} // namespace

// Open-addressing map from a symbol pair (left id, right id) to the merge's rank and result id.
struct BpeModel::MergeTable {
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  static constexpr uint64_t kEmpty = ~0ULL;

  explicit MergeTable(size_t count) {
    size_t capacity = 16;
    while (capacity < count * 2)
      capacity *= 2;
    keys.assign(capacity, kEmpty);
    merges.resize(capacity);
    mask = capacity - 1;
  }
  static uint64_t key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  size_t slot(uint64_t k) const { return (k * 0x9E3779B97F4A7C15ULL) >> 20 & mask; }
  // Keeps the first (lowest-rank) entry when a pair is listed twice, as HF does.
  void insert(int32_t left, int32_t right, Merge merge) {
    const uint64_t k = key(left, right);
    for (size_t i = slot(k);; i = (i + 1) & mask) {
      if (keys[i] == k)
        return;
      if (keys[i] == kEmpty) {
        keys[i] = k;
        merges[i] = merge;
        return;
      }
    }
  }
  const Merge *find(int32_t left, int32_t right) const {
    const uint64_t k = key(left, right);
    for (size_t i = slot(k);; i = (i + 1) & mask) {
      if (keys[i] == k)
        return &merges[i];
      if (keys[i] == kEmpty)
        return nullptr;
    }
  }

  std::vector<uint64_t> keys;
  std::vector<Merge> merges;
  size_t mask;
};

BpeModel::BpeModel(const nlohmann::json &model, bool byte_level) : byte_level_(byte_level) {
  require(model.value("type", "BPE") == "BPE",
          "unsupported tokenizer.json model type '" + model.value("type", "") + "' (only BPE)");
  for (const char *affix : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const auto it = model.find(affix);
    require(it == model.end() || it->is_null() || it->get<std::string>().empty(),
            std::string("unsupported tokenizer.json BPE option ") + affix);
  }
  require(!model.contains("dropout") || model.at("dropout").is_null(),
          "unsupported tokenizer.json BPE option dropout");
  ignore_merges_ = model.value("ignore_merges", false);
  byte_fallback_ = model.value("byte_fallback", false);
  fuse_unk_ = model.value("fuse_unk", false);

  const auto &vocab = model.at("vocab");
  vocab_.reserve(vocab.size());
  for (const auto &[token, id_json] : vocab.items()) {
    const int32_t id = id_json.get<int32_t>();
    require(id >= 0, "tokenizer.json vocab has a negative id for '" + token + "'");
    vocab_.emplace(token, id);
    if (static_cast<size_t>(id) >= tokens_.size())
      tokens_.resize(static_cast<size_t>(id) + 1);
    tokens_[static_cast<size_t>(id)] = token;
  }
  if (const auto it = model.find("unk_token"); it != model.end() && !it->is_null()) {
    const auto unk = vocab_.find(it->get<std::string>());
    require(unk != vocab_.end(), "tokenizer.json unk_token is not in the vocab");
    unk_id_ = unk->second;
  }

  const auto &merges = model.at("merges");
  merges_ = std::make_unique<MergeTable>(merges.size());
  int32_t rank = 0;
  for (const auto &merge : merges) {
    std::string left, right;
    if (merge.is_string()) {
      const std::string text = merge.get<std::string>();
      const size_t space = text.find(' ');
      require(space != std::string::npos && text.find(' ', space + 1) == std::string::npos,
              "bad tokenizer.json merge '" + text + "'");
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else {
      require(merge.is_array() && merge.size() == 2, "bad tokenizer.json merge " + merge.dump());
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    }
    const auto left_id = token_to_id(left), right_id = token_to_id(right),
               result_id = token_to_id(left + right);
    require(left_id && right_id && result_id,
            "tokenizer.json merge '" + left + " " + right + "' uses a token not in the vocab");
    merges_->insert(*left_id, *right_id, {rank++, *result_id});
  }

  for (int byte = 0; byte < 256; ++byte) {
    char fallback[8];
    std::snprintf(fallback, sizeof(fallback), "<0x%02X>", byte);
    const auto id = token_to_id(byte_level_ ? byte_level::byte_to_token(static_cast<uint8_t>(byte))
                                            : std::string(fallback));
    byte_symbol_[byte] = id.value_or(-1);
  }
  if (ignore_merges_ && byte_level_)
    for (const auto &[token, id] : vocab_)
      if (auto bytes = byte_level::token_to_bytes(token))
        raw_vocab_.emplace(std::move(*bytes), id);
}

BpeModel::~BpeModel() = default;

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end())
    return std::nullopt;
  return it->second;
}

const std::string &BpeModel::id_to_token(int32_t id) const {
  static const std::string kNone;
  return id >= 0 && static_cast<size_t>(id) < tokens_.size() ? tokens_[static_cast<size_t>(id)]
                                                             : kNone;
}

void BpeModel::initial_symbols(std::string_view piece, std::vector<int32_t> &symbols) const {
  const auto push_unknown = [&] {
    if (!unk_id_)
      return; // HF drops unknown characters when there is no unk token
    if (fuse_unk_ && !symbols.empty() && symbols.back() == *unk_id_)
      return;
    symbols.push_back(*unk_id_);
  };
  if (byte_level_) {
    for (char c : piece) {
      const int32_t id = byte_symbol_[static_cast<uint8_t>(c)];
      if (id >= 0)
        symbols.push_back(id);
      else
        push_unknown();
    }
    return;
  }
  for (size_t pos = 0; pos < piece.size();) {
    const size_t start = pos;
    utf8::next(piece, pos);
    const std::string_view character = piece.substr(start, pos - start);
    if (const auto id = token_to_id(character)) {
      symbols.push_back(*id);
      continue;
    }
    const bool all_bytes =
        byte_fallback_ && std::all_of(character.begin(), character.end(), [&](char c) {
          return byte_symbol_[static_cast<uint8_t>(c)] >= 0;
        });
    if (all_bytes) {
      for (char c : character)
        symbols.push_back(byte_symbol_[static_cast<uint8_t>(c)]);
    } else {
      push_unknown();
    }
  }
}

// Applies merges lowest rank first (leftmost first among equal ranks), like HF's Word::merge_all:
// symbols form a linked list and candidate pairs sit in a min-heap, re-checked when popped.
void BpeModel::merge(std::vector<int32_t> &symbols) const {
  const size_t count = symbols.size();
  if (count < 2)
    return;
  struct Candidate {
    int32_t rank, position, left, right, result;
    bool operator>(const Candidate &other) const {
      return rank != other.rank ? rank > other.rank : position > other.position;
    }
  };
  thread_local std::vector<int32_t> next, previous;
  thread_local std::vector<Candidate> heap;
  next.resize(count);
  previous.resize(count);
  heap.clear();
  const auto consider = [&](int32_t left_position, int32_t right_position) {
    const int32_t left = symbols[left_position], right = symbols[right_position];
    if (const MergeTable::Merge *merge = merges_->find(left, right)) {
      heap.push_back({merge->rank, left_position, left, right, merge->result});
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    }
  };
  for (size_t i = 0; i < count; ++i) {
    next[i] = static_cast<int32_t>(i + 1);
    previous[i] = static_cast<int32_t>(i) - 1;
  }
  for (size_t i = 0; i + 1 < count; ++i)
    consider(static_cast<int32_t>(i), static_cast<int32_t>(i + 1));

  constexpr int32_t kMerged = -1;
  const auto end = static_cast<int32_t>(count);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const Candidate candidate = heap.back();
    heap.pop_back();
    const int32_t position = candidate.position;
    const int32_t right_position = next[position];
    if (symbols[position] != candidate.left || right_position == end ||
        symbols[right_position] != candidate.right)
      continue; // stale: one side was merged since this pair was queued
    symbols[position] = candidate.result;
    symbols[right_position] = kMerged;
    next[position] = next[right_position];
    if (next[position] != end)
      previous[next[position]] = position;
    if (previous[position] >= 0)
      consider(previous[position], position);
    if (next[position] != end)
      consider(position, next[position]);
  }
  symbols.erase(std::remove(symbols.begin(), symbols.end(), kMerged), symbols.end());
}

void BpeModel::encode(std::string_view piece, std::vector<int32_t> &out) const {
  if (piece.empty())
    return;
  const bool cacheable = piece.size() <= kMaxCachedPieceBytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (const auto it = cache_.find(piece); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  thread_local std::vector<int32_t> symbols;
  symbols.clear();
  std::optional<int32_t> whole;
  if (ignore_merges_) {
    const auto &whole_vocab = byte_level_ ? raw_vocab_ : vocab_;
    if (const auto it = whole_vocab.find(piece); it != whole_vocab.end())
      whole = it->second;
  }
  if (whole) {
    symbols.push_back(*whole);
  } else {
    initial_symbols(piece, symbols);
    merge(symbols);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= kMaxCacheEntries)
      cache_.clear();
    cache_.emplace(std::string(piece), symbols);
  }
}

} // namespace m3
