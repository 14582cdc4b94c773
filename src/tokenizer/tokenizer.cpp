#include "tokenizer/tokenizer.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace m3 {

struct Tokenizer::Impl {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<BpeModel> model;
  std::unique_ptr<AddedTokenMatcher> raw_tokens;        // matched in the input text
  std::unique_ptr<AddedTokenMatcher> normalized_tokens; // matched after normalization
  std::vector<AddedToken> added;
  std::vector<std::string> decoded; // by id: the bytes the token decodes to
  std::vector<bool> special;        // by id
  std::vector<bool> known;          // by id: the id names a token

  void encode_plain(std::string_view text, std::vector<int32_t> &out) const;
  void encode_normalized(std::string_view text, bool parse_special,
                         std::vector<int32_t> &out) const;
};

namespace {

AddedToken parse_added_token(const nlohmann::json &spec) {
  return AddedToken{spec.at("id").get<int32_t>(),
                    spec.at("content").get<std::string>(),
                    spec.value("special", false),
                    spec.value("single_word", false),
                    spec.value("lstrip", false),
                    spec.value("rstrip", false),
                    spec.value("normalized", !spec.value("special", false))};
}

// Decoded bytes of a token under the ByteLevel decoder: mapped back to bytes when every character
// is a byte-level symbol, otherwise the token's own text (as HF's ByteLevel decoder does).
std::string byte_level_decoded(const std::string &token) {
  auto bytes = byte_level::token_to_bytes(token);
  return bytes ? std::move(*bytes) : token;
}

void check_decoder(const nlohmann::json &decoder) {
  const std::string type = decoder.is_null() ? "none" : decoder.value("type", "");
  require(type == "ByteLevel",
          "unsupported tokenizer.json decoder '" + type + "' (only ByteLevel is implemented)");
}

} // namespace

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::from_file(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  require(file.good(), "cannot open tokenizer file '" + path + "'");
  std::stringstream buffer;
  buffer << file.rdbuf();
  try {
    return from_json(buffer.str());
  } catch (const Error &error) {
    fail(path + ": " + error.what());
  }
}

Tokenizer Tokenizer::from_json(std::string_view json_text) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception &error) {
    fail(std::string("tokenizer.json is not valid JSON: ") + error.what());
  }
  auto impl = std::make_shared<Impl>();
  try {
    impl->normalizer = make_normalizer(json.value("normalizer", nlohmann::json()));
    impl->pre_tokenizer = make_pre_tokenizer(json.value("pre_tokenizer", nlohmann::json()));
    check_decoder(json.value("decoder", nlohmann::json()));
    const bool byte_level = impl->pre_tokenizer && impl->pre_tokenizer->byte_level();
    impl->model = std::make_unique<BpeModel>(json.at("model"), byte_level);

    std::vector<AddedToken> raw, normalized;
    std::vector<std::string> raw_patterns, normalized_patterns;
    for (const auto &spec : json.value("added_tokens", nlohmann::json::array())) {
      AddedToken token = parse_added_token(spec);
      require(token.id >= 0, "tokenizer.json added token with a negative id");
      impl->added.push_back(token);
      if (token.normalized && impl->normalizer) {
        std::string pattern = token.content;
        impl->normalizer->normalize(pattern);
        normalized_patterns.push_back(std::move(pattern));
        normalized.push_back(std::move(token));
      } else {
        raw_patterns.push_back(token.content);
        raw.push_back(std::move(token));
      }
    }
    impl->raw_tokens = std::make_unique<AddedTokenMatcher>(std::move(raw), std::move(raw_patterns));
    impl->normalized_tokens =
        std::make_unique<AddedTokenMatcher>(std::move(normalized), std::move(normalized_patterns));
  } catch (const nlohmann::json::exception &error) {
    fail(std::string("unexpected tokenizer.json structure: ") + error.what());
  }

  size_t size = impl->model->size();
  for (const AddedToken &token : impl->added)
    size = std::max(size, static_cast<size_t>(token.id) + 1);
  impl->decoded.resize(size);
  impl->special.assign(size, false);
  impl->known.assign(size, false);
  for (size_t id = 0; id < impl->model->size(); ++id) {
    const std::string &token = impl->model->id_to_token(static_cast<int32_t>(id));
    if (token.empty())
      continue;
    impl->decoded[id] = byte_level_decoded(token);
    impl->known[id] = true;
  }
  for (const AddedToken &token : impl->added) {
    impl->decoded[token.id] = byte_level_decoded(token.content);
    impl->special[token.id] = token.special;
    impl->known[token.id] = true;
  }
  return Tokenizer(std::move(impl));
}

void Tokenizer::Impl::encode_plain(std::string_view text, std::vector<int32_t> &out) const {
  if (!pre_tokenizer) {
    model->encode(text, out);
    return;
  }
  Pieces pieces;
  pieces.views.push_back(text);
  pre_tokenizer->split(pieces);
  for (std::string_view piece : pieces.views)
    model->encode(piece, out);
}

void Tokenizer::Impl::encode_normalized(std::string_view text, bool parse_special,
                                        std::vector<int32_t> &out) const {
  if (!normalizer) {
    encode_plain(text, out);
    return;
  }
  std::string normalized(text);
  normalizer->normalize(normalized);
  if (normalized_tokens->empty()) {
    encode_plain(normalized, out);
    return;
  }
  std::vector<AddedTokenMatcher::Segment> segments;
  normalized_tokens->split(normalized, parse_special, segments);
  for (const auto &segment : segments) {
    if (segment.id >= 0)
      out.push_back(segment.id);
    else
      encode_plain(std::string_view(normalized).substr(segment.begin, segment.end - segment.begin),
                   out);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = utf8::lossy(text);
    text = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3);
  std::vector<AddedTokenMatcher::Segment> segments;
  impl_->raw_tokens->split(text, parse_special, segments);
  for (const auto &segment : segments) {
    if (segment.id >= 0)
      ids.push_back(segment.id);
    else
      impl_->encode_normalized(text.substr(segment.begin, segment.end - segment.begin),
                               parse_special, ids);
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (skip_special && is_special(id))
      continue;
    bytes += token_bytes(id);
  }
  return utf8::lossy(bytes);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  for (const AddedToken &added : impl_->added)
    if (added.content == token)
      return added.id;
  return impl_->model->token_to_id(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  token_bytes(id); // validates the id
  for (const AddedToken &added : impl_->added)
    if (added.id == id)
      return added.content;
  return impl_->model->id_to_token(id);
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->special.size() &&
         impl_->special[static_cast<size_t>(id)];
}

size_t Tokenizer::vocab_size() const { return impl_->decoded.size(); }

std::string_view Tokenizer::token_bytes(int32_t id) const {
  require(id >= 0 && static_cast<size_t>(id) < impl_->known.size() &&
              impl_->known[static_cast<size_t>(id)],
          "token id " + std::to_string(id) + " is not in the vocabulary");
  return impl_->decoded[static_cast<size_t>(id)];
}

} // namespace m3
