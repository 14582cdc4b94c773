// Byte-exact comparison with Python Jinja2: tests/chat/render_oracle.py generates seeded random
// chat requests and renders them with Jinja2 set up like HF transformers; our ChatTemplate must
// produce the same prompt (or fail where Jinja2 fails). Templates come from
// scripts/assets/templates.sh (.deps/templates). The seed is fresh per run unless M3_TEST_SEED
// is set; it is printed so a failure can be replayed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "chat/chat_template.h"
#include "core/error.h"
#include "oracle_util.h"

namespace {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

const fs::path kTemplates = ".deps/templates";

unsigned test_seed() {
  static const unsigned seed = [] {
    const char *fixed = std::getenv("M3_TEST_SEED");
    return fixed ? static_cast<unsigned>(std::stoul(fixed))
                 : static_cast<unsigned>(
                       std::chrono::system_clock::now().time_since_epoch().count() % 1000000007);
  }();
  return seed;
}

using m3::chat_test::read_text;

struct OracleCase {
  Json request;
  std::optional<std::string> expected; // nullopt: Jinja2 raised
};

std::vector<OracleCase> oracle_cases(const std::string &template_name, const std::string &style,
                                     int count) {
  fs::path template_path = kTemplates / (template_name + ".jinja");
  if (!fs::exists(template_path)) {
    ADD_FAILURE() << template_path << " missing: run scripts/assets/templates.sh (make test does)";
    return {};
  }
  auto records = m3::chat_test::run_oracle("--template '" + template_path.string() + "' --style " +
                                           style + " --seed " + std::to_string(test_seed()) +
                                           " --count " + std::to_string(count));
  EXPECT_EQ(records.size(), static_cast<size_t>(count)) << "the oracle failed";
  std::vector<OracleCase> cases;
  for (const Json &record : records) {
    OracleCase c{record["request"], std::nullopt};
    if (record.contains("expected"))
      c.expected = record["expected"].get<std::string>();
    cases.push_back(std::move(c));
  }
  return cases;
}

// Renders every case with `chat_template`; returns how many Jinja2 rendered without error.
int expect_identical(const m3::chat::ChatTemplate &chat_template,
                     const std::vector<OracleCase> &cases) {
  int rendered = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const OracleCase &c = cases[i];
    SCOPED_TRACE("seed " + std::to_string(test_seed()) + ", case " + std::to_string(i) + ": " +
                 c.request.dump());
    if (!c.expected) {
      EXPECT_THROW(chat_template.render(c.request), m3::Error);
      continue;
    }
    ++rendered;
    try {
      EXPECT_EQ(chat_template.render(c.request), *c.expected);
    } catch (const m3::Error &e) {
      ADD_FAILURE() << "render failed: " << e.what();
    }
  }
  return rendered;
}

TEST(ChatTemplateOracle, OfficialMiniMaxM3) {
  auto cases = oracle_cases("MiniMax-M3", "m3", 150);
  m3::chat::ChatTemplate official(read_text(kTemplates / "MiniMax-M3.jinja"));
  EXPECT_GE(expect_identical(official, cases), 100);
}

TEST(ChatTemplateOracle, BuiltinM3MatchesOfficial) {
  auto cases = oracle_cases("MiniMax-M3", "m3", 150);
  EXPECT_GE(expect_identical(m3::chat::ChatTemplate::builtin_m3(), cases), 100);
}

class OtherModels : public ::testing::TestWithParam<std::string> {};

TEST_P(OtherModels, RenderLikeJinja2) {
  auto cases = oracle_cases(GetParam(), "generic", 60);
  m3::chat::ChatTemplate chat_template(read_text(kTemplates / (GetParam() + ".jinja")));
  EXPECT_GE(expect_identical(chat_template, cases), 6)
      << "too few conversations rendered without error";
}

INSTANTIATE_TEST_SUITE_P(
    Templates, OtherModels,
    ::testing::Values(
        "MiniMax-M2", "Qwen-Qwen3-0.6B", "Qwen3-Coder", "Qwen-Qwen2.5-7B-Instruct",
        "meta-llama-Llama-3.1-8B-Instruct", "meta-llama-Llama-3.2-3B-Instruct",
        "meta-llama-Llama-3.3-70B-Instruct", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B",
        "deepseek-ai-DeepSeek-V3.1", "openai-gpt-oss-120b", "mistralai-Mistral-Nemo-Instruct-2407",
        "Mistral-Small-3.2-24B-Instruct-2506", "google-gemma-2-2b-it", "HuggingFaceTB-SmolLM3-3B",
        "moonshotai-Kimi-K2", "GLM-4.6", "microsoft-Phi-3.5-mini-instruct",
        "NousResearch-Hermes-3-Llama-3.1-8B-tool_use", "ibm-granite-granite-3.3-2B-Instruct",
        "meetkai-functionary-medium-v3.1", "meetkai-functionary-medium-v3.2"),
    [](const ::testing::TestParamInfo<std::string> &info) {
      std::string name = info.param;
      for (char &c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)))
          c = '_';
      return name;
    });

} // namespace
