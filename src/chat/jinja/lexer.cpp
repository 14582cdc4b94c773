#include "chat/jinja/lexer.h"

#include <cstring>

#include "chat/jinja/utf8.h"
#include "core/error.h"

namespace m3::jinja {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Jinja normalises every newline sequence to "\n" and drops one trailing newline.
std::string normalize_newlines(const std::string &source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n')
        ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

// Python's "unicode-escape" decoding of a string literal body.
std::string unescape(const std::string &body, int line) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    char c = body[++i];
    auto hex = [&](size_t digits) {
      if (i + digits >= body.size())
        fail("line " + std::to_string(line) + ": truncated escape in string literal");
      char32_t value = static_cast<char32_t>(std::stoul(body.substr(i + 1, digits), nullptr, 16));
      i += digits;
      utf8::append(out, value);
    };
    switch (c) {
    case 'n':
      out += '\n';
      break;
    case 't':
      out += '\t';
      break;
    case 'r':
      out += '\r';
      break;
    case '\\':
      out += '\\';
      break;
    case '\'':
      out += '\'';
      break;
    case '"':
      out += '"';
      break;
    case 'a':
      out += '\a';
      break;
    case 'b':
      out += '\b';
      break;
    case 'f':
      out += '\f';
      break;
    case 'v':
      out += '\v';
      break;
    case '\n':
      break;
    case 'x':
      hex(2);
      break;
    case 'u':
      hex(4);
      break;
    case 'U':
      hex(8);
      break;
    default:
      if (c >= '0' && c <= '7') {
        int value = 0, digits = 0;
        --i;
        while (digits < 3 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7') {
          value = value * 8 + (body[++i] - '0');
          ++digits;
        }
        utf8::append(out, static_cast<char32_t>(value));
      } else {
        out += '\\';
        out += c;
      }
    }
  }
  return out;
}

class Lexer {
public:
  explicit Lexer(const std::string &source) : src_(normalize_newlines(source)) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      size_t open = find_opener(pos_);
      std::string text =
          src_.substr(pos_, open == std::string::npos ? std::string::npos : open - pos_);
      if (open == std::string::npos) {
        emit_text(std::move(text));
        break;
      }
      char kind = src_[open + 1];
      char sign = open + 2 < src_.size() ? src_[open + 2] : '\0';
      bool is_raw = kind == '%' && raw_begin_end(open) != std::string::npos;
      emit_text(strip_before_tag(std::move(text), sign, kind != '{'));
      size_t body = open + 2 + (sign == '-' || sign == '+' ? 1 : 0);
      if (kind == '#')
        lex_comment(body);
      else if (is_raw)
        lex_raw(raw_begin_end(open));
      else
        lex_tag(body, kind == '{');
    }
    tokens_.push_back(Token{TokenType::End, "", line_});
    return std::move(tokens_);
  }

private:
  size_t find_opener(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#'))
        return i;
    }
    return std::string::npos;
  }

  // `{%-` strips all whitespace before the tag; otherwise lstrip_blocks removes the indentation
  // of a block or comment tag that starts its line (`{%+` keeps it).
  std::string strip_before_tag(std::string text, char sign, bool is_block_or_comment) const {
    if (sign == '-') {
      size_t end = text.size();
      while (end > 0 && is_space(text[end - 1]))
        --end;
      text.resize(end);
    } else if (sign != '+' && is_block_or_comment) {
      size_t line_pos = text.rfind('\n');
      line_pos = line_pos == std::string::npos ? 0 : line_pos + 1;
      if (line_pos > 0 || line_starting_) {
        bool blank = true;
        for (size_t i = line_pos; i < text.size(); ++i)
          blank = blank && is_space(text[i]);
        if (blank)
          text.resize(line_pos);
      }
    }
    return text;
  }

  void emit_text(std::string text) {
    for (char c : text)
      line_ += c == '\n';
    if (!text.empty())
      tokens_.push_back(Token{TokenType::Text, std::move(text), line_});
  }

  // After a tag close: `-` eats all following whitespace; a plain block/comment close eats one
  // newline (trim_blocks).
  void after_close(size_t close_end, char sign, bool trim_newline) {
    pos_ = close_end;
    if (sign == '-') {
      while (pos_ < src_.size() && is_space(src_[pos_]))
        line_ += src_[pos_++] == '\n';
    } else if (sign != '+' && trim_newline && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
      ++line_;
    }
    line_starting_ = pos_ > close_end && src_[pos_ - 1] == '\n';
  }

  void lex_comment(size_t body) {
    size_t close = src_.find("#}", body);
    if (close == std::string::npos)
      fail("line " + std::to_string(line_) + ": unclosed comment");
    for (size_t i = body; i < close; ++i)
      line_ += src_[i] == '\n';
    char sign =
        close > body && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : '\0';
    after_close(close + 2, sign, true);
  }

  // If a `{% raw %}` tag starts at `open`, the position just after it; npos otherwise.
  size_t raw_begin_end(size_t open) const { return match_word_tag(open, "raw"); }

  size_t match_word_tag(size_t open, const char *word) const {
    size_t i = open + 2;
    if (i < src_.size() && (src_[i] == '-' || src_[i] == '+'))
      ++i;
    while (i < src_.size() && is_space(src_[i]))
      ++i;
    size_t n = std::strlen(word);
    if (src_.compare(i, n, word) != 0)
      return std::string::npos;
    i += n;
    if (i < src_.size() && is_name_char(src_[i]))
      return std::string::npos;
    while (i < src_.size() && is_space(src_[i]))
      ++i;
    if (src_.compare(i, 3, "-%}") == 0 || src_.compare(i, 3, "+%}") == 0)
      return i + 3;
    if (src_.compare(i, 2, "%}") == 0)
      return i + 2;
    return std::string::npos;
  }

  void lex_raw(size_t after_begin) {
    char begin_sign = src_[after_begin - 3];
    pos_ = after_begin;
    if (begin_sign == '-')
      while (pos_ < src_.size() && is_space(src_[pos_]))
        line_ += src_[pos_++] == '\n';
    line_starting_ = pos_ > after_begin && src_[pos_ - 1] == '\n';
    for (size_t open = find_opener(pos_); open != std::string::npos; open = find_opener(open + 1)) {
      size_t end = src_[open + 1] == '%' ? match_word_tag(open, "endraw") : std::string::npos;
      if (end == std::string::npos)
        continue;
      char sign = src_[open + 2];
      emit_text(strip_before_tag(src_.substr(pos_, open - pos_), sign, true));
      after_close(end, src_[end - 3], true);
      return;
    }
    fail("line " + std::to_string(line_) + ": missing {% endraw %}");
  }

  void lex_tag(size_t body, bool is_variable) {
    tokens_.push_back(Token{is_variable ? TokenType::VarBegin : TokenType::BlockBegin, "", line_});
    size_t i = body;
    int depth = 0;
    const char close_char = is_variable ? '}' : '%';
    while (true) {
      while (i < src_.size() && is_space(src_[i]))
        line_ += src_[i++] == '\n';
      if (i >= src_.size())
        fail("line " + std::to_string(line_) + ": unclosed tag");
      if (depth == 0) {
        char sign = src_[i] == '-' || src_[i] == '+' ? src_[i] : '\0';
        size_t at = sign ? i + 1 : i;
        if (at + 1 < src_.size() && src_[at] == close_char && src_[at + 1] == '}' &&
            (sign != '+' || !is_variable)) {
          tokens_.push_back(
              Token{is_variable ? TokenType::VarEnd : TokenType::BlockEnd, "", line_});
          after_close(at + 2, sign, !is_variable);
          return;
        }
      }
      char c = src_[i];
      if (is_name_start(c)) {
        size_t start = i;
        while (i < src_.size() && is_name_char(src_[i]))
          ++i;
        tokens_.push_back(Token{TokenType::Name, src_.substr(start, i - start), line_});
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        i = lex_number(i);
      } else if (c == '\'' || c == '"') {
        size_t start = ++i;
        while (i < src_.size() && src_[i] != c)
          i += src_[i] == '\\' ? 2 : 1;
        if (i >= src_.size())
          fail("line " + std::to_string(line_) + ": unterminated string");
        std::string raw = src_.substr(start, i - start);
        ++i;
        tokens_.push_back(Token{TokenType::String, unescape(raw, line_), line_});
        for (char r : raw)
          line_ += r == '\n';
      } else {
        static const char *kOperators[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*",
                                           "/",  "%",  "~",  "<",  ">",  "=",  ".", ",", ":",
                                           "|",  "(",  ")",  "[",  "]",  "{",  "}"};
        const char *match = nullptr;
        for (const char *op : kOperators) {
          if (src_.compare(i, std::strlen(op), op) == 0) {
            match = op;
            break;
          }
        }
        if (!match)
          fail("line " + std::to_string(line_) + ": unexpected character '" + std::string(1, c) +
               "'");
        std::string op = match;
        if (op == "(" || op == "[" || op == "{")
          ++depth;
        if ((op == ")" || op == "]" || op == "}") && depth > 0)
          --depth;
        tokens_.push_back(Token{TokenType::Operator, op, line_});
        i += op.size();
      }
    }
  }

  size_t lex_number(size_t i) {
    size_t start = i;
    auto digits = [&] {
      while (i < src_.size() &&
             (std::isdigit(static_cast<unsigned char>(src_[i])) || src_[i] == '_'))
        ++i;
    };
    digits();
    bool is_float = false;
    if (i + 1 < src_.size() && src_[i] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[i + 1]))) {
      is_float = true;
      ++i;
      digits();
    }
    if (i < src_.size() && (src_[i] == 'e' || src_[i] == 'E')) {
      size_t exp = i + 1;
      if (exp < src_.size() && (src_[exp] == '+' || src_[exp] == '-'))
        ++exp;
      if (exp < src_.size() && std::isdigit(static_cast<unsigned char>(src_[exp]))) {
        is_float = true;
        i = exp;
        digits();
      }
    }
    std::string text;
    for (size_t k = start; k < i; ++k)
      if (src_[k] != '_')
        text += src_[k];
    tokens_.push_back(Token{is_float ? TokenType::Float : TokenType::Integer, text, line_});
    return i;
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

} // namespace

std::vector<Token> tokenize(const std::string &source) { return Lexer(source).run(); }

} // namespace m3::jinja
