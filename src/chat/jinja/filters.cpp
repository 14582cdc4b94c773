// Jinja2's builtin filters (the subset chat templates use), with Python semantics.
// `tojson` is HF's override: json.dumps(x, ensure_ascii=False, indent=None, separators=None,
// sort_keys=False) with those keyword arguments accepted.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "chat/jinja/builtins.h"
#include "chat/jinja/json_dump.h"
#include "chat/jinja/string_ops.h"
#include "chat/jinja/utf8.h"
#include "core/error.h"

namespace m3::jinja {

namespace {

Value arg_or(const CallArgs &args, size_t index, const char *name, Value fallback) {
  const Value *v = args.get(index, name);
  return v ? *v : std::move(fallback);
}

// CallArgs without the first `skip` positional arguments (for map/select forwarding).
CallArgs drop_positional(const CallArgs &args, size_t skip) {
  CallArgs rest;
  for (size_t i = skip; i < args.positional.size(); ++i)
    rest.positional.push_back(args.positional[i]);
  rest.keywords = args.keywords;
  return rest;
}

// Jinja's attribute getter: "a.b.0" walks dicts and lists.
Value lookup_path(const Value &item, const Value &path) {
  if (path.is_int())
    return get_item(item, path);
  Value current = item;
  for (const std::string &part : py_split(path.to_string(), std::string("."), -1)) {
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    current = numeric ? get_item(current, Value(static_cast<int64_t>(std::stoll(part))))
                      : get_item(current, Value(part));
  }
  return current;
}

Value filter_default(Context &, const Value &input, const CallArgs &args) {
  bool boolean = arg_or(args, 1, "boolean", Value(false)).truthy();
  if (input.is_undefined() || (boolean && !input.truthy()))
    return arg_or(args, 0, "default_value", Value(""));
  return input;
}

Value filter_length(Context &, const Value &input, const CallArgs &) {
  switch (input.kind()) {
  case Value::Kind::Undefined:
    return Value(0);
  case Value::Kind::String:
    return Value(static_cast<int64_t>(utf8::length(input.str())));
  case Value::Kind::List:
    return Value(static_cast<int64_t>(input.list().size()));
  case Value::Kind::Dict:
    return Value(static_cast<int64_t>(input.dict().items.size()));
  default:
    fail("object of type '" + input.type_name() + "' has no len()");
  }
}

Value filter_first(Context &, const Value &input, const CallArgs &) {
  std::vector<Value> items = input.iterate();
  return items.empty() ? Value::undefined("first item of an empty sequence") : items.front();
}

Value filter_last(Context &, const Value &input, const CallArgs &) {
  if (input.is_dict())
    fail("'dict' object is not reversible");
  std::vector<Value> items = input.iterate();
  return items.empty() ? Value::undefined("last item of an empty sequence") : items.back();
}

Value filter_join(Context &, const Value &input, const CallArgs &args) {
  std::string separator = arg_or(args, 0, "d", Value("")).to_string();
  const Value *attribute = args.get(1, "attribute");
  std::string out;
  bool first = true;
  for (const auto &item : input.iterate()) {
    if (!first)
      out += separator;
    first = false;
    out += (attribute ? lookup_path(item, *attribute) : item).to_string();
  }
  return Value(std::move(out));
}

Value filter_upper(Context &, const Value &input, const CallArgs &) {
  return Value(ascii_upper(input.to_string()));
}
Value filter_lower(Context &, const Value &input, const CallArgs &) {
  return Value(ascii_lower(input.to_string()));
}
Value filter_title(Context &, const Value &input, const CallArgs &) {
  return Value(py_title(input.to_string()));
}
Value filter_capitalize(Context &, const Value &input, const CallArgs &) {
  return Value(py_capitalize(input.to_string()));
}
Value filter_string(Context &, const Value &input, const CallArgs &) {
  return Value(input.to_string());
}

Value filter_trim(Context &, const Value &input, const CallArgs &args) {
  const Value *chars = args.get(0, "chars");
  std::optional<std::string> set;
  if (chars && !chars->is_none())
    set = chars->to_string();
  return Value(py_strip(input.to_string(), set, true, true));
}

Value filter_replace(Context &, const Value &input, const CallArgs &args) {
  const Value *old_text = args.get(0, "old");
  const Value *new_text = args.get(1, "new");
  if (!old_text || !new_text)
    fail("replace filter needs 'old' and 'new'");
  Value count = arg_or(args, 2, "count", Value::none());
  return Value(py_replace(input.to_string(), old_text->to_string(), new_text->to_string(),
                          count.is_int() ? count.as_int() : -1));
}

std::optional<double> parse_python_float(std::string text) {
  text = py_strip(text, std::nullopt, true, true);
  text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
  if (text.empty())
    return std::nullopt;
  try {
    size_t used = 0;
    double v = std::stod(text, &used);
    if (used == text.size())
      return v;
  } catch (const std::exception &) {
  }
  return std::nullopt;
}

Value filter_int(Context &, const Value &input, const CallArgs &args) {
  Value fallback = arg_or(args, 0, "default", Value(0));
  int base = static_cast<int>(arg_or(args, 1, "base", Value(10)).as_int());
  if (input.is_int())
    return input;
  if (input.is_bool())
    return Value(int64_t{input.as_bool()});
  if (input.is_float())
    return std::isfinite(input.as_float()) ? Value(static_cast<int64_t>(input.as_float()))
                                           : fallback;
  if (!input.is_string())
    return fallback;
  std::string text = py_strip(input.str(), std::nullopt, true, true);
  text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used, base);
    if (used == text.size() && !text.empty())
      return Value(static_cast<int64_t>(v));
  } catch (const std::exception &) {
  }
  auto as_float = parse_python_float(input.str());
  return as_float && std::isfinite(*as_float) ? Value(static_cast<int64_t>(*as_float)) : fallback;
}

Value filter_float(Context &, const Value &input, const CallArgs &args) {
  Value fallback = arg_or(args, 0, "default", Value(0.0));
  if (input.is_number())
    return Value(input.as_double());
  if (!input.is_string())
    return fallback;
  auto v = parse_python_float(input.str());
  return v ? Value(*v) : fallback;
}

Value filter_list(Context &, const Value &input, const CallArgs &) {
  return Value(input.iterate());
}

// map/select/reject yield nothing for a falsy input (None included), as Jinja2's do_map does.
Value filter_map(Context &ctx, const Value &input, const CallArgs &args) {
  std::vector<Value> out;
  if (!input.truthy())
    return Value(std::move(out));
  const Value *attribute = args.get(static_cast<size_t>(-1), "attribute");
  if (attribute) {
    const Value *fallback = args.get(static_cast<size_t>(-1), "default");
    for (const auto &item : input.iterate()) {
      Value v = lookup_path(item, *attribute);
      out.push_back(v.is_undefined() && fallback ? *fallback : v);
    }
    return Value(std::move(out));
  }
  if (args.positional.empty())
    fail("map filter needs a filter name or attribute=");
  std::string name = args.positional[0].to_string();
  CallArgs rest = drop_positional(args, 1);
  for (const auto &item : input.iterate())
    out.push_back(apply_filter(ctx, name, item, rest));
  return Value(std::move(out));
}

Value select_items(Context &ctx, const Value &input, const CallArgs &args, bool by_attribute,
                   bool keep) {
  if (!input.truthy())
    return Value(std::vector<Value>{});
  size_t test_at = by_attribute ? 1 : 0;
  if (by_attribute && args.positional.empty())
    fail("selectattr/rejectattr need an attribute name");
  std::optional<std::string> test;
  if (args.positional.size() > test_at)
    test = args.positional[test_at].to_string();
  CallArgs rest = drop_positional(args, test_at + 1);
  std::vector<Value> out;
  for (const auto &item : input.iterate()) {
    Value subject = by_attribute ? lookup_path(item, args.positional[0]) : item;
    bool passed = test ? apply_test(ctx, *test, subject, rest) : subject.truthy();
    if (passed == keep)
      out.push_back(item);
  }
  return Value(std::move(out));
}
Value filter_select(Context &c, const Value &v, const CallArgs &a) {
  return select_items(c, v, a, false, true);
}
Value filter_reject(Context &c, const Value &v, const CallArgs &a) {
  return select_items(c, v, a, false, false);
}
Value filter_selectattr(Context &c, const Value &v, const CallArgs &a) {
  return select_items(c, v, a, true, true);
}
Value filter_rejectattr(Context &c, const Value &v, const CallArgs &a) {
  return select_items(c, v, a, true, false);
}

// Sort/unique key: the (optional) attribute, lowercased for case-insensitive string compares.
Value comparison_key(const Value &item, const Value *attribute, bool case_sensitive) {
  Value key = attribute && !attribute->is_none() ? lookup_path(item, *attribute) : item;
  if (!case_sensitive && key.is_string())
    return Value(ascii_lower(key.str()));
  return key;
}

Value filter_unique(Context &, const Value &input, const CallArgs &args) {
  bool case_sensitive = arg_or(args, 0, "case_sensitive", Value(false)).truthy();
  const Value *attribute = args.get(1, "attribute");
  std::vector<Value> out, seen;
  for (const auto &item : input.iterate()) {
    Value key = comparison_key(item, attribute, case_sensitive);
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value(std::move(out));
}

Value filter_sort(Context &, const Value &input, const CallArgs &args) {
  bool reverse = arg_or(args, 0, "reverse", Value(false)).truthy();
  bool case_sensitive = arg_or(args, 1, "case_sensitive", Value(false)).truthy();
  const Value *attribute = args.get(2, "attribute");
  std::vector<Value> items = input.iterate();
  std::stable_sort(items.begin(), items.end(), [&](const Value &a, const Value &b) {
    int c = compare(comparison_key(a, attribute, case_sensitive),
                    comparison_key(b, attribute, case_sensitive));
    return reverse ? c > 0 : c < 0;
  });
  return Value(std::move(items));
}

Value filter_items(Context &, const Value &input, const CallArgs &) {
  if (input.is_undefined())
    return Value(std::vector<Value>{});
  if (!input.is_dict())
    fail("items filter expects a mapping, got " + input.type_name());
  std::vector<Value> out;
  for (const auto &[k, v] : input.dict().items)
    out.emplace_back(std::vector<Value>{Value(k), v}, true);
  return Value(std::move(out));
}

Value filter_dictsort(Context &ctx, const Value &input, const CallArgs &args) {
  bool case_sensitive = arg_or(args, 0, "case_sensitive", Value(false)).truthy();
  std::string by = arg_or(args, 1, "by", Value("key")).to_string();
  bool reverse = arg_or(args, 2, "reverse", Value(false)).truthy();
  std::vector<Value> items = filter_items(ctx, input, {}).list();
  size_t pos = by == "value" ? 1 : 0;
  std::stable_sort(items.begin(), items.end(), [&](const Value &a, const Value &b) {
    int c = compare(comparison_key(a.list()[pos], nullptr, case_sensitive),
                    comparison_key(b.list()[pos], nullptr, case_sensitive));
    return reverse ? c > 0 : c < 0;
  });
  return Value(std::move(items));
}

Value filter_indent(Context &, const Value &input, const CallArgs &args) {
  Value width = arg_or(args, 0, "width", Value(4));
  bool first = arg_or(args, 1, "first", Value(false)).truthy();
  bool blank = arg_or(args, 2, "blank", Value(false)).truthy();
  std::string indentation =
      width.is_string() ? width.str() : std::string(static_cast<size_t>(width.as_int()), ' ');
  std::vector<std::string> lines = py_splitlines(input.to_string() + "\n", false);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0)
      out += "\n";
    bool indent_line = i > 0 && (blank || !lines[i].empty());
    out += (indent_line ? indentation : "") + lines[i];
  }
  return Value(first ? indentation + out : out);
}

Value filter_round(Context &, const Value &input, const CallArgs &args) {
  int64_t precision = arg_or(args, 0, "precision", Value(0)).as_int();
  std::string method = arg_or(args, 1, "method", Value("common")).to_string();
  double v = input.as_double();
  double scale = std::pow(10.0, static_cast<double>(precision));
  if (method == "ceil")
    return Value(std::ceil(v * scale) / scale);
  if (method == "floor")
    return Value(std::floor(v * scale) / scale);
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, "%.*f", static_cast<int>(precision),
                v); // round-half-even on exact value
  return Value(std::stod(buffer));
}

Value filter_abs(Context &, const Value &input, const CallArgs &) {
  if (input.is_float())
    return Value(std::fabs(input.as_float()));
  if (input.is_int())
    return Value(input.as_int() < 0 ? -input.as_int() : input.as_int());
  if (input.is_bool())
    return Value(int64_t{input.as_bool()});
  fail("bad operand type for abs(): '" + input.type_name() + "'");
}

Value filter_safe(Context &, const Value &input, const CallArgs &) {
  return input.is_markup() ? input : Value::markup(input.to_string());
}

Value filter_escape(Context &, const Value &input, const CallArgs &) {
  return input.is_markup() ? input : Value::markup(html_escape(input.to_string()));
}

Value filter_forceescape(Context &, const Value &input, const CallArgs &) {
  return Value::markup(html_escape(input.to_string()));
}

Value filter_tojson(Context &, const Value &input, const CallArgs &args) {
  JsonFormat format;
  format.ensure_ascii = arg_or(args, 0, "ensure_ascii", Value(false)).truthy();
  Value indent = arg_or(args, 1, "indent", Value::none());
  if (indent.is_int())
    format.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, indent.as_int())), ' ');
  if (indent.is_string())
    format.indent = indent.str();
  Value separators = arg_or(args, 2, "separators", Value::none());
  if (separators.is_list() && separators.list().size() == 2) {
    format.item_separator = separators.list()[0].to_string();
    format.key_separator = separators.list()[1].to_string();
  }
  format.sort_keys = arg_or(args, 3, "sort_keys", Value(false)).truthy();
  return Value(to_json(input, format));
}

Value filter_reverse(Context &, const Value &input, const CallArgs &) {
  std::vector<Value> items = input.iterate();
  std::reverse(items.begin(), items.end());
  if (!input.is_string())
    return Value(std::move(items));
  std::string out;
  for (const auto &c : items)
    out += c.str();
  return Value(std::move(out));
}

Value filter_sum(Context &, const Value &input, const CallArgs &args) {
  const Value *attribute = args.get(0, "attribute");
  Value total = arg_or(args, 1, "start", Value(0));
  for (const auto &item : input.iterate()) {
    Value v = attribute && !attribute->is_none() ? lookup_path(item, *attribute) : item;
    if (!v.is_number() || !total.is_number())
      fail("sum filter expects numbers");
    bool ints = !v.is_float() && !total.is_float();
    total = ints ? Value(static_cast<int64_t>(total.as_double() + v.as_double()))
                 : Value(total.as_double() + v.as_double());
  }
  return total;
}

Value extreme(const Value &input, const CallArgs &args, bool want_max) {
  bool case_sensitive = arg_or(args, 0, "case_sensitive", Value(false)).truthy();
  const Value *attribute = args.get(1, "attribute");
  std::vector<Value> items = input.iterate();
  if (items.empty())
    return Value::undefined("no items in empty sequence");
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    int c = compare(comparison_key(items[i], attribute, case_sensitive),
                    comparison_key(items[best], attribute, case_sensitive));
    if (want_max ? c > 0 : c < 0)
      best = i;
  }
  return items[best];
}
Value filter_max(Context &, const Value &v, const CallArgs &a) { return extreme(v, a, true); }
Value filter_min(Context &, const Value &v, const CallArgs &a) { return extreme(v, a, false); }

Value filter_attr(Context &, const Value &input, const CallArgs &args) {
  const Value *name = args.get(0, "name");
  if (!name)
    fail("attr filter needs a name");
  return get_attribute(input, name->to_string());
}

Value filter_wordcount(Context &, const Value &input, const CallArgs &) {
  return Value(static_cast<int64_t>(py_split(input.to_string(), std::nullopt, -1).size()));
}

Value filter_center(Context &, const Value &input, const CallArgs &args) {
  return Value(
      py_pad(input.to_string(), "center", arg_or(args, 0, "width", Value(80)).as_int(), " "));
}

const std::unordered_map<std::string, FilterFn> &filters() {
  static const std::unordered_map<std::string, FilterFn> table = {
      {"default", filter_default},
      {"d", filter_default},
      {"length", filter_length},
      {"count", filter_length},
      {"first", filter_first},
      {"last", filter_last},
      {"join", filter_join},
      {"upper", filter_upper},
      {"lower", filter_lower},
      {"title", filter_title},
      {"capitalize", filter_capitalize},
      {"string", filter_string},
      {"safe", filter_safe},
      {"trim", filter_trim},
      {"replace", filter_replace},
      {"int", filter_int},
      {"float", filter_float},
      {"list", filter_list},
      {"map", filter_map},
      {"select", filter_select},
      {"reject", filter_reject},
      {"selectattr", filter_selectattr},
      {"rejectattr", filter_rejectattr},
      {"unique", filter_unique},
      {"sort", filter_sort},
      {"items", filter_items},
      {"dictsort", filter_dictsort},
      {"indent", filter_indent},
      {"round", filter_round},
      {"abs", filter_abs},
      {"escape", filter_escape},
      {"e", filter_escape},
      {"forceescape", filter_forceescape},
      {"tojson", filter_tojson},
      {"reverse", filter_reverse},
      {"sum", filter_sum},
      {"max", filter_max},
      {"min", filter_min},
      {"attr", filter_attr},
      {"wordcount", filter_wordcount},
      {"center", filter_center}};
  return table;
}

} // namespace

FilterFn find_filter(const std::string &name) {
  auto it = filters().find(name);
  return it == filters().end() ? nullptr : it->second;
}

Value apply_filter(Context &ctx, const std::string &name, const Value &input,
                   const CallArgs &args) {
  FilterFn fn = find_filter(name);
  if (!fn)
    fail("no filter named '" + name + "'");
  return fn(ctx, input, args);
}

} // namespace m3::jinja
