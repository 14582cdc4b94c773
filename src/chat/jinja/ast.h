#pragma once
// Template syntax tree. Expressions evaluate to Values; statements append to the output.
// Evaluation lives in eval_expr.cpp and eval_stmt.cpp.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja/value.h"

namespace m3::jinja {

class Context;

struct Expr {
  int line = 0;
  virtual ~Expr() = default;
  virtual Value eval(Context &ctx) const = 0;
};
using ExprPtr = std::unique_ptr<Expr>;

struct Arguments {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  CallArgs eval(Context &ctx) const;
};

struct Literal : Expr {
  Value value;
  Value eval(Context &) const override { return value; }
};
struct Name : Expr {
  std::string name;
  Value eval(Context &ctx) const override;
};
struct ListExpr : Expr {
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  Value eval(Context &ctx) const override;
};
struct DictExpr : Expr {
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
  Value eval(Context &ctx) const override;
};
struct Attribute : Expr {
  ExprPtr object;
  std::string name;
  Value eval(Context &ctx) const override;
};
struct Slice : Expr {
  ExprPtr start, stop, step; // each may be null
  Value eval(Context &ctx) const override;
};
struct Subscript : Expr {
  ExprPtr object, index;
  Value eval(Context &ctx) const override;
};
struct Call : Expr {
  ExprPtr callee;
  Arguments args;
  Value eval(Context &ctx) const override;
};
struct FilterExpr : Expr {
  ExprPtr operand; // null inside {% filter %} blocks, where the body is the input
  std::string name;
  Arguments args;
  Value eval(Context &ctx) const override;
  Value apply(Context &ctx, const Value &input) const;
};
struct TestExpr : Expr {
  ExprPtr operand;
  std::string name;
  Arguments args;
  bool negated = false;
  Value eval(Context &ctx) const override;
};
struct Unary : Expr {
  std::string op; // "not", "-", "+"
  ExprPtr operand;
  Value eval(Context &ctx) const override;
};
struct Binary : Expr {
  std::string op; // + - * / // % ** ~ and or
  ExprPtr left, right;
  Value eval(Context &ctx) const override;
};
struct Compare : Expr {
  ExprPtr first;
  std::vector<std::pair<std::string, ExprPtr>> rest; // == != < <= > >= in notin
  Value eval(Context &ctx) const override;
};
struct Conditional : Expr {
  ExprPtr condition, then_value, else_value; // else_value may be null (-> undefined)
  Value eval(Context &ctx) const override;
};

enum class Flow { Normal, Break, Continue };

struct Stmt {
  int line = 0;
  virtual ~Stmt() = default;
  virtual Flow render(Context &ctx, std::string &out) const = 0;
};
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;
Flow render_body(const Body &body, Context &ctx, std::string &out);

// Where `for` and `set` store values: one name, a tuple of names, or a namespace attribute.
struct Target {
  std::vector<std::string> names; // several names: tuple unpacking
  ExprPtr namespace_object;       // set only for `ns.attr`; names[0] is the attribute
  bool is_tuple = false;
  void assign(Context &ctx, const Value &value) const;
};

struct TextStmt : Stmt {
  std::string text;
  Flow render(Context &, std::string &out) const override {
    out += text;
    return Flow::Normal;
  }
};
struct OutputStmt : Stmt {
  ExprPtr value;
  Flow render(Context &ctx, std::string &out) const override;
};
struct IfStmt : Stmt {
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body else_body;
  Flow render(Context &ctx, std::string &out) const override;
};
struct ForStmt : Stmt {
  Target target;
  ExprPtr iterable, filter;
  Body body, else_body;
  Flow render(Context &ctx, std::string &out) const override;
};
struct SetStmt : Stmt {
  Target target;
  ExprPtr value;
  Flow render(Context &ctx, std::string &out) const override;
};
struct SetBlockStmt : Stmt {
  Target target;
  std::vector<std::unique_ptr<FilterExpr>> filters;
  Body body;
  Flow render(Context &ctx, std::string &out) const override;
};
struct MacroParam {
  std::string name;
  ExprPtr default_value; // may be null
};
struct MacroStmt : Stmt {
  std::string name;
  std::vector<MacroParam> params;
  Body body;
  Flow render(Context &ctx, std::string &out) const override;
};
struct CallBlockStmt : Stmt {
  std::unique_ptr<Call> call;
  std::vector<MacroParam> caller_params;
  Body body;
  Flow render(Context &ctx, std::string &out) const override;
};
struct FilterBlockStmt : Stmt {
  std::vector<std::unique_ptr<FilterExpr>> filters;
  Body body;
  Flow render(Context &ctx, std::string &out) const override;
};
struct LoopControlStmt : Stmt {
  Flow flow;
  Flow render(Context &, std::string &) const override { return flow; }
};
// `{% with a = 1 %}` and HF's `{% generation %}`: a body in a new scope.
struct ScopeStmt : Stmt {
  std::vector<std::pair<Target, ExprPtr>> assignments;
  Body body;
  Flow render(Context &ctx, std::string &out) const override;
};

} // namespace m3::jinja
