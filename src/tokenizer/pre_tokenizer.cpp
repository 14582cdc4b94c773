#include "tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace m3 {

namespace {

// How a split treats the delimiters it matched (HF SplitDelimiterBehavior).
enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Behavior parse_behavior(const std::string &name) {
  if (name == "Removed")
    return Behavior::kRemoved;
  if (name == "Isolated")
    return Behavior::kIsolated;
  if (name == "MergedWithPrevious")
    return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext")
    return Behavior::kMergedWithNext;
  if (name == "Contiguous")
    return Behavior::kContiguous;
  fail("unsupported split behavior '" + name + "'");
}

struct Span {
  size_t begin, end;
  bool is_match;
};

// Appends the pieces of `piece` cut at the regex matches, following HF's split semantics.
void split_piece(std::string_view piece, const Regex &regex, Behavior behavior, bool invert,
                 std::vector<std::string_view> &out) {
  std::vector<Span> spans;
  size_t previous = 0;
  regex.for_each_match(piece, [&](size_t begin, size_t end) {
    if (begin > previous)
      spans.push_back({previous, begin, invert});
    spans.push_back({begin, end, !invert});
    previous = end;
  });
  if (previous < piece.size())
    spans.push_back({previous, piece.size(), invert});

  std::vector<Span> kept;
  bool previous_match = false;
  switch (behavior) {
  case Behavior::kRemoved:
    for (const Span &span : spans)
      if (!span.is_match)
        kept.push_back(span);
    break;
  case Behavior::kIsolated:
    kept = spans;
    break;
  case Behavior::kMergedWithPrevious:
    for (const Span &span : spans) {
      if (span.is_match && !previous_match && !kept.empty())
        kept.back().end = span.end;
      else
        kept.push_back(span);
      previous_match = span.is_match;
    }
    break;
  case Behavior::kMergedWithNext:
    for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
      if (it->is_match && !previous_match && !kept.empty())
        kept.back().begin = it->begin;
      else
        kept.push_back(*it);
      previous_match = it->is_match;
    }
    std::reverse(kept.begin(), kept.end());
    break;
  case Behavior::kContiguous:
    for (const Span &span : spans) {
      if (span.is_match && previous_match)
        kept.back().end = span.end;
      else
        kept.push_back(span);
      previous_match = span.is_match;
    }
    break;
  }
  for (const Span &span : kept)
    if (span.end > span.begin)
      out.push_back(piece.substr(span.begin, span.end - span.begin));
}

class RegexSplit : public PreTokenizer {
public:
  RegexSplit(const std::string &pattern, Behavior behavior, bool invert)
      : regex_(pattern), behavior_(behavior), invert_(invert) {}
  void split(Pieces &pieces) const override {
    std::vector<std::string_view> out;
    out.reserve(pieces.views.size() * 4);
    for (std::string_view piece : pieces.views)
      split_piece(piece, regex_, behavior_, invert_, out);
    pieces.views = std::move(out);
  }

private:
  Regex regex_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's pre-tokenizer regex, used by ByteLevel when use_regex is set.
constexpr const char *kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Leaves the bytes as they are: the BPE model maps raw bytes to byte-level symbols itself.
class ByteLevel : public PreTokenizer {
public:
  ByteLevel(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space),
        split_(use_regex ? std::make_unique<RegexSplit>(kGpt2Pattern, Behavior::kIsolated, false)
                         : nullptr) {}
  void split(Pieces &pieces) const override {
    if (add_prefix_space_)
      for (std::string_view &piece : pieces.views)
        if (!piece.starts_with(' '))
          piece = pieces.owned.emplace_back(" " + std::string(piece));
    if (split_)
      split_->split(pieces);
  }
  bool byte_level() const override { return true; }

private:
  bool add_prefix_space_;
  std::unique_ptr<RegexSplit> split_;
};

class Sequence : public PreTokenizer {
public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {
    for (size_t i = 0; i + 1 < steps_.size(); ++i)
      require(!steps_[i]->byte_level(),
              "unsupported tokenizer.json: ByteLevel must be the last pre-tokenizer");
  }
  void split(Pieces &pieces) const override {
    for (const auto &step : steps_)
      step->split(pieces);
  }
  bool byte_level() const override { return !steps_.empty() && steps_.back()->byte_level(); }

private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

} // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json &spec) {
  if (spec.is_null())
    return nullptr;
  const std::string type = spec.value("type", "");
  if (type == "Split")
    return std::make_unique<RegexSplit>(unicode::pattern_regex(spec.at("pattern")),
                                        parse_behavior(spec.at("behavior").get<std::string>()),
                                        spec.value("invert", false));
  if (type == "ByteLevel")
    return std::make_unique<ByteLevel>(spec.value("add_prefix_space", true),
                                       spec.value("use_regex", true));
  if (type == "Digits")
    return std::make_unique<RegexSplit>(spec.value("individual_digits", false) ? R"(\p{N})"
                                                                               : R"(\p{N}+)",
                                        Behavior::kIsolated, false);
  if (type == "Whitespace")
    return std::make_unique<RegexSplit>(R"(\w+|[^\w\s]+)", Behavior::kRemoved, true);
  if (type == "WhitespaceSplit")
    return std::make_unique<RegexSplit>(R"(\s+)", Behavior::kRemoved, false);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const auto &step : spec.at("pretokenizers"))
      if (auto pre_tokenizer = make_pre_tokenizer(step))
        steps.push_back(std::move(pre_tokenizer));
    return std::make_unique<Sequence>(std::move(steps));
  }
  fail("unsupported tokenizer.json pre_tokenizer type '" + type + "'");
}

} // namespace m3
