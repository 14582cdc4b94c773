#include "chat/jinja/string_ops.h"

#include <algorithm>
#include <cctype>

#include "chat/jinja/utf8.h"
#include "core/error.h"

namespace m3::jinja {

namespace {

bool ascii_cased(char32_t c) { return c < 0x80 && std::isalpha(static_cast<int>(c)); }

bool is_line_break(char32_t c) {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
         c == 0x85 || c == 0x2028 || c == 0x2029;
}

} // namespace

std::string py_strip(const std::string &s, const std::optional<std::string> &chars, bool left,
                     bool right) {
  std::vector<char32_t> cps = utf8::decode(s);
  std::vector<char32_t> set;
  if (chars)
    set = utf8::decode(*chars);
  auto strippable = [&](char32_t c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : utf8::is_python_space(c);
  };
  size_t begin = 0, end = cps.size();
  if (left)
    while (begin < end && strippable(cps[begin]))
      ++begin;
  if (right)
    while (end > begin && strippable(cps[end - 1]))
      --end;
  if (begin == 0 && end == cps.size())
    return s;
  return utf8::encode(cps, begin, end);
}

std::vector<std::string> py_split(const std::string &s, const std::optional<std::string> &sep,
                                  int64_t maxsplit) {
  std::vector<std::string> parts;
  if (sep) {
    if (sep->empty())
      fail("empty separator");
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      size_t at = s.find(*sep, start);
      if (at == std::string::npos)
        break;
      parts.push_back(s.substr(start, at - start));
      start = at + sep->size();
    }
    parts.push_back(s.substr(start));
    return parts;
  }
  std::vector<char32_t> cps = utf8::decode(s);
  size_t i = 0;
  while (true) {
    while (i < cps.size() && utf8::is_python_space(cps[i]))
      ++i;
    if (i == cps.size())
      break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      size_t end = cps.size();
      while (end > i && utf8::is_python_space(cps[end - 1]))
        --end;
      parts.push_back(utf8::encode(cps, i, end));
      break;
    }
    size_t start = i;
    while (i < cps.size() && !utf8::is_python_space(cps[i]))
      ++i;
    parts.push_back(utf8::encode(cps, start, i));
  }
  return parts;
}

std::vector<std::string> py_rsplit(const std::string &s, const std::optional<std::string> &sep,
                                   int64_t maxsplit) {
  if (maxsplit < 0)
    return py_split(s, sep, maxsplit);
  std::vector<std::string> parts;
  if (sep) {
    if (sep->empty())
      fail("empty separator");
    size_t end = s.size();
    while (static_cast<int64_t>(parts.size()) < maxsplit && end >= sep->size()) {
      size_t at = s.rfind(*sep, end - sep->size());
      if (at == std::string::npos)
        break;
      parts.push_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
    }
    parts.push_back(s.substr(0, end));
  } else {
    std::vector<char32_t> cps = utf8::decode(s);
    size_t i = cps.size();
    while (true) {
      while (i > 0 && utf8::is_python_space(cps[i - 1]))
        --i;
      if (i == 0)
        break;
      if (static_cast<int64_t>(parts.size()) == maxsplit) {
        size_t begin = 0;
        while (begin < i && utf8::is_python_space(cps[begin]))
          ++begin;
        parts.push_back(utf8::encode(cps, begin, i));
        break;
      }
      size_t end = i;
      while (i > 0 && !utf8::is_python_space(cps[i - 1]))
        --i;
      parts.push_back(utf8::encode(cps, i, end));
    }
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<std::string> py_splitlines(const std::string &s, bool keepends) {
  std::vector<char32_t> cps = utf8::decode(s);
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (!is_line_break(cps[i]))
      continue;
    size_t end = i;
    if (cps[i] == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n')
      ++i;
    lines.push_back(utf8::encode(cps, start, keepends ? i + 1 : end));
    start = i + 1;
  }
  if (start < cps.size())
    lines.push_back(utf8::encode(cps, start, cps.size()));
  return lines;
}

std::string ascii_upper(std::string s) {
  for (char &c : s)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  return s;
}

std::string ascii_lower(std::string s) {
  for (char &c : s)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string py_title(const std::string &s) {
  std::string out = s;
  bool previous_cased = false;
  for (char &c : out) {
    bool cased = ascii_cased(static_cast<unsigned char>(c));
    if (cased)
      c = previous_cased ? static_cast<char>(std::tolower(c)) : static_cast<char>(std::toupper(c));
    previous_cased = cased;
  }
  return out;
}

std::string py_capitalize(const std::string &s) {
  std::string out = ascii_lower(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z')
    out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

std::string py_swapcase(std::string s) {
  for (char &c : s) {
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
    else if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string py_replace(const std::string &s, const std::string &old, const std::string &replacement,
                       int64_t count) {
  std::string out;
  int64_t done = 0;
  if (old.empty()) {
    std::vector<char32_t> cps = utf8::decode(s);
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += replacement;
        ++done;
      }
      if (i < cps.size())
        utf8::append(out, cps[i]);
    }
    return out;
  }
  size_t start = 0;
  while (count < 0 || done < count) {
    size_t at = s.find(old, start);
    if (at == std::string::npos)
      break;
    out.append(s, start, at - start);
    out += replacement;
    start = at + old.size();
    ++done;
  }
  out.append(s, start, std::string::npos);
  return out;
}

size_t py_count(const std::string &s, const std::string &sub) {
  if (sub.empty())
    return utf8::length(s) + 1;
  size_t n = 0;
  for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size()))
    ++n;
  return n;
}

std::string py_pad(const std::string &s, const std::string &how, int64_t width,
                   const std::string &fill) {
  int64_t length = static_cast<int64_t>(utf8::length(s));
  if (width <= length)
    return s;
  int64_t pad = width - length;
  auto fills = [&](int64_t n) {
    std::string out;
    for (int64_t i = 0; i < n; ++i)
      out += fill;
    return out;
  };
  if (how == "ljust")
    return s + fills(pad);
  if (how == "rjust")
    return fills(pad) + s;
  if (how == "center") {
    int64_t left = pad / 2 + (pad & width & 1);
    return fills(left) + s + fills(pad - left);
  }
  if (!s.empty() && (s[0] == '-' || s[0] == '+'))
    return s.substr(0, 1) + fills(pad) + s.substr(1);
  return fills(pad) + s;
}

bool py_is_class(const std::string &s, const std::string &predicate) {
  std::vector<char32_t> cps = utf8::decode(s);
  if (cps.empty())
    return false;
  if (predicate == "isspace")
    return std::all_of(cps.begin(), cps.end(), utf8::is_python_space);
  auto ascii_all = [&](int (*check)(int)) {
    return std::all_of(cps.begin(), cps.end(),
                       [&](char32_t c) { return c < 0x80 && check(static_cast<int>(c)); });
  };
  if (predicate == "isdigit")
    return ascii_all(::isdigit);
  if (predicate == "isalpha")
    return ascii_all(::isalpha);
  if (predicate == "isalnum")
    return ascii_all(::isalnum);
  bool any_cased = std::any_of(cps.begin(), cps.end(), ascii_cased);
  if (predicate == "isupper")
    return any_cased &&
           !std::any_of(cps.begin(), cps.end(), [](char32_t c) { return c >= 'a' && c <= 'z'; });
  if (predicate == "islower")
    return any_cased &&
           !std::any_of(cps.begin(), cps.end(), [](char32_t c) { return c >= 'A' && c <= 'Z'; });
  fail("unknown string method '" + predicate + "'");
}

std::string py_format(const std::string &format, const CallArgs &args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if ((c == '{' || c == '}') && i + 1 < format.size() && format[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    size_t close = format.find('}', i);
    if (close == std::string::npos)
      fail("single '{' encountered in format string");
    std::string field = format.substr(i + 1, close - i - 1);
    if (field.find(':') != std::string::npos)
      fail("format specs are not supported in str.format");
    bool use_repr = false;
    if (size_t bang = field.find('!'); bang != std::string::npos) {
      use_repr = field.substr(bang + 1) == "r";
      field.resize(bang);
    }
    const Value *value = nullptr;
    if (field.empty()) {
      value = auto_index < args.positional.size() ? &args.positional[auto_index] : nullptr;
      ++auto_index;
    } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
      size_t index = std::stoul(field);
      value = index < args.positional.size() ? &args.positional[index] : nullptr;
    } else {
      value = args.get(static_cast<size_t>(-1), field);
    }
    if (!value)
      fail("str.format: no value for field '{" + field + "}'");
    out += use_repr ? value->repr() : value->to_string();
    i = close;
  }
  return out;
}

} // namespace m3::jinja
