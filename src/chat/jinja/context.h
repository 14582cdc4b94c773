#pragma once
// Render-time state: the chain of variable scopes, and the builtin lookups the evaluator uses.
#include <memory>
#include <string>
#include <vector>

#include "chat/jinja/value.h"

namespace m3::jinja {

// Scopes hold a handful of names each, so a flat list beats hashing.
struct Scope {
  std::vector<std::pair<std::string, Value>> vars;
  std::shared_ptr<Scope> parent;

  const Value *find(const std::string &name) const {
    for (const auto &[k, v] : vars)
      if (k == name)
        return &v;
    return nullptr;
  }
  void set(const std::string &name, Value value) {
    for (auto &[k, v] : vars) {
      if (k == name) {
        v = std::move(value);
        return;
      }
    }
    vars.emplace_back(name, std::move(value));
  }
};

class Context {
public:
  explicit Context(std::shared_ptr<Scope> root) : scope(std::move(root)) {}

  Value lookup(const std::string &name) const {
    for (const Scope *s = scope.get(); s; s = s->parent.get())
      if (const Value *found = s->find(name))
        return *found;
    return Value::undefined(name);
  }
  void set(const std::string &name, Value value) { scope->set(name, std::move(value)); }

  std::shared_ptr<Scope> scope;
  // Scopes that macros were defined in. Macros hold them weakly (a scope holding a macro that
  // owns the scope would leak), so the context keeps them alive until the render ends.
  std::vector<std::shared_ptr<Scope>> macro_scopes;
};

// Makes `child` (whose parent is set by the caller) the current scope until destroyed.
class ScopeGuard {
public:
  ScopeGuard(Context &ctx, std::shared_ptr<Scope> child) : ctx_(ctx), saved_(ctx.scope) {
    ctx.scope = std::move(child);
  }
  ~ScopeGuard() { ctx_.scope = std::move(saved_); }
  ScopeGuard(const ScopeGuard &) = delete;
  ScopeGuard &operator=(const ScopeGuard &) = delete;

private:
  Context &ctx_;
  std::shared_ptr<Scope> saved_;
};

inline std::shared_ptr<Scope> child_scope(const Context &ctx) {
  auto child = std::make_shared<Scope>();
  child->parent = ctx.scope;
  return child;
}

} // namespace m3::jinja
