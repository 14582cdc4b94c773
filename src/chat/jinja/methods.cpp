// Attribute and item access as Jinja's ImmutableSandboxedEnvironment resolves them, and the
// Python str/dict/list methods templates call. Mutating methods are refused like the sandbox does.
#include <algorithm>
#include <set>

#include "chat/jinja/builtins.h"
#include "chat/jinja/string_ops.h"
#include "chat/jinja/utf8.h"
#include "core/error.h"

namespace m3::jinja {

namespace {

const std::set<std::string, std::less<>> kStringMethods = {
    "strip",  "lstrip",     "rstrip",     "split",   "rsplit",  "startswith", "endswith", "upper",
    "lower",  "title",      "capitalize", "replace", "find",    "rfind",      "index",    "count",
    "join",   "splitlines", "isdigit",    "isalpha", "isalnum", "isspace",    "isupper",  "islower",
    "format", "zfill",      "center",     "ljust",   "rjust",   "swapcase"};
const std::set<std::string, std::less<>> kDictMethods = {"items", "keys", "values", "get", "copy"};
const std::set<std::string, std::less<>> kUnsafeDictMethods = {"clear", "pop", "popitem",
                                                               "setdefault", "update"};
const std::set<std::string, std::less<>> kListMethods = {"index", "count", "copy"};
const std::set<std::string, std::less<>> kUnsafeListMethods = {
    "append", "clear", "pop", "reverse", "insert", "sort", "extend", "remove"};

const Value &arg(const CallArgs &args, size_t index, const char *name, const std::string &method) {
  const Value *v = args.get(index, name);
  if (!v)
    fail(method + "() missing required argument '" + name + "'");
  return *v;
}

std::string string_arg(const CallArgs &args, size_t index, const char *name,
                       const std::string &method) {
  const Value &v = arg(args, index, name, method);
  if (!v.is_string())
    fail(method + "() argument '" + name + "' must be str, not " + v.type_name());
  return v.str();
}

std::optional<std::string> optional_string(const CallArgs &args, size_t index, const char *name) {
  const Value *v = args.get(index, name);
  if (!v || v->is_none())
    return std::nullopt;
  if (!v->is_string())
    fail(std::string("argument '") + name + "' must be str or None");
  return v->str();
}

int64_t int_arg(const CallArgs &args, size_t index, const char *name, int64_t fallback) {
  const Value *v = args.get(index, name);
  if (!v)
    return fallback;
  if (!v->is_int())
    fail(std::string("argument '") + name + "' must be an integer");
  return v->as_int();
}

Value string_list(std::vector<std::string> parts) {
  std::vector<Value> items;
  items.reserve(parts.size());
  for (auto &p : parts)
    items.emplace_back(std::move(p));
  return Value(std::move(items));
}

bool affix_matches(const std::string &s, const Value &affix, bool prefix) {
  auto one = [&](const Value &v) {
    if (!v.is_string())
      fail("startswith/endswith argument must be str or a tuple of str");
    const std::string &a = v.str();
    if (a.size() > s.size())
      return false;
    return prefix ? s.compare(0, a.size(), a) == 0
                  : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (affix.is_list()) {
    for (const auto &v : affix.list())
      if (one(v))
        return true;
    return false;
  }
  return one(affix);
}

Value string_method(const std::string &s, const std::string &name, const CallArgs &args) {
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    auto chars = optional_string(args, 0, "chars");
    return Value(py_strip(s, chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    auto sep = optional_string(args, 0, "sep");
    int64_t maxsplit = int_arg(args, 1, "maxsplit", -1);
    return string_list(name == "split" ? py_split(s, sep, maxsplit) : py_rsplit(s, sep, maxsplit));
  }
  if (name == "startswith" || name == "endswith")
    return Value(affix_matches(s, arg(args, 0, "prefix", name), name == "startswith"));
  if (name == "upper")
    return Value(ascii_upper(s));
  if (name == "lower")
    return Value(ascii_lower(s));
  if (name == "title")
    return Value(py_title(s));
  if (name == "capitalize")
    return Value(py_capitalize(s));
  if (name == "swapcase")
    return Value(py_swapcase(s));
  if (name == "replace")
    return Value(py_replace(s, string_arg(args, 0, "old", name), string_arg(args, 1, "new", name),
                            int_arg(args, 2, "count", -1)));
  if (name == "find" || name == "rfind" || name == "index") {
    std::string sub = string_arg(args, 0, "sub", name);
    size_t at = name == "rfind" ? s.rfind(sub) : s.find(sub);
    if (at == std::string::npos) {
      if (name == "index")
        fail("substring not found");
      return Value(-1);
    }
    return Value(static_cast<int64_t>(utf8::length(std::string_view(s).substr(0, at))));
  }
  if (name == "count")
    return Value(static_cast<int64_t>(py_count(s, string_arg(args, 0, "sub", name))));
  if (name == "join") {
    std::string out;
    bool first = true;
    for (const auto &item : arg(args, 0, "iterable", name).iterate()) {
      if (!item.is_string())
        fail("sequence item: expected str instance, " + item.type_name() + " found");
      if (!first)
        out += s;
      first = false;
      out += item.str();
    }
    return Value(std::move(out));
  }
  if (name == "splitlines") {
    const Value *keepends = args.get(0, "keepends");
    return string_list(py_splitlines(s, keepends && keepends->truthy()));
  }
  if (name == "format")
    return Value(py_format(s, args));
  if (name == "zfill" || name == "center" || name == "ljust" || name == "rjust") {
    int64_t width = int_arg(args, 0, "width", 0);
    std::string fill = name == "zfill" ? "0" : optional_string(args, 1, "fillchar").value_or(" ");
    return Value(py_pad(s, name, width, fill));
  }
  return Value(py_is_class(s, name));
}

Value dict_method(const Value &self, const std::string &name, const CallArgs &args) {
  const auto &items = self.dict().items;
  if (name == "get") {
    const Value &key = arg(args, 0, "key", name);
    const Value *fallback = args.get(1, "default");
    const Value *found = key.is_string() ? self.dict().find(key.str()) : nullptr;
    return found ? *found : fallback ? *fallback : Value::none();
  }
  if (name == "copy") {
    auto copy = std::make_shared<DictData>();
    copy->items = items;
    return Value(std::move(copy));
  }
  std::vector<Value> out;
  out.reserve(items.size());
  for (const auto &[k, v] : items) {
    if (name == "keys")
      out.emplace_back(k);
    else if (name == "values")
      out.push_back(v);
    else
      out.emplace_back(std::vector<Value>{Value(k), v}, true);
  }
  return Value(std::move(out));
}

Value list_method(const Value &self, const std::string &name, const CallArgs &args) {
  const auto &items = self.list();
  if (name == "copy")
    return Value(items, self.is_tuple());
  const Value &x = arg(args, 0, "value", name);
  if (name == "count")
    return Value(static_cast<int64_t>(std::count(items.begin(), items.end(), x)));
  auto it = std::find(items.begin(), items.end(), x);
  if (it == items.end())
    fail(x.repr() + " is not in list");
  return Value(static_cast<int64_t>(it - items.begin()));
}

Value bound_method(const Value &self, const std::string &name) {
  return Value::function(name, [self, name](CallArgs &args) {
    if (self.is_string())
      return string_method(self.str(), name, args);
    if (self.is_dict())
      return dict_method(self, name, args);
    return list_method(self, name, args);
  });
}

Value unsafe_method(const Value &self, const std::string &name) {
  std::string message =
      "access to attribute '" + name + "' of '" + self.type_name() + "' object is unsafe";
  return Value::function(name, [message](CallArgs &) -> Value { fail(message); });
}

// Python attribute lookup: methods first; nullopt when the object has no such attribute.
std::optional<Value> python_attribute(const Value &object, const std::string &name) {
  if (object.is_string() && kStringMethods.count(name))
    return bound_method(object, name);
  if (object.is_dict() && !object.dict().is_namespace) {
    if (kDictMethods.count(name))
      return bound_method(object, name);
    if (kUnsafeDictMethods.count(name))
      return unsafe_method(object, name);
  }
  if (object.is_list()) {
    if (kListMethods.count(name))
      return bound_method(object, name);
    if (kUnsafeListMethods.count(name) && !object.is_tuple())
      return unsafe_method(object, name);
  }
  return std::nullopt;
}

int64_t normalize_index(int64_t index, size_t size) {
  return index < 0 ? index + static_cast<int64_t>(size) : index;
}

} // namespace

std::string html_escape(const std::string &text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&#34;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

[[noreturn]] void fail_undefined(const Value &undefined) {
  fail("'" + undefined.undefined_name() + "' is undefined");
}

Value get_attribute(const Value &object, const std::string &name) {
  if (object.is_undefined())
    fail_undefined(object);
  if (auto method = python_attribute(object, name))
    return *method;
  if (object.is_dict()) {
    if (const Value *found = object.dict().find(name))
      return *found;
  }
  return Value::undefined(name);
}

Value get_item(const Value &object, const Value &key) {
  if (object.is_undefined())
    fail_undefined(object);
  bool integral_key = key.is_int() || key.is_bool();
  int64_t index = key.is_bool() ? int64_t{key.as_bool()} : integral_key ? key.as_int() : 0;
  if (object.is_dict() && key.is_string() && !object.dict().is_namespace) {
    if (const Value *found = object.dict().find(key.str()))
      return *found;
  } else if (object.is_list() && integral_key) {
    int64_t i = normalize_index(index, object.list().size());
    if (i >= 0 && i < static_cast<int64_t>(object.list().size()))
      return object.list()[i];
    return Value::undefined(key.to_string());
  } else if (object.is_string() && integral_key) {
    std::vector<Value> chars = object.iterate();
    int64_t i = normalize_index(index, chars.size());
    if (i >= 0 && i < static_cast<int64_t>(chars.size()))
      return chars[i];
    return Value::undefined(key.to_string());
  }
  if (key.is_string()) {
    if (auto method = python_attribute(object, key.str()))
      return *method;
  }
  return Value::undefined(key.to_string());
}

Value call_value(const Value &callee, CallArgs &args) {
  if (callee.is_function())
    return callee.fn().call(args);
  if (callee.is_undefined())
    fail_undefined(callee);
  fail("'" + callee.type_name() + "' object is not callable");
}

bool contains(const Value &container, const Value &item) {
  switch (container.kind()) {
  case Value::Kind::Undefined:
    return false;
  case Value::Kind::String:
    if (!item.is_string())
      fail("'in <string>' requires string as left operand, not " + item.type_name());
    return container.str().find(item.str()) != std::string::npos;
  case Value::Kind::List:
    return std::find(container.list().begin(), container.list().end(), item) !=
           container.list().end();
  case Value::Kind::Dict:
    return item.is_string() && container.dict().find(item.str()) != nullptr;
  default:
    fail("argument of type '" + container.type_name() + "' is not iterable");
  }
}

} // namespace m3::jinja
