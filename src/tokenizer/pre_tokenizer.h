#pragma once
// tokenizer.json pre-tokenizers: Split (regex or string, any behavior, invert), ByteLevel,
// Digits, Whitespace, WhitespaceSplit and Sequence. They cut normalized text into pieces that the
// BPE model encodes independently.
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace m3 {

// Pieces of text; views point into the caller's text or into `owned` (pieces a pre-tokenizer
// rewrote, e.g. with a prefix space).
struct Pieces {
  std::vector<std::string_view> views;
  std::deque<std::string> owned;
};

class PreTokenizer {
public:
  virtual ~PreTokenizer() = default;
  virtual void split(Pieces &pieces) const = 0;
  // True when the pieces come out as raw bytes for a byte-level vocabulary (ByteLevel is last).
  virtual bool byte_level() const { return false; }
};

// Returns nullptr for a JSON null; throws m3::Error for unsupported types or orders.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json &spec);

} // namespace m3
