#pragma once
// A compiled Jinja2 template rendered the way Hugging Face renders chat templates:
// ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with loop controls and
// the globals raise_exception(msg) and strftime_now(fmt).
// Thread-safe: render() may run concurrently on one Template.
#include <string>

#include "chat/jinja/ast.h"
#include "chat/jinja/value.h"

namespace m3::jinja {

class Template {
public:
  explicit Template(const std::string &source); // throws m3::Error on syntax errors
  // `variables` must be a dict; its keys become template variables. Throws m3::Error on
  // template errors and on raise_exception(), whose message is the error text.
  std::string render(const Value &variables) const;

private:
  Body body_;
};

} // namespace m3::jinja
