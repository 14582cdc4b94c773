// The tool-call grammar: hand-written calls it must accept or reject, then random walks through
// the token mask with the embedded model's real tokenizer, whose every end state must parse (with
// the M3 tool-call parser) into calls whose arguments satisfy the schema (checked independently).
#include <gtest/gtest.h>

#include <random>

#include "chat/output_parser.h"
#include "server/tool_call_grammar.h"
#include "tokenizer/tokenizer.h"

namespace m3::server {
namespace {

using json = nlohmann::ordered_json;
const std::string M = "]<]minimax[>[";

json tools() {
  return json::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
      "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                     "units": {"type": "string", "enum": ["C", "F"]}, "hourly": {"type": "boolean"}},
      "required": ["city", "days"]}}},
    {"type": "function", "function": {"name": "plan", "parameters": {"type": "object",
      "properties": {"steps": {"type": "array", "items": {"type": "object",
                       "properties": {"what": {"type": "string"}, "cost": {"type": "number"}},
                       "required": ["what", "cost"]}, "minItems": 1},
                     "note": {"anyOf": [{"type": "null"}, {"type": "string"}]}},
      "required": ["steps"]}}}
  ])");
}

std::string invoke(const std::string &name, const std::string &params) {
  return M + "<invoke name=\"" + name + "\">" + params + M + "</invoke>\n";
}
std::string param(const std::string &name, const std::string &value) {
  return M + "<" + name + ">" + value + M + "</" + name + ">";
}
std::string block(const std::string &invokes) {
  return M + "<tool_call>\n" + invokes + M + "</tool_call>";
}

TEST(ToolCallGrammar, AcceptsWellFormedCallsOnly) {
  ToolCallGrammarOptions options;
  const json t = tools();
  auto ok = [&](const std::string &text) { return tool_call_grammar_accepts(t, options, text); };
  EXPECT_TRUE(ok(block(invoke("get_weather", param("city", "Paris") + param("days", "3")))));
  EXPECT_TRUE(ok(block(invoke("get_weather", param("city", "Zürich ünd") + param("days", "-12") +
                                                 param("units", "F") + param("hourly", "true")))));
  EXPECT_TRUE(ok(block(invoke("plan", param("steps", M + "<item>" + param("what", "go") +
                                                         param("cost", "2.5") + M + "</item>")) +
                       invoke("get_weather", param("city", "x") + param("days", "0")))));
  EXPECT_FALSE(ok(block(invoke("get_weather", param("city", "Paris"))))); // days is required
  EXPECT_FALSE(ok(block(invoke("get_weather", param("days", "3") + param("city", "P"))))); // order
  EXPECT_FALSE(ok(block(invoke("get_weather", param("city", "P") + param("days", "007")))));
  EXPECT_FALSE(ok(block(invoke("get_weather", param("city", "P") + param("days", "3.5")))));
  EXPECT_FALSE(ok(
      block(invoke("get_weather", param("city", "P") + param("days", "3") + param("units", "K")))));
  EXPECT_FALSE(ok(block(invoke("get_weather", param("city", "<b>") + param("days", "3")))));
  EXPECT_FALSE(
      ok(block(invoke("get_weather", M + "<city>P" + M + "</days>" + param("days", "3")))));
  EXPECT_FALSE(ok(block(invoke("get_time", ""))));             // unknown function
  EXPECT_FALSE(ok(block(invoke("plan", param("steps", ""))))); // minItems 1
  EXPECT_FALSE(
      ok(M + "<tool_call>\n" + invoke("get_weather", param("city", "P") + param("days", "1"))));
  options.only_function = "plan";
  EXPECT_FALSE(ok(block(invoke("get_weather", param("city", "P") + param("days", "1")))));
  options.only_function.clear();
  options.parallel_calls = false;
  const std::string one = invoke("get_weather", param("city", "a") + param("days", "1"));
  EXPECT_TRUE(ok(block(one)));
  EXPECT_FALSE(ok(block(one + one)));
}

// Independent schema check of parsed arguments (no code shared with the grammar).
void expect_valid(const nlohmann::json &value, const nlohmann::json &schema,
                  const std::string &path) {
  SCOPED_TRACE(path + " = " + value.dump());
  if (schema.contains("anyOf")) {
    ASSERT_TRUE(value.is_string() || value.is_null());
    return;
  }
  if (schema.contains("enum")) {
    EXPECT_NE(std::find(schema["enum"].begin(), schema["enum"].end(), value), schema["enum"].end());
  }
  const std::string type = schema.value("type", "");
  EXPECT_TRUE(type != "string" || value.is_string());
  EXPECT_TRUE(type != "integer" || value.is_number_integer());
  EXPECT_TRUE(type != "number" || value.is_number());
  EXPECT_TRUE(type != "boolean" || value.is_boolean());
  if (type == "array") {
    ASSERT_TRUE(value.is_array());
    EXPECT_GE(value.size(), size_t(schema.value("minItems", 0)));
    for (size_t i = 0; i < value.size(); ++i)
      expect_valid(value[i], schema["items"], path + "[" + std::to_string(i) + "]");
  }
  if (type == "object") {
    ASSERT_TRUE(value.is_object());
    for (const auto &key : schema.value("required", nlohmann::json::array()))
      EXPECT_TRUE(value.contains(key.get<std::string>())) << "missing " << key;
    for (const auto &[key, v] : value.items()) {
      ASSERT_TRUE(schema["properties"].contains(key)) << "unexpected " << key;
      expect_valid(v, schema["properties"][key], path + "." + key);
    }
  }
}

TEST(ToolCallGrammar, RandomWalksThroughTheTokenMaskAlwaysParseToValidCalls) {
  const Tokenizer tokenizer = Tokenizer::from_file("models/default/tokenizer.json");
  const int32_t end = *tokenizer.token_to_id("[e~[");
  const json t = tools();
  std::mt19937 rng(std::random_device{}());
  for (int walk = 0; walk < 24; ++walk) {
    ToolCallGrammarOptions options;
    if (walk % 3 == 1)
      options.only_function = "plan";
    auto constraint = make_tool_call_constraint(tokenizer, t, {end}, options);
    std::vector<int32_t> ids;
    bool ended = false;
    for (int step = 0; step < 3000 && !ended; ++step) {
      std::vector<uint8_t> allowed(tokenizer.vocab_size(), 0);
      constraint->allowed_tokens(allowed);
      std::vector<int32_t> choices;
      for (size_t id = 0; id < allowed.size(); ++id)
        if (allowed[id])
          choices.push_back(int32_t(id));
      ASSERT_FALSE(choices.empty()) << "dead end after " << tokenizer.decode(ids);
      const int32_t pick = choices[rng() % choices.size()];
      constraint->accept(pick);
      if (pick == end)
        ended = true;
      else
        ids.push_back(pick);
    }
    ASSERT_TRUE(ended) << "no end after 3000 tokens: " << tokenizer.decode(ids);
    const std::string text = tokenizer.decode(ids);
    SCOPED_TRACE(text);
    chat::ParsedOutput parsed =
        chat::parse_output(text, chat::ThinkingMode::kDisabled, nlohmann::json(t));
    ASSERT_FALSE(parsed.tool_calls.empty());
    EXPECT_TRUE(parsed.content.empty()) << parsed.content;
    for (const auto &call : parsed.tool_calls) {
      if (!options.only_function.empty()) {
        EXPECT_EQ(call.name, options.only_function);
      }
      const nlohmann::json args = nlohmann::json::parse(call.arguments_json());
      for (const auto &tool : t)
        if (tool["function"]["name"] == call.name)
          expect_valid(args, nlohmann::json(tool["function"]["parameters"]), call.name);
    }
  }
}

} // namespace
} // namespace m3::server
