#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>
#include <utf8proc.h>

#include <array>
#include <map>
#include <vector>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace m3 {

namespace {

// Per-thread match state: PCRE2 match data and JIT stacks must not be shared between threads.
struct MatchScratch {
  pcre2_match_data *data = pcre2_match_data_create(1, nullptr);
  pcre2_jit_stack *jit_stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
  pcre2_match_context *context = pcre2_match_context_create(nullptr);
  MatchScratch() { pcre2_jit_stack_assign(context, nullptr, jit_stack); }
  ~MatchScratch() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_data_free(data);
  }
};

MatchScratch &scratch() {
  thread_local MatchScratch instance;
  return instance;
}

pcre2_code *compile(const std::string &pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code *code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    fail("bad tokenizer regex at offset " + std::to_string(error_offset) + ": " +
         reinterpret_cast<const char *>(message) + " in /" + pattern + "/");
  }
  return code;
}

// PCRE2's Unicode tables can be older than utf8proc's (Debian 12: Unicode 14 vs 15) and than the
// Oniguruma of HF tokenizers (15): characters new since then are unassigned to PCRE2 and would
// fall outside \p{L}, \p{S}, ... For every general category, the code points utf8proc assigns to
// it but PCRE2 sees as unassigned; they are added to \p{..} in patterns.
using Ranges = std::vector<std::pair<char32_t, char32_t>>;

const std::map<std::string, Ranges> &newer_characters_by_category() {
  static const std::map<std::string, Ranges> table = [] {
    static const char *const kNames[] = {
        "Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps",
        "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co"};
    pcre2_code *unassigned = compile(R"(\p{Cn})");
    pcre2_match_data *data = pcre2_match_data_create(1, nullptr);
    std::map<std::string, Ranges> result;
    for (char32_t c = 0; c <= 0x10FFFF; ++c) {
      const int category = utf8proc_category(static_cast<utf8proc_int32_t>(c));
      if (category == UTF8PROC_CATEGORY_CN || category == UTF8PROC_CATEGORY_CS)
        continue;
      std::string encoded;
      utf8::append(encoded, c);
      if (pcre2_match(unassigned, reinterpret_cast<PCRE2_SPTR>(encoded.data()), encoded.size(), 0,
                      PCRE2_ANCHORED, data, nullptr) < 0)
        continue;
      const std::string name = kNames[category];
      for (const std::string &key : {name, name.substr(0, 1)}) {
        Ranges &ranges = result[key];
        if (!ranges.empty() && ranges.back().second + 1 == c)
          ranges.back().second = c;
        else
          ranges.emplace_back(c, c);
      }
    }
    pcre2_match_data_free(data);
    pcre2_code_free(unassigned);
    return result;
  }();
  return table;
}

std::string class_items(const Ranges &ranges) {
  std::string items;
  char buffer[32];
  for (const auto &[first, last] : ranges) {
    std::snprintf(buffer, sizeof(buffer), "\\x{%X}-\\x{%X}", static_cast<unsigned>(first),
                  static_cast<unsigned>(last));
    items += buffer;
  }
  return items;
}

// Unicode White_Space, which Oniguruma's \s is (PCRE2's also holds U+180E).
constexpr const char *kWhiteSpaceItems =
    R"(\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// Gives patterns Oniguruma's (HF tokenizers') meaning under PCRE2: \p{X} / \pX (X a general
// category) and \d also match characters newer than PCRE2's tables; \s is White_Space. \P{X},
// \p{^X}, \D and \S are rewritten outside character classes only.
std::string with_newer_characters(const std::string &pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^')
        out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']')
        out += pattern[++i]; // literal ]
      continue;
    }
    if (c == '[' && in_class && pattern.compare(i, 2, "[:") == 0) {
      const size_t end = pattern.find(":]", i + 2);
      if (end != std::string::npos) {
        out.append(pattern, i, end + 2 - i);
        i = end + 1;
        continue;
      }
    }
    if (c == ']' && in_class)
      in_class = false;
    if (c != '\\' || i + 1 >= pattern.size()) {
      out += c;
      continue;
    }
    const char kind = pattern[i + 1];
    if (kind == 's' || (kind == 'S' && !in_class)) {
      out += in_class ? kWhiteSpaceItems
                      : (kind == 's' ? "[" : "[^") + std::string(kWhiteSpaceItems) + "]";
      ++i;
      continue;
    }
    if (kind != 'p' && kind != 'P' && kind != 'd' && kind != 'D') {
      out.append(pattern, i, 2);
      ++i;
      continue;
    }
    size_t end = i + 3; // past \pX
    std::string name = pattern.substr(i + 2, 1);
    if (kind == 'd' || kind == 'D') { // Oniguruma's \d is Unicode's Nd
      end = i + 2;
      name = "Nd";
    } else if (name == "{") {
      end = pattern.find('}', i + 2);
      require(end != std::string::npos,
              "bad tokenizer regex: unterminated \\p{ in /" + pattern + "/");
      name = pattern.substr(i + 3, end - i - 3);
      ++end;
    }
    bool negated = kind == 'P' || kind == 'D';
    if (name.starts_with("^")) {
      negated = !negated;
      name.erase(0, 1);
    }
    std::string original = pattern.substr(i, end - i);
    i = end - 1;
    const auto &table = newer_characters_by_category();
    const auto found = table.find(name);
    if (kind == 'd' || kind == 'D') {
      original = negated ? "\\P{Nd}" : "\\p{Nd}";
    }
    if (found == table.end() || (negated && in_class)) {
      out += original;
    } else if (in_class) {
      out += original + class_items(found->second);
    } else {
      const std::string positive = "\\p{" + name + "}";
      out += (negated ? "[^" : "[") + positive + class_items(found->second) + "]";
    }
  }
  return out;
}

} // namespace

struct Regex::Compiled {
  pcre2_code *code = nullptr;
  bool jit = false;
  ~Compiled() { pcre2_code_free(code); }
};

Regex::Regex(const std::string &pattern) : compiled_(std::make_unique<Compiled>()) {
  compiled_->code = compile(with_newer_characters(pattern));
  compiled_->jit = pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() = default;

bool Regex::find(std::string_view subject, size_t offset, size_t &begin, size_t &end) const {
  MatchScratch &state = scratch();
  const auto *text = reinterpret_cast<PCRE2_SPTR>(subject.data());
  while (offset < subject.size()) {
    const int rc = compiled_->jit ? pcre2_jit_match(compiled_->code, text, subject.size(), offset,
                                                    PCRE2_NO_UTF_CHECK, state.data, state.context)
                                  : pcre2_match(compiled_->code, text, subject.size(), offset,
                                                PCRE2_NO_UTF_CHECK, state.data, state.context);
    if (rc == PCRE2_ERROR_NOMATCH)
      return false;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      fail(std::string("tokenizer regex match failed: ") + reinterpret_cast<const char *>(message));
    }
    const PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(state.data);
    if (ovector[1] > ovector[0]) {
      begin = ovector[0];
      end = ovector[1];
      return true;
    }
    // Empty match: step over one whole character so the next search starts on a boundary.
    offset = ovector[0] + 1;
    while (offset < subject.size() && (static_cast<uint8_t>(subject[offset]) & 0xC0) == 0x80)
      ++offset;
  }
  return false;
}

} // namespace m3
