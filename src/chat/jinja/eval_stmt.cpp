// Statement rendering: output, control flow, assignments, macros and call/filter blocks.
// Scoping follows Jinja2: `for`, macros, `with` and call blocks open a scope; `if` does not.
#include "chat/jinja/ast.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/context.h"
#include "core/error.h"

namespace m3::jinja {

Flow render_body(const Body &body, Context &ctx, std::string &out) {
  for (const auto &stmt : body) {
    Flow flow = stmt->render(ctx, out);
    if (flow != Flow::Normal)
      return flow;
  }
  return Flow::Normal;
}

void Target::assign(Context &ctx, const Value &value) const {
  if (namespace_object) {
    Value object = namespace_object->eval(ctx);
    if (!object.is_dict() || !object.dict().is_namespace)
      fail("cannot assign attribute '" + names[0] + "' on a non-namespace object");
    object.mutable_dict().set(names[0], value);
    return;
  }
  if (!is_tuple) {
    ctx.set(names[0], value);
    return;
  }
  std::vector<Value> items = value.iterate();
  if (items.size() != names.size())
    fail("cannot unpack " + std::to_string(items.size()) + " values into " +
         std::to_string(names.size()) + " names");
  for (size_t i = 0; i < names.size(); ++i)
    ctx.set(names[i], items[i]);
}

Flow OutputStmt::render(Context &ctx, std::string &out) const {
  Value v = value->eval(ctx);
  if (v.is_string())
    out += v.str();
  else
    out += v.to_string();
  return Flow::Normal;
}

Flow IfStmt::render(Context &ctx, std::string &out) const {
  for (const auto &[condition, body] : branches)
    if (condition->eval(ctx).truthy())
      return render_body(body, ctx, out);
  return render_body(else_body, ctx, out);
}

namespace {

Value make_loop(const std::vector<Value> &items, size_t i) {
  int64_t n = static_cast<int64_t>(items.size());
  int64_t index = static_cast<int64_t>(i);
  Value cycle = Value::function("loop.cycle", [index](CallArgs &args) {
    if (args.positional.empty())
      fail("no items for cycling given");
    return args.positional[index % args.positional.size()];
  });
  return make_dict({{"index0", Value(index)},
                    {"index", Value(index + 1)},
                    {"revindex0", Value(n - index - 1)},
                    {"revindex", Value(n - index)},
                    {"first", Value(i == 0)},
                    {"last", Value(index == n - 1)},
                    {"length", Value(n)},
                    {"depth0", Value(0)},
                    {"depth", Value(1)},
                    {"previtem", i > 0 ? items[i - 1] : Value::undefined("previtem")},
                    {"nextitem", index + 1 < n ? items[i + 1] : Value::undefined("nextitem")},
                    {"cycle", std::move(cycle)}});
}

} // namespace

// Each iteration runs in a fresh scope under the enclosing one, so `set` inside the body
// neither leaks out of the loop nor carries over to the next iteration (as in Jinja2).
Flow ForStmt::render(Context &ctx, std::string &out) const {
  std::vector<Value> items = iterable->eval(ctx).iterate();
  if (filter) {
    std::vector<Value> kept;
    for (auto &item : items) {
      ScopeGuard guard(ctx, child_scope(ctx));
      target.assign(ctx, item);
      if (filter->eval(ctx).truthy())
        kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    ScopeGuard guard(ctx, child_scope(ctx));
    return render_body(else_body, ctx, out);
  }
  for (size_t i = 0; i < items.size(); ++i) {
    ScopeGuard guard(ctx, child_scope(ctx));
    target.assign(ctx, items[i]);
    ctx.set("loop", make_loop(items, i));
    if (render_body(body, ctx, out) == Flow::Break)
      break;
  }
  return Flow::Normal;
}

Flow SetStmt::render(Context &ctx, std::string &) const {
  target.assign(ctx, value->eval(ctx));
  return Flow::Normal;
}

Flow SetBlockStmt::render(Context &ctx, std::string &) const {
  std::string captured;
  render_body(body, ctx, captured);
  Value result(std::move(captured));
  for (const auto &f : filters)
    result = f->apply(ctx, result);
  target.assign(ctx, result);
  return Flow::Normal;
}

namespace {

// Binds a call's arguments to macro parameters in `scope`; the rest go to varargs/kwargs.
void bind_params(Context &ctx, const std::vector<MacroParam> &params, CallArgs &args) {
  std::vector<Value> varargs;
  auto kwargs = std::make_shared<DictData>();
  for (size_t i = params.size(); i < args.positional.size(); ++i)
    varargs.push_back(args.positional[i]);
  for (auto &[key, value] : args.keywords) {
    bool is_param = false;
    for (const auto &p : params)
      is_param = is_param || p.name == key;
    if (key == "caller")
      ctx.set("caller", value);
    else if (!is_param)
      kwargs->set(key, value);
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const Value *given = args.get(i, params[i].name);
    if (given)
      ctx.set(params[i].name, *given);
    else if (params[i].default_value)
      ctx.set(params[i].name, params[i].default_value->eval(ctx));
    else
      ctx.set(params[i].name, Value::undefined(params[i].name));
  }
  ctx.set("varargs", Value(std::move(varargs), true));
  ctx.set("kwargs", Value(std::move(kwargs)));
}

// A callable that renders `body` with its arguments bound, in a scope under `defining_scope`.
Value make_macro(Context &ctx, const std::string &name, const std::vector<MacroParam> &params,
                 const Body &body) {
  ctx.macro_scopes.push_back(ctx.scope);
  std::weak_ptr<Scope> defining_scope = ctx.scope;
  Context *context = &ctx;
  return Value::function(name, [context, defining_scope, &params, &body](CallArgs &args) {
    auto scope = std::make_shared<Scope>();
    scope->parent = defining_scope.lock();
    ScopeGuard guard(*context, scope);
    bind_params(*context, params, args);
    std::string out;
    render_body(body, *context, out);
    return Value(std::move(out));
  });
}

} // namespace

Flow MacroStmt::render(Context &ctx, std::string &) const {
  ctx.set(name, make_macro(ctx, name, params, body));
  return Flow::Normal;
}

Flow CallBlockStmt::render(Context &ctx, std::string &out) const {
  Value callee = call->callee->eval(ctx);
  CallArgs args = call->args.eval(ctx);
  args.keywords.emplace_back("caller", make_macro(ctx, "caller", caller_params, body));
  out += call_value(callee, args).to_string();
  return Flow::Normal;
}

Flow FilterBlockStmt::render(Context &ctx, std::string &out) const {
  std::string captured;
  render_body(body, ctx, captured);
  Value result(std::move(captured));
  for (const auto &f : filters)
    result = f->apply(ctx, result);
  out += result.to_string();
  return Flow::Normal;
}

Flow ScopeStmt::render(Context &ctx, std::string &out) const {
  std::vector<Value> values;
  for (const auto &assignment : assignments)
    values.push_back(assignment.second->eval(ctx));
  ScopeGuard guard(ctx, child_scope(ctx));
  for (size_t i = 0; i < assignments.size(); ++i)
    assignments[i].first.assign(ctx, values[i]);
  return render_body(body, ctx, out);
}

} // namespace m3::jinja
