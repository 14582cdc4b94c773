// Expression evaluation with Python semantics for arithmetic, comparison and truthiness.
#include <cmath>
#include <optional>

#include "chat/jinja/ast.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/context.h"
#include "core/error.h"

namespace m3::jinja {

namespace {

void require_defined(const Value &v) {
  if (v.is_undefined())
    fail_undefined(v);
}

bool is_integral(const Value &v) { return v.is_int() || v.is_bool(); }
int64_t integral(const Value &v) { return v.is_bool() ? int64_t{v.as_bool()} : v.as_int(); }

[[noreturn]] void unsupported(const std::string &op, const Value &a, const Value &b) {
  fail("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() +
       "'");
}

Value repeat(const Value &sequence, int64_t times) {
  if (sequence.is_string()) {
    std::string out;
    for (int64_t i = 0; i < times; ++i)
      out += sequence.str();
    return Value(std::move(out));
  }
  std::vector<Value> out;
  for (int64_t i = 0; i < times; ++i)
    out.insert(out.end(), sequence.list().begin(), sequence.list().end());
  return Value(std::move(out), sequence.is_tuple());
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}

Value arithmetic(const std::string &op, const Value &a, const Value &b) {
  require_defined(a);
  require_defined(b);
  if (op == "+") {
    if (a.is_markup() || b.is_markup()) {
      if (a.is_string() && b.is_string())
        return Value::markup((a.is_markup() ? a.str() : html_escape(a.str())) +
                             (b.is_markup() ? b.str() : html_escape(b.str())));
    } else if (a.is_string() && b.is_string()) {
      return Value(a.str() + b.str());
    }
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      std::vector<Value> items = a.list();
      items.insert(items.end(), b.list().begin(), b.list().end());
      return Value(std::move(items), a.is_tuple());
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && is_integral(b))
      return repeat(a, integral(b));
    if ((b.is_string() || b.is_list()) && is_integral(a))
      return repeat(b, integral(a));
  }
  if (!a.is_number() || !b.is_number())
    unsupported(op, a, b);
  bool ints = is_integral(a) && is_integral(b);
  // + - * in the operands' own arithmetic (Python int or float).
  const auto add_sub_mul = [&op](auto x, auto y) -> std::optional<Value> {
    if (op == "+")
      return Value(x + y);
    if (op == "-")
      return Value(x - y);
    if (op == "*")
      return Value(x * y);
    return std::nullopt;
  };
  if (op == "/") {
    if (b.as_double() == 0)
      fail("division by zero");
    return Value(a.as_double() / b.as_double());
  }
  if (ints) {
    int64_t x = integral(a), y = integral(b);
    if (auto value = add_sub_mul(x, y))
      return *value;
    if (op == "//" || op == "%") {
      if (y == 0)
        fail("integer division or modulo by zero");
      int64_t q = floor_div(x, y);
      return op == "//" ? Value(q) : Value(x - q * y);
    }
    if (op == "**") {
      if (y >= 0) {
        int64_t result = 1;
        for (int64_t i = 0; i < y; ++i)
          result *= x;
        return Value(result);
      }
      return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
    }
  }
  double x = a.as_double(), y = b.as_double();
  if (auto value = add_sub_mul(x, y))
    return *value;
  if (op == "**")
    return Value(std::pow(x, y));
  if (y == 0)
    fail("float division or modulo by zero");
  double q = std::floor(x / y);
  if (op == "//")
    return Value(q);
  double r = std::fmod(x, y);
  if (r != 0 && ((r < 0) != (y < 0)))
    r += y;
  return Value(r);
}

bool compare_op(const std::string &op, const Value &a, const Value &b) {
  if (op == "==")
    return a == b;
  if (op == "!=")
    return !(a == b);
  if (op == "in")
    return contains(b, a);
  if (op == "notin")
    return !contains(b, a);
  require_defined(a);
  require_defined(b);
  int c = compare(a, b);
  if (op == "<")
    return c < 0;
  if (op == "<=")
    return c <= 0;
  if (op == ">")
    return c > 0;
  return c >= 0;
}

} // namespace

CallArgs Arguments::eval(Context &ctx) const {
  CallArgs args;
  args.positional.reserve(positional.size());
  for (const auto &p : positional)
    args.positional.push_back(p->eval(ctx));
  for (const auto &[k, v] : keywords)
    args.keywords.emplace_back(k, v->eval(ctx));
  return args;
}

Value Name::eval(Context &ctx) const { return ctx.lookup(name); }

Value ListExpr::eval(Context &ctx) const {
  std::vector<Value> values;
  values.reserve(items.size());
  for (const auto &item : items)
    values.push_back(item->eval(ctx));
  return Value(std::move(values), is_tuple);
}

Value DictExpr::eval(Context &ctx) const {
  auto dict = std::make_shared<DictData>();
  for (const auto &[k, v] : items) {
    Value key = k->eval(ctx);
    if (!key.is_string())
      fail("line " + std::to_string(line) + ": only string keys are supported in dict literals");
    dict->set(key.str(), v->eval(ctx));
  }
  return Value(std::move(dict));
}

Value Attribute::eval(Context &ctx) const { return get_attribute(object->eval(ctx), name); }

Value Slice::eval(Context &) const { fail("a slice is only valid inside []"); }

namespace {
// Python's slice.indices(): clamps start/stop for a sequence of `length`.
std::vector<size_t> slice_indices(Context &ctx, const Slice &slice, size_t length) {
  auto bound = [&](const ExprPtr &e) -> std::optional<int64_t> {
    if (!e)
      return std::nullopt;
    Value v = e->eval(ctx);
    if (v.is_none())
      return std::nullopt;
    if (!is_integral(v))
      fail("slice indices must be integers or None");
    return integral(v);
  };
  int64_t n = static_cast<int64_t>(length);
  int64_t step = bound(slice.step).value_or(1);
  if (step == 0)
    fail("slice step cannot be zero");
  auto clamp = [&](std::optional<int64_t> v, int64_t fallback) {
    if (!v)
      return fallback;
    int64_t x = *v < 0 ? *v + n : *v;
    if (step > 0)
      return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  int64_t start = clamp(bound(slice.start), step > 0 ? 0 : n - 1);
  int64_t stop = clamp(bound(slice.stop), step > 0 ? n : -1);
  std::vector<size_t> indices;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
    indices.push_back(static_cast<size_t>(i));
  return indices;
}
} // namespace

Value Subscript::eval(Context &ctx) const {
  Value target = object->eval(ctx);
  if (auto *slice = dynamic_cast<const Slice *>(index.get())) {
    require_defined(target);
    if (target.is_list()) {
      std::vector<Value> out;
      for (size_t i : slice_indices(ctx, *slice, target.list().size()))
        out.push_back(target.list()[i]);
      return Value(std::move(out), target.is_tuple());
    }
    if (target.is_string()) {
      std::vector<Value> chars = target.iterate();
      std::string out;
      for (size_t i : slice_indices(ctx, *slice, chars.size()))
        out += chars[i].str();
      return Value(std::move(out));
    }
    return Value::undefined("slice");
  }
  return get_item(target, index->eval(ctx));
}

Value Call::eval(Context &ctx) const {
  Value fn = callee->eval(ctx);
  CallArgs call_args = args.eval(ctx);
  return call_value(fn, call_args);
}

Value FilterExpr::apply(Context &ctx, const Value &input) const {
  return apply_filter(ctx, name, input, args.eval(ctx));
}

Value FilterExpr::eval(Context &ctx) const { return apply(ctx, operand->eval(ctx)); }

Value TestExpr::eval(Context &ctx) const {
  bool result = apply_test(ctx, name, operand->eval(ctx), args.eval(ctx));
  return Value(result != negated);
}

Value Unary::eval(Context &ctx) const {
  Value v = operand->eval(ctx);
  if (op == "not")
    return Value(!v.truthy());
  require_defined(v);
  if (!v.is_number())
    fail("bad operand type for unary " + op + ": '" + v.type_name() + "'");
  if (op == "+")
    return v.is_bool() ? Value(integral(v)) : v;
  if (v.is_float())
    return Value(-v.as_float());
  return Value(-integral(v));
}

Value Binary::eval(Context &ctx) const {
  if (op == "and") {
    Value l = left->eval(ctx);
    return l.truthy() ? right->eval(ctx) : l;
  }
  if (op == "or") {
    Value l = left->eval(ctx);
    return l.truthy() ? l : right->eval(ctx);
  }
  Value l = left->eval(ctx);
  Value r = right->eval(ctx);
  if (op == "~")
    return Value(l.to_string() + r.to_string());
  return arithmetic(op, l, r);
}

Value Compare::eval(Context &ctx) const {
  Value left = first->eval(ctx);
  for (const auto &[op, expr] : rest) {
    Value right = expr->eval(ctx);
    if (!compare_op(op, left, right))
      return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Value Conditional::eval(Context &ctx) const {
  if (condition->eval(ctx).truthy())
    return then_value->eval(ctx);
  return else_value ? else_value->eval(ctx) : Value::undefined("conditional expression");
}

} // namespace m3::jinja
