#include "chat/jinja/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat/jinja/utf8.h"
#include "core/error.h"

namespace m3::jinja {

const Value *DictData::find(std::string_view key) const {
  for (const auto &[k, v] : items)
    if (k == key)
      return &v;
  return nullptr;
}

void DictData::set(const std::string &key, Value value) {
  for (auto &[k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

const Value *CallArgs::get(size_t index, std::string_view name) const {
  if (index < positional.size())
    return &positional[index];
  for (const auto &[k, v] : keywords)
    if (k == name)
      return &v;
  return nullptr;
}

Value::Value(std::vector<Value> items, bool is_tuple)
    : data_(std::make_shared<ListData>(ListData{std::move(items), is_tuple})) {}

Value Value::function(std::string name, Function call) {
  return Value(Storage(
      std::make_shared<const FunctionData>(FunctionData{std::move(name), std::move(call)})));
}

Value make_dict(std::vector<std::pair<std::string, Value>> items) {
  auto dict = std::make_shared<DictData>();
  dict->items = std::move(items);
  return Value(std::move(dict));
}

Value Value::from_json(const nlohmann::ordered_json &json) {
  switch (json.type()) {
  case nlohmann::ordered_json::value_t::null:
    return none();
  case nlohmann::ordered_json::value_t::boolean:
    return Value(json.get<bool>());
  case nlohmann::ordered_json::value_t::number_integer:
    return Value(json.get<int64_t>());
  case nlohmann::ordered_json::value_t::number_unsigned:
    return Value(static_cast<int64_t>(json.get<uint64_t>()));
  case nlohmann::ordered_json::value_t::number_float:
    return Value(json.get<double>());
  case nlohmann::ordered_json::value_t::string:
    return Value(json.get<std::string>());
  case nlohmann::ordered_json::value_t::array: {
    std::vector<Value> items;
    items.reserve(json.size());
    for (const auto &item : json)
      items.push_back(from_json(item));
    return Value(std::move(items));
  }
  case nlohmann::ordered_json::value_t::object: {
    auto dict = std::make_shared<DictData>();
    dict->items.reserve(json.size());
    for (const auto &[key, item] : json.items())
      dict->items.emplace_back(key, from_json(item));
    return Value(std::move(dict));
  }
  default:
    fail("unsupported JSON value in template context");
  }
}

double Value::as_double() const {
  if (is_float())
    return as_float();
  if (is_int())
    return static_cast<double>(as_int());
  return as_bool() ? 1.0 : 0.0;
}

bool Value::truthy() const {
  switch (kind()) {
  case Kind::Undefined:
  case Kind::None:
    return false;
  case Kind::Bool:
    return as_bool();
  case Kind::Int:
    return as_int() != 0;
  case Kind::Float:
    return as_float() != 0.0;
  case Kind::String:
    return !str().empty();
  case Kind::List:
    return !list().empty();
  case Kind::Dict:
    return dict().is_namespace || !dict().items.empty();
  case Kind::Function:
    return true;
  }
  return false;
}

std::string format_float(double value) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  char buffer[64];
  auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  std::string sci(buffer, end);
  bool negative = sci[0] == '-';
  if (negative)
    sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  int exponent = std::stoi(sci.substr(e + 1));
  if (digits.size() > 1)
    digits.erase(1, 1); // drop the '.'
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(-exponent - 1, '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out += digits + std::string(exponent + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1)
    out += "." + digits.substr(1);
  char exp_text[16];
  std::snprintf(exp_text, sizeof exp_text, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_text;
}

namespace {
// Python's str.isprintable() is false for controls, separators and format characters.
bool python_printable(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD)
    return false;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F))
    return false;
  if ((c >= 0x205F && c <= 0x2064) || c == 0x3000 || c == 0xFEFF)
    return false;
  if (c >= 0xD800 && c <= 0xDFFF)
    return false;
  return true;
}
} // namespace

std::string repr_string(const std::string &text) {
  bool has_single = text.find('\'') != std::string::npos;
  bool has_double = text.find('"') != std::string::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : utf8::decode(text)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (python_printable(c)) {
      utf8::append(out, c);
    } else {
      char escaped[16];
      if (c <= 0xFF)
        std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned>(c));
      else
        std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    }
  }
  out += quote;
  return out;
}

std::string Value::to_string() const {
  switch (kind()) {
  case Kind::Undefined:
    return "";
  case Kind::String:
    return str();
  default:
    return repr();
  }
}

std::string Value::repr() const {
  switch (kind()) {
  case Kind::Undefined:
    return "Undefined";
  case Kind::None:
    return "None";
  case Kind::Bool:
    return as_bool() ? "True" : "False";
  case Kind::Int:
    return std::to_string(as_int());
  case Kind::Float:
    return format_float(as_float());
  case Kind::String:
    return repr_string(str());
  case Kind::List: {
    std::string out = is_tuple() ? "(" : "[";
    const auto &items = list();
    for (size_t i = 0; i < items.size(); ++i) {
      if (i)
        out += ", ";
      out += items[i].repr();
    }
    if (is_tuple() && items.size() == 1)
      out += ",";
    return out + (is_tuple() ? ")" : "]");
  }
  case Kind::Dict: {
    std::string out = "{";
    bool first = true;
    for (const auto &[k, v] : dict().items) {
      if (!first)
        out += ", ";
      first = false;
      out += repr_string(k) + ": " + v.repr();
    }
    out += "}";
    return dict().is_namespace ? "<Namespace " + out + ">" : out;
  }
  case Kind::Function:
    return "<function " + fn().name + ">";
  }
  return "";
}

std::string Value::type_name() const {
  switch (kind()) {
  case Kind::Undefined:
    return "Undefined";
  case Kind::None:
    return "NoneType";
  case Kind::Bool:
    return "bool";
  case Kind::Int:
    return "int";
  case Kind::Float:
    return "float";
  case Kind::String:
    return "str";
  case Kind::List:
    return is_tuple() ? "tuple" : "list";
  case Kind::Dict:
    return dict().is_namespace ? "Namespace" : "dict";
  case Kind::Function:
    return "function";
  }
  return "";
}

std::vector<Value> Value::iterate() const {
  switch (kind()) {
  case Kind::Undefined:
    return {};
  case Kind::List:
    return list();
  case Kind::Dict: {
    std::vector<Value> keys;
    keys.reserve(dict().items.size());
    for (const auto &item : dict().items)
      keys.emplace_back(item.first);
    return keys;
  }
  case Kind::String: {
    std::vector<Value> chars;
    for (char32_t c : utf8::decode(str())) {
      std::string one;
      utf8::append(one, c);
      chars.emplace_back(std::move(one));
    }
    return chars;
  }
  default:
    fail("'" + type_name() + "' object is not iterable");
  }
}

bool operator==(const Value &a, const Value &b) {
  using Kind = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float())
      return a.as_double() == b.as_double();
    auto as_integer = [](const Value &v) {
      return v.is_bool() ? int64_t{v.as_bool()} : v.as_int();
    };
    return as_integer(a) == as_integer(b);
  }
  if (a.kind() != b.kind())
    return false;
  switch (a.kind()) {
  case Kind::Undefined:
  case Kind::None:
    return true;
  case Kind::String:
    return a.str() == b.str();
  case Kind::List:
    return a.is_tuple() == b.is_tuple() && a.list() == b.list();
  case Kind::Dict: {
    if (&a.dict() == &b.dict())
      return true;
    if (a.dict().is_namespace || b.dict().is_namespace)
      return false;
    if (a.dict().items.size() != b.dict().items.size())
      return false;
    for (const auto &[k, v] : a.dict().items) {
      const Value *other = b.dict().find(k);
      if (!other || !(*other == v))
        return false;
    }
    return true;
  }
  case Kind::Function:
    return &a.fn() == &b.fn();
  default:
    return false;
  }
}

int compare(const Value &a, const Value &b) {
  if (a.is_number() && b.is_number()) {
    double x = a.as_double(), y = b.as_double();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.str().compare(b.str());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    const auto &x = a.list();
    const auto &y = b.list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i)
      if (!(x[i] == y[i]))
        return compare(x[i], y[i]);
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  fail("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() +
       "'");
}

} // namespace m3::jinja
