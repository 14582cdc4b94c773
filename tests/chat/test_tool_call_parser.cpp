// M3 tool-call parsing: every item of the serving.md §3 checklist and the §2 format, plus the
// MiniMax-M3 parse cases of llama.cpp's tests/test-chat.cpp (used as facts). Expected values are
// written by hand from those sources. Every case is also parsed at every split point and in random
// pieces, which must give the same result as one piece.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/markers.h"
#include "chat/tool_arguments.h"
#include "parse_test_util.h"

namespace m3::chat {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Test texts write the namespace token as '§' so the cases stay readable.
std::string ns(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.substr(i).starts_with("§")) {
      out += kToolNamespace;
      i += std::string_view("§").size() - 1;
    } else {
      out += text[i];
    }
  }
  return out;
}

const json &tools() {
  static const json kTools = json::parse(R"([
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object",
      "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
      "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}},
    {"type": "function", "function": {"name": "special_function", "parameters": {"type": "object",
      "properties": {"arg1": {"type": "integer"}}, "required": ["arg1"]}}},
    {"type": "function", "function": {"name": "empty_args", "parameters": {"type": "object",
      "properties": {}}}},
    {"type": "function", "function": {"name": "magic_int", "parameters": {"type": "object",
      "properties": {"ref": {"type": "integer"}, "name": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "amount", "parameters": {"type": "object",
      "properties": {"orig": {"type": "number"}}}}},
    {"type": "function", "function": {"name": "toggle", "parameters": {"type": "object",
      "properties": {"enabled": {"type": "boolean"}}}}},
    {"type": "function", "function": {"name": "imaginary_number", "parameters": {"type": "object",
      "properties": {"number": {"type": "object", "properties": {"real": {"type": "number"},
      "imaginary": {"type": "number"}}}}}}},
    {"type": "function", "function": {"name": "nested_args", "parameters": {"type": "object",
      "properties": {"tags": {"type": "array", "items": {"type": "string"}},
      "entries": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "integer"}, "label": {"type": "string"}}}}}}}},
    {"type": "function", "function": {"name": "union_args", "parameters": {"type": "object",
      "properties": {
        "filter": {"anyOf": [{"type": "array", "items": {"type": "string"}},
          {"type": "object", "properties": {"field": {"type": "string"}, "op": {"type": "string"}}}]},
        "label": {"oneOf": [{"type": "string"}, {"type": "object", "properties": {"text": {"type": "string"}}}]},
        "limit": {"oneOf": [{"type": "integer"}, {"type": "object", "properties": {"max": {"type": "integer"}}}]}}}}},
    {"type": "function", "function": {"name": "typed", "parameters": {"type": "object",
      "$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}}},
      "properties": {
        "code": {"type": "string"}, "zip": {"type": "string"}, "n": {"type": "integer"},
        "ratio": {"type": "number"}, "flag": {"type": "boolean"}, "nothing": {"type": "null"},
        "maybe": {"type": ["integer", "null"]}, "list": {"type": "array", "items": {"type": "integer"}},
        "obj": {"type": "object"}, "text": {"type": "string"}, "mode": {"enum": ["fast", "slow"]},
        "point": {"$ref": "#/$defs/point"},
        "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
        "merged": {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}},
                             {"properties": {"b": {"type": "boolean"}}}]},
        "extra": {"type": "object", "additionalProperties": {"type": "integer"}}}}}}
  ])");
  return kTools;
}

struct Case {
  const char *name;
  ThinkingMode mode;
  std::string text; // with '§' for the namespace token
  std::string content;
  std::string reasoning;
  std::string calls; // JSON: [[name, arguments], ...]
};

const std::vector<Case> &cases() {
  static const std::vector<Case> kCases = {
      // --- llama.cpp test-chat.cpp MiniMax-M3 cases (facts) ---
      {"thinking + single string param", ThinkingMode::kAdaptive,
       "<mm:think>Let me check the time</mm:think>§<tool_call>\n§<invoke "
       "name=\"get_time\">§<city>Tokyo§</city>§</invoke>\n§</tool_call>",
       "", "Let me check the time", R"([["get_time", {"city": "Tokyo"}]])"},
      {"bare closer + integer param", ThinkingMode::kAdaptive,
       "</mm:think>§<tool_call>\n§<invoke "
       "name=\"special_function\">§<arg1>1§</arg1>§</invoke>\n§</tool_call>",
       "", "", R"([["special_function", {"arg1": 1}]])"},
      {"no parameters", ThinkingMode::kAdaptive,
       "<mm:think>Let's call a tool:</mm:think>§<tool_call>\n§<invoke "
       "name=\"empty_args\">§</invoke>\n§</tool_call>",
       "", "Let's call a tool:", R"([["empty_args", {}]])"},
      {"parallel calls in one block", ThinkingMode::kAdaptive,
       "<mm:think>Calling both</mm:think>§<tool_call>\n§<invoke "
       "name=\"get_time\">§<city>Paris§</city>§</invoke>\n§<invoke "
       "name=\"get_weather\">§<city>Paris§</city>§</invoke>\n§</tool_call>",
       "", "Calling both",
       R"([["get_time", {"city": "Paris"}], ["get_weather", {"city": "Paris"}]])"},
      {"content before the block", ThinkingMode::kAdaptive,
       "<mm:think>Thinking about it</mm:think>Let me call the function.§<tool_call>\n§<invoke "
       "name=\"special_function\">§<arg1>1§</arg1>§</invoke>\n§</tool_call>",
       "Let me call the function.", "Thinking about it", R"([["special_function", {"arg1": 1}]])"},
      {"negative integer", ThinkingMode::kAdaptive,
       "§<tool_call>\n§<invoke name=\"magic_int\">§<ref>-14§</ref>§</invoke>\n§</tool_call>", "",
       "", R"([["magic_int", {"ref": -14}]])"},
      {"decimal number", ThinkingMode::kAdaptive,
       "§<tool_call>\n§<invoke name=\"amount\">§<orig>3.14§</orig>§</invoke>\n§</tool_call>", "",
       "", R"([["amount", {"orig": 3.14}]])"},
      {"boolean", ThinkingMode::kAdaptive,
       "§<tool_call>\n§<invoke name=\"toggle\">§<enabled>true§</enabled>§</invoke>\n§</tool_call>",
       "", "", R"([["toggle", {"enabled": true}]])"},
      {"mixed params keep their order", ThinkingMode::kAdaptive,
       "§<tool_call>\n§<invoke name=\"magic_int\">§<ref>42§</ref>§<name>foo "
       "bar§</name>§</invoke>\n§</tool_call>",
       "", "", R"([["magic_int", {"ref": 42, "name": "foo bar"}]])"},
      {"nested object", ThinkingMode::kAdaptive,
       "§<tool_call>\n§<invoke "
       "name=\"imaginary_number\">§<number>§<real>1.5§</real>§<imaginary>-2.5§</imaginary>§</"
       "number>§</invoke>\n§</tool_call>",
       "", "", R"([["imaginary_number", {"number": {"real": 1.5, "imaginary": -2.5}}]])"},
      {"arrays of scalars and of objects", ThinkingMode::kAdaptive,
       "§<tool_call>\n§<invoke "
       "name=\"nested_args\">§<tags>§<item>alpha§</item>§<item>beta§</item>§</"
       "tags>§<entries>§<item>§<id>1§</id>§<label>one§</label>§</item>§</entries>§</invoke>\n§</"
       "tool_call>",
       "", "",
       R"([["nested_args", {"tags": ["alpha", "beta"], "entries": [{"id": 1, "label": "one"}]}]])"},
      {"anyOf array alternative", ThinkingMode::kAdaptive,
       "§<tool_call>\n§<invoke "
       "name=\"union_args\">§<filter>§<item>alpha§</item>§<item>beta§</item>§</filter>§</"
       "invoke>\n§</tool_call>",
       "", "", R"([["union_args", {"filter": ["alpha", "beta"]}]])"},
      {"anyOf object alternative", ThinkingMode::kAdaptive,
       "§<tool_call>\n§<invoke "
       "name=\"union_args\">§<filter>§<field>a§</field>§<op>eq§</op>§</filter>§</invoke>\n§</"
       "tool_call>",
       "", "", R"([["union_args", {"filter": {"field": "a", "op": "eq"}}]])"},
      {"oneOf scalar alternative", ThinkingMode::kAdaptive,
       "§<tool_call>\n§<invoke name=\"union_args\">§<limit>5§</limit>§</invoke>\n§</tool_call>", "",
       "", R"([["union_args", {"limit": 5}]])"},
      {"oneOf nested alternative", ThinkingMode::kAdaptive,
       "§<tool_call>\n§<invoke "
       "name=\"union_args\">§<limit>§<max>10§</max>§</limit>§</invoke>\n§</tool_call>",
       "", "", R"([["union_args", {"limit": {"max": 10}}]])"},
      {"oneOf with a string alternative: plain text is a string", ThinkingMode::kAdaptive,
       "§<tool_call>\n§<invoke name=\"union_args\">§<label>hi§</label>§</invoke>\n§</tool_call>",
       "", "", R"([["union_args", {"label": "hi"}]])"},
      // Differs from llama.cpp (which keeps the markup as a string): the template writes objects as
      // child elements, so elements that fit the object alternative are read back as that object.
      {"oneOf string|object: elements are the object", ThinkingMode::kAdaptive,
       "§<tool_call>\n§<invoke "
       "name=\"union_args\">§<label>§<text>hi§</text>§</label>§</invoke>\n§</tool_call>",
       "", "", R"([["union_args", {"label": {"text": "hi"}}]])"},
      {"empty reasoning then call", ThinkingMode::kAdaptive,
       "<mm:think></mm:think>§<tool_call>\n§<invoke "
       "name=\"get_time\">§<city>XYZCITY§</city>§</invoke>\n§</tool_call>",
       "", "", R"([["get_time", {"city": "XYZCITY"}]])"},
      // --- serving.md §2.7 ---
      {"§2.7 example, thinking enabled", ThinkingMode::kEnabled,
       "The user wants a 3-day forecast; call get_weather.</mm:think>§<tool_call>\n§<invoke "
       "name=\"get_weather\">§<city>Paris§</city>§<days>3§</days>§</invoke>\n§</tool_call>",
       "", "The user wants a 3-day forecast; call get_weather.",
       R"([["get_weather", {"city": "Paris", "days": 3}]])"},
      // --- §3 streaming / framing ---
      {"repeated ']' before the token", ThinkingMode::kDisabled,
       "a]]]<]]<]minimax[>§<tool_call>\n§<invoke "
       "name=\"get_time\">§<city>X§</city>§</invoke>\n§</tool_call>",
       "a]]]<]]<]minimax[>", "", R"([["get_time", {"city": "X"}]])"},
      {"whitespace between token and tag", ThinkingMode::kDisabled,
       "§ \n<tool_call>\n§ <invoke name=\"get_weather\">§\n<city>Paris§ </city>\n§<days> 3 § "
       "</days>§\t</invoke>\n§ </tool_call>",
       "", "", R"([["get_weather", {"city": "Paris", "days": 3}]])"},
      {"false wrapper is released as content", ThinkingMode::kDisabled,
       "x §<tool_call>hello §<b> and more",
       "x ]<]minimax[>[<tool_call>hello ]<]minimax[>[<b> and more", "", "[]"},
      {"EOF inside a candidate opener returns it verbatim", ThinkingMode::kDisabled,
       "answer §<tool_ca", "answer ]<]minimax[>[<tool_ca", "", "[]"},
      {"EOF right after the wrapper returns it verbatim", ThinkingMode::kDisabled,
       "answer §<tool_call>\n", "answer ]<]minimax[>[<tool_call>\n", "", "[]"},
      {"tool token ends reasoning without a closer", ThinkingMode::kEnabled,
       "I will look it up§<tool_call>\n§<invoke "
       "name=\"get_time\">§<city>Oslo§</city>§</invoke>\n§</tool_call>",
       "", "I will look it up", R"([["get_time", {"city": "Oslo"}]])"},
      // --- §3 malformed input ---
      {"missing outer close keeps complete invokes", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"get_time\">§<city>A§</city>§</invoke>\n§<invoke "
       "name=\"get_time\">§<city>B§</city>§</invoke>\n",
       "", "", R"([["get_time", {"city": "A"}], ["get_time", {"city": "B"}]])"},
      {"bare invoke without wrapper", ThinkingMode::kDisabled,
       "Sure.§<invoke name=\"get_time\">§<city>Rome§</city>§</invoke>", "Sure.", "",
       R"([["get_time", {"city": "Rome"}]])"},
      {"truncated mid-value loses only that invoke", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"get_time\">§<city>A§</city>§</invoke>\n§<invoke "
       "name=\"get_weather\">§<city>Par",
       "", "", R"([["get_time", {"city": "A"}]])"},
      {"truncated invoke followed by another invoke", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"get_time\">§<city>A§<invoke "
       "name=\"get_time\">§<city>B§</city>§</invoke>\n§</tool_call>",
       "", "", R"([["get_time", {"city": "B"}]])"},
      {"bare invoke then a wrapped one", ThinkingMode::kDisabled,
       "§<invoke name=\"get_time\">§<city>A§</city>§</invoke>\n§<tool_call>\n§<invoke "
       "name=\"get_time\">§<city>B§</city>§</invoke>\n§</tool_call>",
       "", "", R"([["get_time", {"city": "A"}], ["get_time", {"city": "B"}]])"},
      {"prose and an orphan close", ThinkingMode::kDisabled, "Done.§</tool_call> Bye", "Done. Bye",
       "", "[]"},
      {"stray text between parameters does not drop later ones", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"get_weather\">§<city>Paris§</city> oops "
       "§<days>2§</days>§</invoke>\n§</tool_call>",
       "", "", R"([["get_weather", {"city": "Paris", "days": 2}]])"},
      {"invoke without a name is dropped", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke>§<city>A§</city>§</invoke>\n§<invoke "
       "name=\"get_time\">§<city>B§</city>§</invoke>\n§</tool_call>",
       "", "", R"([["get_time", {"city": "B"}]])"},
      {"single-quoted and unquoted names", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name='get_time'>§<city>A§</city>§</invoke>\n§<invoke "
       "name=get_time>§<city>B§</city>§</invoke>\n§</tool_call>",
       "", "", R"([["get_time", {"city": "A"}], ["get_time", {"city": "B"}]])"},
      {"mismatched close drops that invoke only", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"get_weather\">§<city>Paris§</days>§</invoke>\n§<invoke "
       "name=\"get_time\">§<city>B§</city>§</invoke>\n§</tool_call>",
       "", "", R"([["get_time", {"city": "B"}]])"},
      {"empty containers missing their close tag", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"typed\">§<list>§<obj>§<n>1§</n>§</invoke>\n§</tool_call>", "",
       "", R"([["typed", {"list": [], "obj": {}, "n": 1}]])"},
      {"unknown function is forwarded with inferred types", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke "
       "name=\"not_declared\">§<a>12§</a>§<b>True§</b>§<c>None§</c>§<d>007§</d>§<e>-1.5e3§</"
       "e>§<f>text§</f>§</invoke>\n§</tool_call>",
       "", "",
       R"([["not_declared", {"a": 12, "b": true, "c": null, "d": "007", "e": -1500.0, "f": "text"}]])"},
      {"text between and after blocks is kept", ThinkingMode::kDisabled,
       "Before §<tool_call>\n§<invoke name=\"get_time\">§<city>A§</city>§</invoke>\n§</tool_call> "
       "middle §<tool_call>\n§<invoke "
       "name=\"get_time\">§<city>B§</city>§</invoke>\n§</tool_call>\nAfter.",
       "Before  middle \nAfter.", "",
       R"([["get_time", {"city": "A"}], ["get_time", {"city": "B"}]])"},
      {"prose after an unclosed block", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"get_time\">§<city>A§</city>§</invoke>\nDone.", "Done.", "",
       R"([["get_time", {"city": "A"}]])"},
      // --- §3 values and schema coercion ---
      {"values are byte exact: newlines, '<', '&', quotes, unicode", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"typed\">§<code>\n  if (a < b && c) {\n    s = \"x\" + 'y';\n "
       " }\n§</code>§<text>  日本語 🙂 ]]< §</text>§</invoke>\n§</tool_call>",
       "", "",
       R"([["typed", {"code": "\n  if (a < b && c) {\n    s = \"x\" + 'y';\n  }\n", "text": "  日本語 🙂 ]]< "}]])"},
      {"XML-looking text without tokens stays literal", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke "
       "name=\"typed\">§<code><html><body>hi</body></html>§</code>§</invoke>\n§</tool_call>",
       "", "", R"([["typed", {"code": "<html><body>hi</body></html>"}]])"},
      {"consistently escaped value is decoded", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"typed\">§<code>a &lt; b &amp;&amp; c &#62; d "
       "&#x41;&quot;&apos;§</code>§</invoke>\n§</tool_call>",
       "", "", R"([["typed", {"code": "a < b && c > d A\"'"}]])"},
      {"value with raw markup keeps its entities", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"typed\">§<code><p>&amp;</p>§</code>§<text>AT&T &amp; "
       "co§</text>§</invoke>\n§</tool_call>",
       "", "", R"([["typed", {"code": "<p>&amp;</p>", "text": "AT&T &amp; co"}]])"},
      {"string leaves stay strings", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke "
       "name=\"typed\">§<code>3§</code>§<zip>007§</zip>§<text>true§</text>§</invoke>\n§</"
       "tool_call>",
       "", "", R"([["typed", {"code": "3", "zip": "007", "text": "true"}]])"},
      {"scalars coerced by schema", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"typed\">§<n> "
       "42\n§</n>§<ratio>2§</ratio>§<flag>False§</flag>§<nothing>null§</nothing>§<maybe>null§</"
       "maybe>§<mode>fast§</mode>§</invoke>\n§</tool_call>",
       "", "",
       R"([["typed", {"n": 42, "ratio": 2, "flag": false, "nothing": null, "maybe": null, "mode": "fast"}]])"},
      {"scalar that does not fit its schema stays text", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"typed\">§<n>many§</n>§</invoke>\n§</tool_call>", "", "",
       R"([["typed", {"n": "many"}]])"},
      {"item children and repeated tags are arrays", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke "
       "name=\"typed\">§<list>§<item>1§</item>§<item>2§</item>§</list>§<tags>a§</tags>§<tags>b§</"
       "tags>§</invoke>\n§<invoke "
       "name=\"nested_args\">§<tags>x§</tags>§<tags>y§</tags>§</invoke>\n§</tool_call>",
       "", "",
       R"([["typed", {"list": [1, 2], "tags": ["a", "b"]}], ["nested_args", {"tags": ["x", "y"]}]])"},
      {"a single tag under an array schema is a one-element array", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"nested_args\">§<tags>solo§</tags>§</invoke>\n§</tool_call>",
       "", "", R"([["nested_args", {"tags": ["solo"]}]])"},
      {"empty elements: [] / {} / \"\" by schema", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke "
       "name=\"typed\">§<list>§</list>§<obj>\n§</obj>§<code>§</code>§<point/>§</invoke>\n§</"
       "tool_call>",
       "", "", R"([["typed", {"list": [], "obj": {}, "code": "", "point": {}}]])"},
      {"mixed text and elements: the text is dropped", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"typed\">§<obj>note "
       "§<k>v§</k>§</obj>§</invoke>\n§</tool_call>",
       "", "", R"([["typed", {"obj": {"k": "v"}}]])"},
      {"pretty-print whitespace between tags ignored, inside leaves kept", ThinkingMode::kDisabled,
       "§<tool_call>\n  §<invoke name=\"typed\">\n    §<point>\n      §<x> 1 §</x>\n      "
       "§<y>2§</y>\n    §</point>\n    §<text>  two  spaces  §</text>\n  §</invoke>\n§</tool_call>",
       "", "", R"([["typed", {"point": {"x": 1, "y": 2}, "text": "  two  spaces  "}]])"},
      {"$ref, prefixItems, allOf, additionalProperties", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke "
       "name=\"typed\">§<point>§<x>1.5§</x>§<y>-2§</y>§</point>§<pair>§<item>7§</item>§<item>7§</"
       "item>§</pair>§<merged>§<a>3§</a>§<b>true§</b>§</merged>§<extra>§<p>1§</p>§<q>2§</q>§</"
       "extra>§</invoke>\n§</tool_call>",
       "", "",
       R"([["typed", {"point": {"x": 1.5, "y": -2}, "pair": ["7", 7], "merged": {"a": 3, "b": true}, "extra": {"p": 1, "q": 2}}]])"},
      {"JSON text inside an array or object parameter", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"typed\">§<list>[1, 2, 3]§</list>§<obj>{\"k\": "
       "[true]}§</obj>§</invoke>\n§</tool_call>",
       "", "", R"([["typed", {"list": [1, 2, 3], "obj": {"k": [true]}}]])"},
      {"string parameter holding markup keeps it raw", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"typed\">§<code>§<b>x§</b>§</code>§</invoke>\n§</tool_call>",
       "", "", R"([["typed", {"code": "]<]minimax[>[<b>x]<]minimax[>[</b>"}]])"},
      {"M2-style parameter tags inside an M3 invoke", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke name=\"get_weather\">§<parameter "
       "name=\"city\">Paris§</parameter>§<parameter "
       "name=\"days\">4§</parameter>§</invoke>\n§</tool_call>",
       "", "", R"([["get_weather", {"city": "Paris", "days": 4}]])"},
      {"nested same-name elements", ThinkingMode::kDisabled,
       "§<tool_call>\n§<invoke "
       "name=\"not_declared\">§<item>§<item>§<item>1§</item>§</item>§<item>§<item>2§</"
       "item>§<item>3§</item>§</item>§</item>§</invoke>\n§</tool_call>",
       "", "", R"([["not_declared", {"item": [[1], [2, 3]]}]])"},
  };
  return kCases;
}

void expect_case(const Case &c, const ParsedOutput &got) {
  EXPECT_EQ(got.content, c.content);
  EXPECT_EQ(got.reasoning_content, c.reasoning);
  ordered_json want = ordered_json::parse(c.calls);
  ASSERT_EQ(got.tool_calls.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got.tool_calls[i].name, want[i][0].get<std::string>());
    EXPECT_EQ(got.tool_calls[i].arguments_json(), want[i][1].dump());
  }
}

TEST(ToolCallParser, ChecklistCasesOneShot) {
  for (const Case &c : cases()) {
    SCOPED_TRACE(c.name);
    expect_case(c, parse_output(ns(c.text), c.mode, tools()));
  }
}

TEST(ToolCallParser, ChecklistCasesAtEverySplitPoint) {
  for (const Case &c : cases()) {
    SCOPED_TRACE(c.name);
    test::expect_split_invariant(ns(c.text), c.mode, tools());
  }
}

TEST(ToolCallParser, ChecklistCasesInRandomPieces) {
  for (const Case &c : cases()) {
    SCOPED_TRACE(c.name);
    test::expect_random_chunks_invariant(ns(c.text), c.mode, tools());
  }
}

TEST(ToolCallParser, NoMarkerTextEverLeaksIntoStreamedContent) {
  // Byte by byte, a well-formed call never shows any prefix of the token in content.
  std::string text =
      ns("Hi ]]§<tool_call>\n§<invoke name=\"get_time\">§<city>A§</city>§</invoke>\n§</tool_call>");
  OutputParser parser(ThinkingMode::kDisabled, tools());
  std::string content;
  for (char byte : text)
    content += parser.feed(std::string_view(&byte, 1)).content;
  content += parser.finish().content;
  EXPECT_EQ(content, "Hi ]]");
}

TEST(ToolCallParser, CallIsStreamedAsSoonAsItsInvokeCloses) {
  OutputParser parser(ThinkingMode::kDisabled, tools());
  Delta first =
      parser.feed(ns("§<tool_call>\n§<invoke name=\"get_time\">§<city>A§</city>§</invoke>"));
  ASSERT_EQ(first.tool_calls.size(), 2u);
  ordered_json header = first.tool_calls[0].to_openai();
  EXPECT_EQ(header["index"], 0);
  EXPECT_EQ(header["type"], "function");
  EXPECT_EQ(header["function"]["name"], "get_time");
  EXPECT_EQ(header["function"]["arguments"], "");
  EXPECT_TRUE(header["id"].get<std::string>().starts_with("call_"));
  ordered_json arguments = first.tool_calls[1].to_openai();
  EXPECT_EQ(arguments.dump(), R"({"index":0,"function":{"arguments":"{\"city\":\"A\"}"}})");
  Delta second = parser.feed(ns("\n§<invoke name=\"get_time\">§<city>B"));
  EXPECT_TRUE(second.empty());
  Delta third = parser.feed(ns("§</city>§</invoke>\n§</tool_call>"));
  ASSERT_EQ(third.tool_calls.size(), 2u);
  EXPECT_EQ(third.tool_calls[0].index, 1);
  EXPECT_TRUE(parser.finish().empty());
}

TEST(ToolCallParser, IdsAreUniqueAndOpenAIShaped) {
  ParsedOutput parsed = parse_output(
      ns("§<tool_call>\n§<invoke name=\"get_time\">§<city>A§</city>§</invoke>\n§<invoke "
         "name=\"get_time\">§<city>B§</city>§</invoke>\n§</tool_call>"),
      ThinkingMode::kDisabled, tools());
  ASSERT_EQ(parsed.tool_calls.size(), 2u);
  EXPECT_NE(parsed.tool_calls[0].id, parsed.tool_calls[1].id);
  EXPECT_EQ(parsed.tool_calls[0].id.size(), 5u + 24u);
  ordered_json out = parsed.to_json();
  EXPECT_TRUE(out["content"].is_null());
  EXPECT_TRUE(out["reasoning_content"].is_null());
  EXPECT_EQ(out["tool_calls"][1]["function"]["arguments"], "{\"city\":\"B\"}");
  EXPECT_EQ(out["tool_calls"][1]["type"], "function");
}

TEST(ToolCallParser, ParsingOffLeavesMarkupInContent) {
  std::string text = ns("<mm:think>r</mm:think>ok §<tool_call>\n§<invoke "
                        "name=\"get_time\">§<city>A§</city>§</invoke>\n§</tool_call>");
  ParsedOutput parsed = parse_output(text, ThinkingMode::kAdaptive, tools(), ToolCallParsing::kOff);
  EXPECT_EQ(parsed.reasoning_content, "r");
  EXPECT_EQ(parsed.content, text.substr(std::string("<mm:think>r</mm:think>").size()));
  EXPECT_TRUE(parsed.tool_calls.empty());
}

TEST(ToolCallParser, LongArgumentStreamedInSmallPiecesStaysLinear) {
  // A 2 MB file body fed 3 bytes at a time: rescanning the open invoke per piece would take
  // minutes; resuming the scan keeps it well under the timeout.
  std::string body;
  std::mt19937 rng(std::random_device{}());
  while (body.size() < 2'000'000)
    body += "line " + std::to_string(rng()) + " < & ]\n";
  std::string text = ns("§<tool_call>\n§<invoke name=\"typed\">§<code>") + body +
                     ns("§</code>§</invoke>\n§</tool_call>");
  OutputParser parser(ThinkingMode::kDisabled, tools());
  size_t calls = 0;
  for (size_t at = 0; at < text.size(); at += 3)
    calls += parser.feed(std::string_view(text).substr(at, 3)).tool_calls.size();
  calls += parser.finish().tool_calls.size();
  ASSERT_EQ(calls, 2u);
  ASSERT_EQ(parser.parsed().tool_calls.size(), 1u);
  EXPECT_EQ(parser.parsed().tool_calls[0].arguments["code"], body);
  EXPECT_EQ(parser.parsed().content, "");
}

TEST(ToolArguments, EntityPolicy) {
  EXPECT_EQ(decode_entities_if_escaped("x &lt;= y"), "x <= y");
  EXPECT_EQ(decode_entities_if_escaped("&#128578;&#x1F642;"), "🙂🙂");
  EXPECT_EQ(decode_entities_if_escaped("a & b &lt;"), "a & b &lt;"); // bare '&': not escaped
  EXPECT_EQ(decode_entities_if_escaped("<a>&amp;</a>"), "<a>&amp;</a>");
  EXPECT_EQ(decode_entities_if_escaped("&#0; &#xD800;"), "&#0; &#xD800;");
  EXPECT_EQ(decode_entities_if_escaped("plain"), "plain");
}

} // namespace
} // namespace m3::chat
