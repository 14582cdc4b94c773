#pragma once
// tokenizer.json normalizers: NFC/NFD/NFKC/NFKD (utf8proc), Lowercase, Prepend, Replace, Strip
// and Sequence. Applied to the text between added tokens before pre-tokenization.
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace m3 {

class Normalizer {
public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string &text) const = 0;
};

// Returns nullptr for a JSON null (no normalizer); throws m3::Error for unsupported types.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json &spec);

} // namespace m3
