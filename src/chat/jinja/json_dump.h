#pragma once
// Python's json.dumps over template values, byte for byte (HF's `tojson` filter calls it).
#include <optional>
#include <string>

#include "chat/jinja/value.h"

namespace m3::jinja {

struct JsonFormat {
  bool ensure_ascii = false;
  std::optional<std::string> indent;         // nullopt: one line
  std::optional<std::string> item_separator; // default ", " on one line, "," when indented
  std::string key_separator = ": ";
  bool sort_keys = false;
};

std::string to_json(const Value &value, const JsonFormat &format);

} // namespace m3::jinja
