// Engine unit tests: every snippet in jinja_snippets.json (whitespace control, loop controls,
// macros, namespaces, filters, tests, Python printing, errors) must render exactly like Python
// Jinja2 with HF's settings, which tests/chat/render_oracle.py computes at test time.
#include <gtest/gtest.h>

#include "chat/jinja/template.h"
#include "core/error.h"
#include "oracle_util.h"

namespace {

using Json = nlohmann::ordered_json;

std::string render(const std::string &source, const Json &vars) {
  return m3::jinja::Template(source).render(m3::jinja::Value::from_json(vars));
}

TEST(Jinja, SnippetsMatchPythonJinja2) {
  const std::string snippets = "tests/chat/jinja_snippets.json";
  Json cases = Json::parse(m3::chat_test::read_text(snippets));
  auto records = m3::chat_test::run_oracle("--snippets " + snippets);
  ASSERT_EQ(records.size(), cases.size());
  size_t errors = 0;
  for (size_t index = 0; index < cases.size(); ++index) {
    const Json &expected = records[index];
    const Json &c = cases[index];
    SCOPED_TRACE(c["name"].get<std::string>() + ": " + c["template"].get<std::string>());
    if (expected.contains("error")) {
      ++errors;
      EXPECT_THROW(render(c["template"], c["vars"]), m3::Error) << "Jinja2: " << expected["error"];
      continue;
    }
    try {
      EXPECT_EQ(render(c["template"], c["vars"]), expected["expected"].get<std::string>());
    } catch (const m3::Error &e) {
      ADD_FAILURE() << "render failed: " << e.what();
    }
  }
  EXPECT_GE(cases.size() - errors, 50u);
}

TEST(Jinja, RaiseExceptionMessageIsTheError) {
  try {
    render("{{ raise_exception('Conversation roles must alternate') }}", Json::object());
    FAIL() << "no exception";
  } catch (const m3::Error &e) {
    EXPECT_STREQ(e.what(), "Conversation roles must alternate");
  }
}

TEST(Jinja, SyntaxErrorsNameTheLine) {
  try {
    m3::jinja::Template("line one\n{% if x %}\n{% endfor %}");
    FAIL() << "no exception";
  } catch (const m3::Error &e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
}

} // namespace
