// Round trip through the official template: random assistant turns (reasoning, content, tool calls
// with schema-typed arguments) are rendered by Python Jinja2 with MiniMax-M3's chat_template.jinja
// (fetched by scripts/assets/templates.sh; tool-call arguments sent as JSON strings, as OpenAI
// clients do), and the rendered turn must parse back to the same
// reasoning, content, call names and arguments, in every thinking mode and in random pieces.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "m3_cli.h"
#include "parse_test_util.h"

namespace m3::chat {
namespace {

using nlohmann::ordered_json;
namespace fs = std::filesystem;

constexpr const char *kTemplate = ".deps/templates/MiniMax-M3.jinja";
constexpr int kTurns = 300;

// Builds random JSON schemas and values that satisfy them. Values avoid what the format cannot
// carry back: nulls inside arrays, empty containers where a union cannot tell [] from {}, and
// ';' (so no accidental XML entity appears in text).
class Generator {
public:
  explicit Generator(unsigned seed) : rng_(seed) {}

  int pick(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }
  bool chance(int percent) { return pick(100) < percent; }

  std::string text(int max_length) {
    static const std::vector<std::string> kPieces = {
        "a",  "b",    "z",   "Q",      "0",  "7",     " ",    " ",    "\n", "\t",   "<", ">", "&",
        "\"", "'",    "]",   "[",      "{",  "}",     "/",    "=",    ":",  ",",    ".", "é", "日",
        "本", "🙂", "<b>", "</div>", "&&", "x < y", "null", "true", "42", "-3.5", "  "};
    std::string out;
    int length = pick(max_length + 1);
    for (int i = 0; i < length; ++i)
      out += kPieces[pick(static_cast<int>(kPieces.size()))];
    return out;
  }

  std::string key() {
    static const char *kKeys[] = {"city",    "days",    "query",   "path",  "mode",
                                  "options", "x",       "y",       "limit", "filter",
                                  "label",   "tags",    "entries", "meta",  "n",
                                  "content", "old_str", "new-str", "a1",    "flag"};
    return kKeys[pick(sizeof(kKeys) / sizeof(kKeys[0]))];
  }

  ordered_json schema(int depth) {
    int kinds = depth >= 3 ? 6 : 11;
    switch (pick(kinds)) {
    case 0:
    case 1:
      return {{"type", "string"}};
    case 2:
      return {{"type", "integer"}};
    case 3:
      return {{"type", "number"}};
    case 4:
      return {{"type", "boolean"}};
    case 5:
      return {{"enum", {"fast", "slow", "3"}}};
    case 6:
      return {{"type", "array"}, {"items", schema(depth + 1)}};
    case 7:
      return object_schema(depth + 1);
    case 8:
      return {
          {"anyOf",
           {{{"type", "array"}, {"items", {{"type", "string"}}}},
            {{"type", "object"},
             {"properties", {{"field", {{"type", "string"}}}, {"op", {{"type", "integer"}}}}}}}}};
    case 9:
      return {{"oneOf",
               {{{"type", "string"}},
                {{"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}}}}};
    default:
      return {{"type", {"integer", "null"}}};
    }
  }

  ordered_json object_schema(int depth) {
    ordered_json properties = ordered_json::object();
    int count = 1 + pick(4);
    for (int i = 0; i < count; ++i)
      properties[key()] = schema(depth);
    ordered_json out = {{"type", "object"}, {"properties", properties}};
    if (chance(20))
      out["additionalProperties"] = {{"type", "integer"}};
    return out;
  }

  // A value of `schema`; nullopt-like `null` only where the schema is nullable.
  ordered_json value(const ordered_json &schema, bool in_union = false) {
    if (schema.contains("anyOf") || schema.contains("oneOf")) {
      const ordered_json &choices = schema.contains("anyOf") ? schema["anyOf"] : schema["oneOf"];
      return value(choices[pick(static_cast<int>(choices.size()))], true);
    }
    if (schema.contains("enum"))
      return schema["enum"][pick(static_cast<int>(schema["enum"].size()))];
    const ordered_json &type = schema["type"];
    if (type.is_array())
      return chance(30) ? ordered_json() : ordered_json(rng_() % 100000);
    std::string name = type.get<std::string>();
    if (name == "string")
      return text(12);
    if (name == "integer")
      return static_cast<long long>(rng_() % 2000000) - 1000000;
    if (name == "number") {
      static const double kNumbers[] = {0.5, -2.25, 3.0, 1e-05, 123456.789, -0.001, 7.0, 1e20};
      return chance(50) ? ordered_json(kNumbers[pick(8)]) : ordered_json(pick(1000) - 500);
    }
    if (name == "boolean")
      return chance(50);
    if (name == "array") {
      ordered_json out = ordered_json::array();
      int count = in_union ? 1 + pick(3) : pick(4);
      for (int i = 0; i < count; ++i) {
        ordered_json element = value(schema["items"]);
        if (element.is_null())
          element = 1; // the template cannot write null items
        out.push_back(element);
      }
      return out;
    }
    ordered_json out = ordered_json::object();
    for (const auto &[name_key, property] : schema["properties"].items())
      if (chance(75))
        out[name_key] = value(property);
    if (schema.contains("additionalProperties") && chance(50))
      out["extra_n"] = pick(50);
    if (in_union && out.empty())
      out[schema["properties"].begin().key()] = value(schema["properties"].begin().value());
    if (in_union && out.size() == 1 && out.begin().value().is_null())
      out[out.begin().key()] = "v";
    return out;
  }

private:
  std::mt19937_64 rng_;
};

// What the template keeps of an argument value: object members that are null are omitted.
ordered_json without_nulls(const ordered_json &value) {
  if (value.is_object()) {
    ordered_json out = ordered_json::object();
    for (const auto &[key, member] : value.items())
      if (!member.is_null())
        out[key] = without_nulls(member);
    return out;
  }
  if (value.is_array()) {
    ordered_json out = ordered_json::array();
    for (const auto &element : value)
      out.push_back(without_nulls(element));
    return out;
  }
  return value;
}

TEST(ParseRoundTrip, OfficialTemplateRenderingsParseBack) {
  ASSERT_TRUE(fs::exists(kTemplate)) << kTemplate << " missing: run scripts/assets/templates.sh";
  unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Generator gen(seed);

  ordered_json cases = ordered_json::array();
  std::vector<ordered_json> expected_calls; // per turn: [[name, arguments], ...]
  std::vector<ordered_json> all_tools;
  static const char *kModes[] = {"enabled", "disabled", "adaptive"};
  for (int turn = 0; turn < kTurns; ++turn) {
    ordered_json tools = ordered_json::array();
    int tool_count = 1 + gen.pick(3);
    for (int t = 0; t < tool_count; ++t) {
      ordered_json function = {{"name", "tool_" + std::to_string(t) + (gen.chance(50) ? "_x" : "")},
                               {"description", gen.text(6)},
                               {"parameters", gen.object_schema(1)}};
      if (gen.chance(15)) { // a schema that reaches its properties through $ref
        function["parameters"]["$defs"] = {{"shared", function["parameters"]["properties"]}};
        function["parameters"]["properties"] = {{"ref_arg", {{"$ref", "#/$defs/shared_obj"}}}};
        function["parameters"]["$defs"]["shared_obj"] = {
            {"type", "object"}, {"properties", function["parameters"]["$defs"]["shared"]}};
      }
      tools.push_back({{"type", "function"}, {"function", function}});
    }
    ordered_json assistant = {{"role", "assistant"}};
    if (gen.chance(70))
      assistant["reasoning_content"] = gen.text(30);
    assistant["content"] = gen.chance(60) ? ordered_json(gen.text(30)) : ordered_json();
    ordered_json calls = ordered_json::array();
    ordered_json tool_calls = ordered_json::array();
    int call_count = gen.pick(4);
    for (int c = 0; c < call_count; ++c) {
      const ordered_json &function = tools[gen.pick(tool_count)]["function"];
      ordered_json parameters = function["parameters"];
      if (parameters.contains("$defs"))
        parameters = {{"type", "object"},
                      {"properties", {{"ref_arg", parameters["$defs"]["shared_obj"]}}}};
      ordered_json arguments = gen.value(parameters);
      tool_calls.push_back(
          {{"id", "call_" + std::to_string(c)},
           {"type", "function"},
           {"function", {{"name", function["name"]}, {"arguments", arguments.dump()}}}});
      calls.push_back({function["name"], without_nulls(arguments)});
    }
    if (call_count > 0)
      assistant["tool_calls"] = tool_calls;
    cases.push_back({{"messages", {{{"role", "user"}, {"content", gen.text(10)}}, assistant}},
                     {"tools", tools},
                     {"add_generation_prompt", false},
                     {"chat_template_kwargs", {{"thinking_mode", kModes[gen.pick(3)]}}}});
    expected_calls.push_back(calls);
    all_tools.push_back(tools);
  }

  fs::path dir = fs::temp_directory_path() / ("m3_parse_round_trip_" + std::to_string(seed));
  fs::create_directories(dir);
  std::ofstream(dir / "cases.json") << cases.dump();
  std::string command = "python3 tests/chat/render_chat_template.py " + std::string(kTemplate) +
                        " " + (dir / "cases.json").string() + " " + (dir / "out.json").string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  ordered_json rendered = ordered_json::parse(test_support::read_file_text(dir / "out.json"));
  fs::remove_all(dir);
  ASSERT_EQ(rendered.size(), cases.size());

  const std::string kTurnStart = "]~b]ai\n";
  const std::string kTurnEnd = "[e~[\n";
  for (size_t i = 0; i < rendered.size(); ++i) {
    SCOPED_TRACE("turn " + std::to_string(i));
    ASSERT_TRUE(rendered[i].is_string()) << rendered[i].dump();
    std::string prompt = rendered[i].get<std::string>();
    size_t start = prompt.rfind(kTurnStart);
    ASSERT_NE(start, std::string::npos);
    ASSERT_TRUE(prompt.ends_with(kTurnEnd));
    start += kTurnStart.size();
    std::string turn = prompt.substr(start, prompt.size() - kTurnEnd.size() - start);

    const ordered_json &assistant = cases[i]["messages"][1];
    ParsedOutput want;
    want.reasoning_content = assistant.value("reasoning_content", "");
    want.content = assistant["content"].is_string() ? assistant["content"].get<std::string>() : "";
    for (const auto &call : expected_calls[i])
      want.tool_calls.push_back({"call_", call[0].get<std::string>(), call[1]});
    nlohmann::json tools = nlohmann::json::parse(all_tools[i].dump());

    // Adaptive sees the turn as rendered; enabled/disabled see it after the prompt's prefix.
    test::expect_same_output(test::parse_in_pieces(turn, {}, ThinkingMode::kAdaptive, tools), want,
                             "adaptive:\n" + turn);
    for (auto [prefix, mode] : {std::pair{std::string("<mm:think>"), ThinkingMode::kEnabled},
                                std::pair{std::string("</mm:think>"), ThinkingMode::kDisabled}}) {
      if (!turn.starts_with(prefix))
        continue;
      std::string rest = turn.substr(prefix.size());
      test::expect_same_output(test::parse_in_pieces(rest, {}, mode, tools), want,
                               "after prefix " + prefix + ":\n" + rest);
    }
    if (i % 10 == 0)
      test::expect_random_chunks_invariant(turn, ThinkingMode::kAdaptive, tools, 5);
  }
}

} // namespace
} // namespace m3::chat
