#include "tokenizer/normalizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace m3 {

namespace {

bool is_ascii(const std::string &text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

class UnicodeNormalizer : public Normalizer {
public:
  explicit UnicodeNormalizer(int options) : options_(options) {}
  void normalize(std::string &text) const override {
    if (is_ascii(text))
      return; // every normal form leaves ASCII unchanged
    utf8proc_uint8_t *mapped = nullptr;
    const utf8proc_ssize_t length =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t *>(text.data()),
                     static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                     static_cast<utf8proc_option_t>(options_));
    require(length >= 0, std::string("unicode normalization failed: ") + utf8proc_errmsg(length));
    text.assign(reinterpret_cast<const char *>(mapped), static_cast<size_t>(length));
    std::free(mapped);
  }

private:
  int options_;
};

class Lowercase : public Normalizer {
public:
  void normalize(std::string &text) const override {
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();)
      utf8::append(out, static_cast<char32_t>(utf8proc_tolower(
                            static_cast<utf8proc_int32_t>(utf8::next(text, pos)))));
    text = std::move(out);
  }
};

class Prepend : public Normalizer {
public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string &text) const override {
    if (!text.empty())
      text.insert(0, prefix_);
  }

private:
  std::string prefix_;
};

class Replace : public Normalizer {
public:
  Replace(const std::string &pattern, std::string content)
      : regex_(pattern), content_(std::move(content)) {}
  void normalize(std::string &text) const override {
    std::string out;
    size_t copied = 0;
    regex_.for_each_match(text, [&](size_t begin, size_t end) {
      out.append(text, copied, begin - copied);
      out += content_;
      copied = end;
    });
    if (copied == 0 && out.empty())
      return;
    out.append(text, copied, std::string::npos);
    text = std::move(out);
  }

private:
  Regex regex_;
  std::string content_;
};

class Strip : public Normalizer {
public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string &text) const override {
    size_t begin = 0, end = text.size();
    if (left_)
      while (begin < end) {
        size_t next = begin;
        if (!unicode::is_whitespace(utf8::next(text, next)))
          break;
        begin = next;
      }
    if (right_)
      while (end > begin) {
        size_t start = unicode::previous_char_start(text, end), probe = start;
        if (!unicode::is_whitespace(utf8::next(text, probe)))
          break;
        end = start;
      }
    text = text.substr(begin, end - begin);
  }

private:
  bool left_, right_;
};

class Sequence : public Normalizer {
public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void normalize(std::string &text) const override {
    for (const auto &step : steps_)
      step->normalize(text);
  }

private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

} // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json &spec) {
  if (spec.is_null())
    return nullptr;
  const std::string type = spec.value("type", "");
  if (type == "NFC")
    return std::make_unique<UnicodeNormalizer>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  if (type == "NFD")
    return std::make_unique<UnicodeNormalizer>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  if (type == "NFKC")
    return std::make_unique<UnicodeNormalizer>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                               UTF8PROC_COMPAT);
  if (type == "NFKD")
    return std::make_unique<UnicodeNormalizer>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE |
                                               UTF8PROC_COMPAT);
  if (type == "Lowercase")
    return std::make_unique<Lowercase>();
  if (type == "Prepend")
    return std::make_unique<Prepend>(spec.at("prepend").get<std::string>());
  if (type == "Replace")
    return std::make_unique<Replace>(unicode::pattern_regex(spec.at("pattern")),
                                     spec.at("content").get<std::string>());
  if (type == "Strip")
    return std::make_unique<Strip>(spec.value("strip_left", true), spec.value("strip_right", true));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const auto &step : spec.at("normalizers"))
      if (auto normalizer = make_normalizer(step))
        steps.push_back(std::move(normalizer));
    return std::make_unique<Sequence>(std::move(steps));
  }
  fail("unsupported tokenizer.json normalizer type '" + type + "'");
}

} // namespace m3
