#include "chat/jinja/parser.h"

#include <set>

#include "core/error.h"

namespace m3::jinja {

namespace {

template <typename T> std::unique_ptr<T> node(int line) {
  auto n = std::make_unique<T>();
  n->line = line;
  return n;
}

class Parser {
public:
  explicit Parser(const std::vector<Token> &tokens) : tokens_(tokens) {}

  Body parse_template() {
    Body body = parse_body({});
    if (peek().type != TokenType::End)
      error("unexpected '" + peek_tag_name() + "' tag");
    return body;
  }

private:
  const Token &peek(size_t ahead = 0) const {
    size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  const Token &next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  [[noreturn]] void error(const std::string &message) const {
    fail("template syntax error, line " + std::to_string(peek().line) + ": " + message);
  }
  bool is_op(const char *op, size_t ahead = 0) const {
    return peek(ahead).type == TokenType::Operator && peek(ahead).text == op;
  }
  bool is_name(const char *name, size_t ahead = 0) const {
    return peek(ahead).type == TokenType::Name && peek(ahead).text == name;
  }
  bool accept_op(const char *op) {
    if (!is_op(op))
      return false;
    next();
    return true;
  }
  bool accept_name(const char *name) {
    if (!is_name(name))
      return false;
    next();
    return true;
  }
  void expect_op(const char *op) {
    if (!accept_op(op))
      error(std::string("expected '") + op + "', got '" + peek().text + "'");
  }
  std::string expect_name() {
    if (peek().type != TokenType::Name)
      error("expected a name, got '" + peek().text + "'");
    return next().text;
  }
  void expect_block_end() {
    if (peek().type != TokenType::BlockEnd)
      error("expected end of tag, got '" + peek().text + "'");
    next();
  }
  std::string peek_tag_name() const { return peek(1).text; }

  // Statements until a `{% <end> %}` tag named in `ends` (left unconsumed).
  Body parse_body(const std::set<std::string> &ends) {
    Body body;
    while (true) {
      const Token &token = peek();
      if (token.type == TokenType::End) {
        if (!ends.empty())
          error("unexpected end of template, expected " + *ends.begin());
        return body;
      }
      if (token.type == TokenType::Text) {
        auto text = node<TextStmt>(token.line);
        text->text = next().text;
        body.push_back(std::move(text));
      } else if (token.type == TokenType::VarBegin) {
        next();
        auto output = node<OutputStmt>(token.line);
        output->value = parse_tuple(true);
        if (peek().type != TokenType::VarEnd)
          error("expected '}}', got '" + peek().text + "'");
        next();
        body.push_back(std::move(output));
      } else if (token.type == TokenType::BlockBegin) {
        if (ends.count(peek(1).text))
          return body;
        next();
        body.push_back(parse_statement());
      } else {
        error("unexpected token '" + token.text + "'");
      }
    }
  }

  // Consumes `{% name %}` where name must be one of `names`; returns it.
  std::string end_tag(const std::set<std::string> &names) {
    if (peek().type != TokenType::BlockBegin || !names.count(peek(1).text))
      error("expected " + *names.begin());
    next();
    return next().text;
  }

  StmtPtr parse_statement() {
    int line = peek().line;
    std::string keyword = expect_name();
    if (keyword == "if")
      return parse_if(line);
    if (keyword == "for")
      return parse_for(line);
    if (keyword == "set")
      return parse_set(line);
    if (keyword == "macro")
      return parse_macro(line);
    if (keyword == "call")
      return parse_call_block(line);
    if (keyword == "filter")
      return parse_filter_block(line);
    if (keyword == "with" || keyword == "generation")
      return parse_scope(line, keyword);
    if (keyword == "break" || keyword == "continue") {
      auto control = node<LoopControlStmt>(line);
      control->flow = keyword == "break" ? Flow::Break : Flow::Continue;
      expect_block_end();
      return control;
    }
    error("unknown tag '" + keyword + "'");
  }

  StmtPtr parse_if(int line) {
    auto stmt = node<IfStmt>(line);
    ExprPtr condition = parse_expression(true);
    while (true) {
      expect_block_end();
      Body body = parse_body({"elif", "else", "endif"});
      stmt->branches.emplace_back(std::move(condition), std::move(body));
      std::string tag = end_tag({"elif", "else", "endif"});
      if (tag == "elif") {
        condition = parse_expression(true);
        continue;
      }
      if (tag == "else") {
        expect_block_end();
        stmt->else_body = parse_body({"endif"});
        end_tag({"endif"});
      }
      expect_block_end();
      return stmt;
    }
  }

  Target parse_target(bool allow_attribute) {
    Target target;
    bool parens = accept_op("(");
    target.names.push_back(expect_name());
    if (allow_attribute && !parens && accept_op(".")) {
      auto object = node<Name>(peek().line);
      object->name = target.names[0];
      target.namespace_object = std::move(object);
      target.names[0] = expect_name();
      return target;
    }
    while (accept_op(",")) {
      target.is_tuple = true;
      if (peek().type != TokenType::Name || is_name("in"))
        break;
      target.names.push_back(expect_name());
    }
    if (parens) {
      target.is_tuple = true;
      expect_op(")");
    }
    return target;
  }

  StmtPtr parse_for(int line) {
    auto stmt = node<ForStmt>(line);
    stmt->target = parse_target(false);
    if (!accept_name("in"))
      error("expected 'in' in for loop");
    stmt->iterable = parse_tuple(false, {"recursive"});
    if (accept_name("if"))
      stmt->filter = parse_expression(true);
    if (accept_name("recursive"))
      error("recursive loops are not supported");
    expect_block_end();
    stmt->body = parse_body({"else", "endfor"});
    if (end_tag({"else", "endfor"}) == "else") {
      expect_block_end();
      stmt->else_body = parse_body({"endfor"});
      end_tag({"endfor"});
    }
    expect_block_end();
    return stmt;
  }

  StmtPtr parse_set(int line) {
    Target target = parse_target(true);
    if (accept_op("=")) {
      auto stmt = node<SetStmt>(line);
      stmt->target = std::move(target);
      stmt->value = parse_tuple(true);
      expect_block_end();
      return stmt;
    }
    auto stmt = node<SetBlockStmt>(line);
    stmt->target = std::move(target);
    while (accept_op("|"))
      stmt->filters.push_back(parse_filter(nullptr));
    expect_block_end();
    stmt->body = parse_body({"endset"});
    end_tag({"endset"});
    expect_block_end();
    return stmt;
  }

  std::vector<MacroParam> parse_params() {
    std::vector<MacroParam> params;
    expect_op("(");
    while (!accept_op(")")) {
      if (!params.empty())
        expect_op(",");
      if (accept_op(")"))
        break;
      MacroParam param;
      param.name = expect_name();
      if (accept_op("="))
        param.default_value = parse_expression(true);
      params.push_back(std::move(param));
    }
    return params;
  }

  StmtPtr parse_macro(int line) {
    auto stmt = node<MacroStmt>(line);
    stmt->name = expect_name();
    stmt->params = parse_params();
    expect_block_end();
    stmt->body = parse_body({"endmacro"});
    end_tag({"endmacro"});
    expect_block_end();
    return stmt;
  }

  StmtPtr parse_call_block(int line) {
    auto stmt = node<CallBlockStmt>(line);
    if (is_op("("))
      stmt->caller_params = parse_params();
    ExprPtr expr = parse_postfix(parse_primary(), false);
    auto *call = dynamic_cast<Call *>(expr.get());
    if (!call)
      error("expected a call in {% call %}");
    expr.release();
    stmt->call.reset(call);
    expect_block_end();
    stmt->body = parse_body({"endcall"});
    end_tag({"endcall"});
    expect_block_end();
    return stmt;
  }

  StmtPtr parse_filter_block(int line) {
    auto stmt = node<FilterBlockStmt>(line);
    do {
      stmt->filters.push_back(parse_filter(nullptr));
    } while (accept_op("|"));
    expect_block_end();
    stmt->body = parse_body({"endfilter"});
    end_tag({"endfilter"});
    expect_block_end();
    return stmt;
  }

  StmtPtr parse_scope(int line, const std::string &keyword) {
    auto stmt = node<ScopeStmt>(line);
    while (keyword == "with" && peek().type != TokenType::BlockEnd) {
      if (!stmt->assignments.empty())
        expect_op(",");
      Target target = parse_target(false);
      expect_op("=");
      stmt->assignments.emplace_back(std::move(target), parse_expression(true));
    }
    expect_block_end();
    std::string end = "end" + keyword;
    stmt->body = parse_body({end});
    end_tag({end});
    expect_block_end();
    return stmt;
  }

  // ---- expressions ----

  bool is_tuple_end(const std::set<std::string> &extra_ends) const {
    const Token &t = peek();
    if (t.type == TokenType::VarEnd || t.type == TokenType::BlockEnd || t.type == TokenType::End)
      return true;
    if (t.type == TokenType::Operator && (t.text == ")" || t.text == "]" || t.text == "}"))
      return true;
    return t.type == TokenType::Name && extra_ends.count(t.text);
  }

  ExprPtr parse_tuple(bool with_condexpr, const std::set<std::string> &extra_ends = {},
                      bool explicit_parens = false) {
    int line = peek().line;
    std::vector<ExprPtr> items;
    bool saw_comma = false;
    while (true) {
      if (!items.empty()) {
        if (!accept_op(","))
          break;
        saw_comma = true;
      }
      if (is_tuple_end(extra_ends))
        break;
      items.push_back(parse_expression(with_condexpr));
    }
    if (!saw_comma) {
      if (!items.empty())
        return std::move(items[0]);
      if (!explicit_parens)
        error("expected an expression, got '" + peek().text + "'");
    }
    auto tuple = node<ListExpr>(line);
    tuple->items = std::move(items);
    tuple->is_tuple = true;
    return tuple;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      int line = next().line;
      auto cond = node<Conditional>(line);
      cond->then_value = std::move(expr);
      cond->condition = parse_or();
      if (accept_name("else"))
        cond->else_value = parse_condexpr();
      expr = std::move(cond);
    }
    return expr;
  }

  ExprPtr binary(const std::string &op, ExprPtr left, ExprPtr right, int line) {
    auto b = node<Binary>(line);
    b->op = op;
    b->left = std::move(left);
    b->right = std::move(right);
    return b;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      int line = next().line;
      left = binary("or", std::move(left), parse_and(), line);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      int line = next().line;
      left = binary("and", std::move(left), parse_not(), line);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      auto n = node<Unary>(next().line);
      n->op = "not";
      n->operand = parse_not();
      return n;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = peek().line;
    ExprPtr first = parse_math1();
    std::vector<std::pair<std::string, ExprPtr>> rest;
    while (true) {
      const Token &t = peek();
      if (t.type == TokenType::Operator && (t.text == "==" || t.text == "!=" || t.text == "<" ||
                                            t.text == "<=" || t.text == ">" || t.text == ">=")) {
        std::string op = next().text;
        rest.emplace_back(op, parse_math1());
      } else if (is_name("in")) {
        next();
        rest.emplace_back("in", parse_math1());
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        rest.emplace_back("notin", parse_math1());
      } else {
        break;
      }
    }
    if (rest.empty())
      return first;
    auto cmp = node<Compare>(line);
    cmp->first = std::move(first);
    cmp->rest = std::move(rest);
    return cmp;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token &t = next();
      left = binary(t.text, std::move(left), parse_concat(), t.line);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      int line = next().line;
      left = binary("~", std::move(left), parse_math2(), line);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token &t = next();
      left = binary(t.text, std::move(left), parse_pow(), t.line);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      int line = next().line;
      left = binary("**", std::move(left), parse_unary(true), line);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    ExprPtr expr;
    if (is_op("-") || is_op("+")) {
      auto u = node<Unary>(peek().line);
      u->op = next().text;
      u->operand = parse_unary(false);
      expr = std::move(u);
    } else {
      expr = parse_primary();
    }
    expr = parse_postfix(std::move(expr), false);
    if (with_filter)
      expr = parse_postfix(std::move(expr), true);
    return expr;
  }

  ExprPtr parse_primary() {
    const Token &t = peek();
    int line = t.line;
    if (t.type == TokenType::Name) {
      std::string name = next().text;
      auto lit = node<Literal>(line);
      if (name == "true" || name == "True")
        lit->value = Value(true);
      else if (name == "false" || name == "False")
        lit->value = Value(false);
      else if (name == "none" || name == "None")
        lit->value = Value::none();
      else {
        auto n = node<Name>(line);
        n->name = name;
        return n;
      }
      return lit;
    }
    if (t.type == TokenType::String) {
      std::string text;
      while (peek().type == TokenType::String)
        text += next().text;
      auto lit = node<Literal>(line);
      lit->value = Value(std::move(text));
      return lit;
    }
    if (t.type == TokenType::Integer || t.type == TokenType::Float) {
      auto lit = node<Literal>(line);
      std::string text = next().text;
      if (t.type == TokenType::Integer)
        lit->value = Value(static_cast<int64_t>(std::stoll(text)));
      else
        lit->value = Value(std::stod(text));
      return lit;
    }
    if (accept_op("(")) {
      ExprPtr inner = parse_tuple(true, {}, true);
      expect_op(")");
      return inner;
    }
    if (accept_op("[")) {
      auto list = node<ListExpr>(line);
      while (!accept_op("]")) {
        if (!list->items.empty())
          expect_op(",");
        if (accept_op("]"))
          break;
        list->items.push_back(parse_expression(true));
      }
      return list;
    }
    if (accept_op("{")) {
      auto dict = node<DictExpr>(line);
      while (!accept_op("}")) {
        if (!dict->items.empty())
          expect_op(",");
        if (accept_op("}"))
          break;
        ExprPtr key = parse_expression(true);
        expect_op(":");
        dict->items.emplace_back(std::move(key), parse_expression(true));
      }
      return dict;
    }
    error("unexpected '" + t.text + "'");
  }

  // Attribute access, subscripts and calls; with `filters` also `| filter` and `is test`.
  ExprPtr parse_postfix(ExprPtr expr, bool filters) {
    while (true) {
      int line = peek().line;
      if (!filters && accept_op(".")) {
        if (peek().type == TokenType::Integer) {
          auto sub = node<Subscript>(line);
          sub->object = std::move(expr);
          auto index = node<Literal>(line);
          index->value = Value(static_cast<int64_t>(std::stoll(next().text)));
          sub->index = std::move(index);
          expr = std::move(sub);
        } else {
          auto attr = node<Attribute>(line);
          attr->object = std::move(expr);
          attr->name = expect_name();
          expr = std::move(attr);
        }
      } else if (!filters && accept_op("[")) {
        auto sub = node<Subscript>(line);
        sub->object = std::move(expr);
        sub->index = parse_subscript_index();
        expect_op("]");
        expr = std::move(sub);
      } else if (accept_op("(")) {
        auto call = node<Call>(line);
        call->callee = std::move(expr);
        call->args = parse_call_args();
        expr = std::move(call);
      } else if (filters && accept_op("|")) {
        expr = parse_filter(std::move(expr));
      } else if (filters && is_name("is")) {
        next();
        expr = parse_test(std::move(expr));
      } else {
        return expr;
      }
    }
  }

  ExprPtr parse_subscript_index() {
    int line = peek().line;
    std::vector<ExprPtr> items;
    do {
      if (is_op("]"))
        break;
      items.push_back(parse_slice_or_expr());
    } while (accept_op(","));
    if (items.size() == 1)
      return std::move(items[0]);
    auto tuple = node<ListExpr>(line);
    tuple->items = std::move(items);
    tuple->is_tuple = true;
    return tuple;
  }

  ExprPtr parse_slice_or_expr() {
    int line = peek().line;
    ExprPtr start;
    if (!is_op(":")) {
      start = parse_expression(true);
      if (!is_op(":"))
        return start;
    }
    auto slice = node<Slice>(line);
    slice->start = std::move(start);
    expect_op(":");
    if (!is_op("]") && !is_op(",") && !is_op(":"))
      slice->stop = parse_expression(true);
    if (accept_op(":") && !is_op("]") && !is_op(","))
      slice->step = parse_expression(true);
    return slice;
  }

  // After '(' has been consumed; consumes the closing ')'.
  Arguments parse_call_args() {
    Arguments args;
    bool first = true;
    while (!accept_op(")")) {
      if (!first)
        expect_op(",");
      first = false;
      if (accept_op(")"))
        break;
      if (peek().type == TokenType::Name && is_op("=", 1)) {
        std::string key = next().text;
        next();
        args.keywords.emplace_back(key, parse_expression(true));
      } else {
        if (!args.keywords.empty())
          error("positional argument after keyword argument");
        args.positional.push_back(parse_expression(true));
      }
    }
    return args;
  }

  std::string dotted_name() {
    std::string name = expect_name();
    while (accept_op("."))
      name += "." + expect_name();
    return name;
  }

  std::unique_ptr<FilterExpr> parse_filter(ExprPtr operand) {
    auto filter = node<FilterExpr>(peek().line);
    filter->operand = std::move(operand);
    filter->name = dotted_name();
    if (accept_op("("))
      filter->args = parse_call_args();
    return filter;
  }

  ExprPtr parse_test(ExprPtr operand) {
    auto test = node<TestExpr>(peek().line);
    test->operand = std::move(operand);
    test->negated = accept_name("not");
    test->name = dotted_name();
    const Token &t = peek();
    if (accept_op("(")) {
      test->args = parse_call_args();
    } else if ((t.type == TokenType::Name || t.type == TokenType::String ||
                t.type == TokenType::Integer || t.type == TokenType::Float || is_op("[") ||
                is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is"))
        error("cannot chain multiple tests with 'is'");
      test->args.positional.push_back(parse_postfix(parse_primary(), false));
    }
    return test;
  }

  const std::vector<Token> &tokens_;
  size_t pos_ = 0;
};

} // namespace

Body parse(const std::vector<Token> &tokens) { return Parser(tokens).parse_template(); }

} // namespace m3::jinja
