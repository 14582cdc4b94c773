#include "chat/jinja/json_dump.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chat/jinja/utf8.h"
#include "core/error.h"

namespace m3::jinja {

namespace {

void append_unicode_escape(std::string &out, unsigned code) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "\\u%04x", code);
  out += buffer;
}

void append_json_string(std::string &out, const std::string &text, bool ensure_ascii) {
  out += '"';
  auto escape_simple = [&](char32_t c) {
    switch (c) {
    case '"':
      out += "\\\"";
      return true;
    case '\\':
      out += "\\\\";
      return true;
    case '\n':
      out += "\\n";
      return true;
    case '\r':
      out += "\\r";
      return true;
    case '\t':
      out += "\\t";
      return true;
    case '\b':
      out += "\\b";
      return true;
    case '\f':
      out += "\\f";
      return true;
    default:
      return false;
    }
  };
  if (!ensure_ascii) {
    for (char c : text) {
      if (escape_simple(static_cast<unsigned char>(c)))
        continue;
      if (static_cast<unsigned char>(c) < 0x20)
        append_unicode_escape(out, static_cast<unsigned char>(c));
      else
        out += c;
    }
  } else {
    for (char32_t c : utf8::decode(text)) {
      if (escape_simple(c))
        continue;
      if (c >= 0x20 && c <= 0x7E) {
        out += static_cast<char>(c);
      } else if (c < 0x10000) {
        append_unicode_escape(out, c);
      } else {
        char32_t v = c - 0x10000;
        append_unicode_escape(out, 0xD800 | (v >> 10));
        append_unicode_escape(out, 0xDC00 | (v & 0x3FF));
      }
    }
  }
  out += '"';
}

struct Writer {
  const JsonFormat &format;
  std::string item_separator;
  std::string out;

  void newline(int depth) {
    if (!format.indent)
      return;
    out += '\n';
    for (int i = 0; i < depth; ++i)
      out += *format.indent;
  }

  void write(const Value &value, int depth) {
    switch (value.kind()) {
    case Value::Kind::None:
      out += "null";
      return;
    case Value::Kind::Bool:
      out += value.as_bool() ? "true" : "false";
      return;
    case Value::Kind::Int:
      out += std::to_string(value.as_int());
      return;
    case Value::Kind::Float: {
      double v = value.as_float();
      out += std::isnan(v)   ? "NaN"
             : std::isinf(v) ? (v > 0 ? "Infinity" : "-Infinity")
                             : format_float(v);
      return;
    }
    case Value::Kind::String:
      append_json_string(out, value.str(), format.ensure_ascii);
      return;
    case Value::Kind::List: {
      const auto &items = value.list();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i)
          out += item_separator;
        newline(depth + 1);
        write(items[i], depth + 1);
      }
      newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::Dict: {
      if (value.dict().is_namespace)
        break;
      std::vector<const std::pair<std::string, Value> *> items;
      for (const auto &item : value.dict().items)
        items.push_back(&item);
      if (items.empty()) {
        out += "{}";
        return;
      }
      if (format.sort_keys)
        std::stable_sort(items.begin(), items.end(),
                         [](auto *a, auto *b) { return a->first < b->first; });
      out += '{';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i)
          out += item_separator;
        newline(depth + 1);
        append_json_string(out, items[i]->first, format.ensure_ascii);
        out += format.key_separator;
        write(items[i]->second, depth + 1);
      }
      newline(depth);
      out += '}';
      return;
    }
    default:
      break;
    }
    fail("Object of type " + value.type_name() + " is not JSON serializable");
  }
};

} // namespace

std::string to_json(const Value &value, const JsonFormat &format) {
  Writer writer{format, format.item_separator.value_or(format.indent ? "," : ", "), {}};
  writer.write(value, 0);
  return std::move(writer.out);
}

} // namespace m3::jinja
