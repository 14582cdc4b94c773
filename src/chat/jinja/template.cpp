#include "chat/jinja/template.h"

#include <ctime>

#include "chat/jinja/context.h"
#include "chat/jinja/lexer.h"
#include "chat/jinja/parser.h"
#include "core/error.h"

namespace m3::jinja {

namespace {

Value global_range(CallArgs &args) {
  auto integer = [](const Value &v) {
    if (!v.is_int() && !v.is_bool())
      fail("range() arguments must be integers");
    return v.is_bool() ? int64_t{v.as_bool()} : v.as_int();
  };
  const auto &p = args.positional;
  if (p.empty() || p.size() > 3)
    fail("range expected 1 to 3 arguments");
  int64_t start = p.size() == 1 ? 0 : integer(p[0]);
  int64_t stop = integer(p.size() == 1 ? p[0] : p[1]);
  int64_t step = p.size() == 3 ? integer(p[2]) : 1;
  if (step == 0)
    fail("range() arg 3 must not be zero");
  std::vector<Value> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (out.size() >= 100000)
      fail("range too big, the sandbox allows 100000 items");
    out.emplace_back(i);
  }
  return Value(std::move(out));
}

// dict(**kw), dict(mapping) and namespace(...) share this construction.
Value build_dict(CallArgs &args, bool is_namespace) {
  auto dict = std::make_shared<DictData>();
  dict->is_namespace = is_namespace;
  for (const auto &initial : args.positional) {
    if (initial.is_dict()) {
      for (const auto &[k, v] : initial.dict().items)
        dict->set(k, v);
    } else {
      for (const auto &pair : initial.iterate()) {
        if (!pair.is_list() || pair.list().size() != 2 || !pair.list()[0].is_string())
          fail("dict() expects (key, value) pairs with string keys");
        dict->set(pair.list()[0].str(), pair.list()[1]);
      }
    }
  }
  for (const auto &[k, v] : args.keywords)
    dict->set(k, v);
  return Value(std::move(dict));
}

Value global_strftime_now(CallArgs &args) {
  if (args.positional.empty() || !args.positional[0].is_string())
    fail("strftime_now expects a format string");
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buffer[512];
  size_t n = std::strftime(buffer, sizeof buffer, args.positional[0].str().c_str(), &local);
  return Value(std::string(buffer, n));
}

std::shared_ptr<Scope> make_globals() {
  auto globals = std::make_shared<Scope>();
  globals->set("range", Value::function("range", global_range));
  globals->set("dict", Value::function("dict", [](CallArgs &a) { return build_dict(a, false); }));
  globals->set("namespace",
               Value::function("namespace", [](CallArgs &a) { return build_dict(a, true); }));
  globals->set("strftime_now", Value::function("strftime_now", global_strftime_now));
  globals->set("raise_exception", Value::function("raise_exception", [](CallArgs &a) -> Value {
                 fail(a.positional.empty() ? std::string("raise_exception called")
                                           : a.positional[0].to_string());
               }));
  return globals;
}

} // namespace

Template::Template(const std::string &source) : body_(parse(tokenize(source))) {}

std::string Template::render(const Value &variables) const {
  static const std::shared_ptr<Scope> globals = make_globals();
  auto top = std::make_shared<Scope>();
  top->parent = globals;
  if (variables.is_dict())
    top->vars = variables.dict().items;
  else if (!variables.is_undefined())
    fail("template variables must be a mapping");
  Context ctx(top);
  std::string out;
  render_body(body_, ctx, out);
  return out;
}

} // namespace m3::jinja
