// Unit tests of the Jinja engine. Expected strings are what Python Jinja2 3.1 renders with HF's
// settings (trim_blocks, lstrip_blocks); the oracle comparison lives in test_chat_template_oracle.
#include <gtest/gtest.h>

#include "chat/jinja/template.h"
#include "core/error.h"

using m3::jinja::Template;
using m3::jinja::Value;

namespace {
std::string render(const std::string& source, const std::string& json_vars = "{}") {
  return Template(source).render(Value::from_json(nlohmann::ordered_json::parse(json_vars)));
}
}  // namespace

TEST(Jinja, Basics) {
  EXPECT_EQ(render("Hello {{ name }}!", R"({"name":"World"})"), "Hello World!");
}
