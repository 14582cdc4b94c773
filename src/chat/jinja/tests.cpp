// Jinja2's builtin tests (`x is defined`, `x is string`, ...).
#include <unordered_map>

#include "chat/jinja/builtins.h"
#include "core/error.h"

namespace m3::jinja {

namespace {

const Value &operand(const CallArgs &args, const char *test) {
  if (args.positional.empty())
    fail(std::string("test '") + test + "' needs an argument");
  return args.positional[0];
}

bool test_defined(Context &, const Value &v, const CallArgs &) { return !v.is_undefined(); }
bool test_undefined(Context &, const Value &v, const CallArgs &) { return v.is_undefined(); }
bool test_none(Context &, const Value &v, const CallArgs &) { return v.is_none(); }
bool test_string(Context &, const Value &v, const CallArgs &) { return v.is_string(); }
bool test_number(Context &, const Value &v, const CallArgs &) { return v.is_number(); }
bool test_integer(Context &, const Value &v, const CallArgs &) { return v.is_int(); }
bool test_float(Context &, const Value &v, const CallArgs &) { return v.is_float(); }
bool test_mapping(Context &, const Value &v, const CallArgs &) { return v.is_dict(); }
bool test_boolean(Context &, const Value &v, const CallArgs &) { return v.is_bool(); }
bool test_true(Context &, const Value &v, const CallArgs &) { return v.is_bool() && v.as_bool(); }
bool test_false(Context &, const Value &v, const CallArgs &) { return v.is_bool() && !v.as_bool(); }
bool test_callable(Context &, const Value &v, const CallArgs &) { return v.is_function(); }
bool test_iterable(Context &, const Value &v, const CallArgs &) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}
bool test_sequence(Context &, const Value &v, const CallArgs &) {
  return v.is_undefined() || v.is_string() || v.is_list() ||
         (v.is_dict() && !v.dict().is_namespace);
}
bool test_eq(Context &, const Value &v, const CallArgs &a) { return v == operand(a, "eq"); }
bool test_ne(Context &, const Value &v, const CallArgs &a) { return !(v == operand(a, "ne")); }
bool test_lt(Context &, const Value &v, const CallArgs &a) {
  return compare(v, operand(a, "lt")) < 0;
}
bool test_le(Context &, const Value &v, const CallArgs &a) {
  return compare(v, operand(a, "le")) <= 0;
}
bool test_gt(Context &, const Value &v, const CallArgs &a) {
  return compare(v, operand(a, "gt")) > 0;
}
bool test_ge(Context &, const Value &v, const CallArgs &a) {
  return compare(v, operand(a, "ge")) >= 0;
}
bool test_in(Context &, const Value &v, const CallArgs &a) { return contains(operand(a, "in"), v); }

int64_t int_operand(const Value &v, const char *test) {
  if (!v.is_int() && !v.is_bool())
    fail(std::string("test '") + test + "' expects an integer");
  return v.is_bool() ? int64_t{v.as_bool()} : v.as_int();
}
bool test_odd(Context &, const Value &v, const CallArgs &) {
  return int_operand(v, "odd") % 2 != 0;
}
bool test_even(Context &, const Value &v, const CallArgs &) {
  return int_operand(v, "even") % 2 == 0;
}
bool test_divisibleby(Context &, const Value &v, const CallArgs &a) {
  int64_t d = int_operand(operand(a, "divisibleby"), "divisibleby");
  if (d == 0)
    fail("integer division or modulo by zero");
  return int_operand(v, "divisibleby") % d == 0;
}

bool test_sameas(Context &, const Value &v, const CallArgs &a) {
  const Value &other = operand(a, "sameas");
  if (v.kind() != other.kind())
    return false;
  if (v.is_list())
    return &v.list() == &other.list();
  if (v.is_dict())
    return &v.dict() == &other.dict();
  return v == other;
}

// Python's str.islower()/isupper() on str(value): some cased letter, none of the other case.
bool all_cased_letters_are(const Value &v, char low, char high) {
  if (!v.is_string())
    return false;
  bool cased = false;
  for (char c : v.str()) {
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (letter && !(c >= low && c <= high))
      return false;
    cased = cased || letter;
  }
  return cased;
}
bool test_lower(Context &, const Value &v, const CallArgs &) {
  return all_cased_letters_are(v, 'a', 'z');
}
bool test_upper(Context &, const Value &v, const CallArgs &) {
  return all_cased_letters_are(v, 'A', 'Z');
}
bool test_filter(Context &, const Value &v, const CallArgs &) {
  return v.is_string() && find_filter(v.str());
}
bool test_test(Context &, const Value &v, const CallArgs &) {
  return v.is_string() && find_test(v.str());
}
bool test_escaped(Context &, const Value &, const CallArgs &) { return false; }

const std::unordered_map<std::string, TestFn> &tests() {
  static const std::unordered_map<std::string, TestFn> table = {{"defined", test_defined},
                                                                {"undefined", test_undefined},
                                                                {"none", test_none},
                                                                {"string", test_string},
                                                                {"number", test_number},
                                                                {"integer", test_integer},
                                                                {"float", test_float},
                                                                {"mapping", test_mapping},
                                                                {"iterable", test_iterable},
                                                                {"sequence", test_sequence},
                                                                {"boolean", test_boolean},
                                                                {"true", test_true},
                                                                {"false", test_false},
                                                                {"callable", test_callable},
                                                                {"equalto", test_eq},
                                                                {"eq", test_eq},
                                                                {"==", test_eq},
                                                                {"ne", test_ne},
                                                                {"!=", test_ne},
                                                                {"lt", test_lt},
                                                                {"lessthan", test_lt},
                                                                {"<", test_lt},
                                                                {"le", test_le},
                                                                {"<=", test_le},
                                                                {"gt", test_gt},
                                                                {"greaterthan", test_gt},
                                                                {">", test_gt},
                                                                {"ge", test_ge},
                                                                {">=", test_ge},
                                                                {"in", test_in},
                                                                {"odd", test_odd},
                                                                {"even", test_even},
                                                                {"divisibleby", test_divisibleby},
                                                                {"sameas", test_sameas},
                                                                {"lower", test_lower},
                                                                {"upper", test_upper},
                                                                {"filter", test_filter},
                                                                {"test", test_test},
                                                                {"escaped", test_escaped}};
  return table;
}

} // namespace

TestFn find_test(const std::string &name) {
  auto it = tests().find(name);
  return it == tests().end() ? nullptr : it->second;
}

bool apply_test(Context &ctx, const std::string &name, const Value &input, const CallArgs &args) {
  TestFn fn = find_test(name);
  if (!fn)
    fail("no test named '" + name + "'");
  return fn(ctx, input, args);
}

} // namespace m3::jinja
