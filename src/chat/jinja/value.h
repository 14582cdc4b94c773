#pragma once
// The value type templates compute with: Python's None/bool/int/float/str/list/tuple/dict plus
// Jinja's Undefined, namespaces and callables (macros, globals, bound methods).
// Containers are shared and immutable once built (HF renders in an immutable sandbox); only
// namespace objects change, through `{% set ns.attr = ... %}`.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace m3::jinja {

class Value;

struct Undefined {
  std::string name; // what was looked up, for error messages
};
struct None {};

struct ListData {
  std::vector<Value> items;
  bool is_tuple = false;
};

struct DictData {
  std::vector<std::pair<std::string, Value>> items; // insertion order, like Python dicts
  bool is_namespace = false;
  const Value *find(std::string_view key) const;
  void set(const std::string &key, Value value);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
  // Argument `index` by position or by keyword `name`; nullptr when absent.
  const Value *get(size_t index, std::string_view name) const;
};

class Interpreter;
using Function = std::function<Value(CallArgs &args)>;
struct FunctionData {
  std::string name;
  Function call;
};

class Value {
public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Function };

  Value() : data_(Undefined{}) {}
  static Value undefined(std::string name) { return Value(Storage(Undefined{std::move(name)})); }
  static Value none() { return Value(Storage(None{})); }
  Value(bool b) : data_(b) {}
  Value(int v) : data_(static_cast<int64_t>(v)) {}
  Value(int64_t v) : data_(v) {}
  Value(double v) : data_(v) {}
  Value(const char *s) : data_(std::make_shared<const std::string>(s)) {}
  Value(std::string s) : data_(std::make_shared<const std::string>(std::move(s))) {}
  Value(std::vector<Value> items, bool is_tuple = false);
  Value(std::shared_ptr<DictData> dict) : data_(std::move(dict)) {}
  static Value function(std::string name, Function call);
  static Value from_json(const nlohmann::ordered_json &json);

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  bool is_undefined() const { return kind() == Kind::Undefined; }
  bool is_none() const { return kind() == Kind::None; }
  bool is_bool() const { return kind() == Kind::Bool; }
  bool is_int() const { return kind() == Kind::Int; }
  bool is_float() const { return kind() == Kind::Float; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind() == Kind::String; }
  bool is_list() const { return kind() == Kind::List; }
  bool is_dict() const { return kind() == Kind::Dict; }
  bool is_function() const { return kind() == Kind::Function; }
  // Markup (the `safe`/`escape` filters' result): `+` with a plain string HTML-escapes the plain
  // side.
  static Value markup(std::string s) {
    Value v(std::move(s));
    v.markup_ = true;
    return v;
  }
  bool is_markup() const { return markup_ && is_string(); }

  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return std::get<int64_t>(data_); }
  double as_float() const { return std::get<double>(data_); }
  double as_double() const; // int, float or bool as a double
  const std::string &str() const { return *std::get<StringPtr>(data_); }
  const std::vector<Value> &list() const { return std::get<ListPtr>(data_)->items; }
  bool is_tuple() const { return is_list() && std::get<ListPtr>(data_)->is_tuple; }
  const DictData &dict() const { return *std::get<DictPtr>(data_); }
  DictData &mutable_dict() const { return *std::get<DictPtr>(data_); }
  const FunctionData &fn() const { return *std::get<FunctionPtr>(data_); }
  const std::string &undefined_name() const { return std::get<Undefined>(data_).name; }

  bool truthy() const;
  // Python's str(): what `{{ value }}` prints.
  std::string to_string() const;
  // Python's repr(): how values print inside lists and dicts.
  std::string repr() const;
  std::string type_name() const; // Python type name, for error messages
  // Items as iterated by `for`: list items, dict keys, string characters.
  std::vector<Value> iterate() const;

  friend bool operator==(const Value &a, const Value &b);

private:
  using StringPtr = std::shared_ptr<const std::string>;
  using ListPtr = std::shared_ptr<ListData>;
  using DictPtr = std::shared_ptr<DictData>;
  using FunctionPtr = std::shared_ptr<const FunctionData>;
  using Storage = std::variant<Undefined, None, bool, int64_t, double, StringPtr, ListPtr, DictPtr,
                               FunctionPtr>;
  explicit Value(Storage data) : data_(std::move(data)) {}
  Storage data_;
  bool markup_ = false;
};

Value make_dict(std::vector<std::pair<std::string, Value>> items = {});

// Python's three-way comparison for <, <=, >, >=; throws m3::Error for unorderable types.
int compare(const Value &a, const Value &b);
// Python float repr (shortest round-trip digits).
std::string format_float(double value);
// Python repr of a str.
std::string repr_string(const std::string &text);

} // namespace m3::jinja
