#include "server/tool_call_grammar.h"

#include <algorithm>
#include <bitset>
#include <functional>
#include <optional>

#include "core/error.h"

namespace m3::server {
namespace {

using json = nlohmann::ordered_json;

constexpr const char *kMarker = "]<]minimax[>[";
constexpr const char *kWrapOpen = "<tool_call>";
constexpr const char *kWrapClose = "</tool_call>";

// The automaton reads symbols: bytes 0-255, and one symbol per special token of the syntax, so
// a model must use the real namespace/wrapper tokens rather than spell them out byte by byte.
constexpr int kMarkerSymbol = 256, kWrapOpenSymbol = 257, kWrapCloseSymbol = 258, kSymbols = 259;
using SymbolSet = std::bitset<kSymbols>;

// A Thompson-style program: symbol sets, splits (two successors), jumps, match.
struct Inst {
  enum Op { kSymbols, kSplit, kJump, kMatch } op = kMatch;
  SymbolSet symbols;
  int x = 0, y = 0;
};

// Which special strings are single tokens (symbols) rather than bytes.
struct SpecialSymbols {
  bool marker = false, wrappers = false;
};

class GrammarBuilder {
public:
  GrammarBuilder(const ToolCallGrammarOptions &options, SpecialSymbols special)
      : options_(options), special_(special) {}

  std::vector<Inst> build(const json &tools) {
    std::vector<const json *> functions;
    for (const json &tool : tools) {
      const json &fn = tool.at("function");
      if (options_.only_function.empty() || fn.at("name") == options_.only_function)
        functions.push_back(&fn);
    }
    require(!functions.empty(), "no tool matches tool_choice");
    marker();
    special(kWrapOpen, kWrapOpenSymbol, special_.wrappers);
    literal("\n");
    auto one_invoke = [&] {
      std::vector<std::function<void()>> choices;
      for (const json *fn : functions)
        choices.push_back([this, fn] { invoke(*fn); });
      alternatives(choices);
    };
    const bool several = options_.parallel_calls && options_.only_function.empty();
    repeat(one_invoke, 1, several ? options_.max_calls : 1);
    marker();
    special(kWrapClose, kWrapCloseSymbol, special_.wrappers);
    emit(Inst::kMatch);
    return std::move(program_);
  }

private:
  int emit(Inst::Op op) {
    Inst inst;
    inst.op = op;
    program_.push_back(inst);
    return int(program_.size()) - 1;
  }
  int pc() const { return int(program_.size()); }
  void symbol_set(const SymbolSet &symbols) { program_[emit(Inst::kSymbols)].symbols = symbols; }
  void literal(const std::string &text) {
    for (unsigned char c : text)
      symbol_set(SymbolSet().set(c));
  }
  void special(const char *text, int symbol, bool as_symbol) {
    if (as_symbol)
      symbol_set(SymbolSet().set(symbol));
    else
      literal(text);
  }
  void marker() { special(kMarker, kMarkerSymbol, special_.marker); }
  // One UTF-8 character of a string value: printable ASCII but '<' (so no tag can start inside
  // a value), tab, newline, or a well-formed multi-byte sequence.
  void text_character() {
    SymbolSet ascii, tail, lead2, lead3, lead4;
    for (int b = 0x20; b < 0x7F; ++b)
      ascii.set(b);
    ascii.reset('<');
    ascii.set('\n');
    ascii.set('\t');
    for (int b = 0x80; b <= 0xBF; ++b)
      tail.set(b);
    for (int b = 0xC2; b <= 0xDF; ++b)
      lead2.set(b);
    for (int b = 0xE1; b <= 0xEC; ++b)
      lead3.set(b); // no overlongs or surrogates
    for (int b = 0xF1; b <= 0xF3; ++b)
      lead4.set(b);
    alternatives({[&, this] { symbol_set(ascii); },
                  [&, this] {
                    symbol_set(lead2);
                    symbol_set(tail);
                  },
                  [&, this] {
                    symbol_set(lead3);
                    symbol_set(tail);
                    symbol_set(tail);
                  },
                  [&, this] {
                    symbol_set(lead4);
                    symbol_set(tail);
                    symbol_set(tail);
                    symbol_set(tail);
                  }});
  }
  void alternatives(const std::vector<std::function<void()>> &choices) {
    std::vector<int> jumps;
    for (size_t i = 0; i < choices.size(); ++i) {
      int split = -1;
      if (i + 1 < choices.size())
        split = emit(Inst::kSplit);
      if (split >= 0)
        program_[split].x = pc();
      choices[i]();
      if (i + 1 < choices.size())
        jumps.push_back(emit(Inst::kJump));
      if (split >= 0)
        program_[split].y = pc();
    }
    for (int j : jumps)
      program_[j].x = pc();
  }
  void repeat(const std::function<void()> &body, int min, int max) {
    for (int i = 0; i < min; ++i)
      body();
    std::vector<int> exits;
    for (int i = min; i < max; ++i) {
      int split = emit(Inst::kSplit);
      program_[split].x = pc();
      exits.push_back(split);
      body();
    }
    for (int split : exits)
      program_[split].y = pc();
  }
  void tag(const std::string &name, bool closing) {
    marker();
    literal(std::string(closing ? "</" : "<") + name + ">");
  }

  void invoke(const json &fn) {
    marker();
    literal("<invoke name=\"" + fn.at("name").get<std::string>() + "\">");
    if (fn.contains("parameters"))
      members(fn["parameters"], 0);
    marker();
    literal("</invoke>\n");
  }
  // The children of an object value: one element per property.
  void members(const json &schema, int depth) {
    const json s = resolve(schema);
    if (!s.is_object() || !s.contains("properties") || !s["properties"].is_object())
      return;
    std::vector<std::string> required;
    if (s.contains("required") && s["required"].is_array())
      for (const json &r : s["required"])
        if (r.is_string())
          required.push_back(r.get<std::string>());
    for (const auto &item : s["properties"].items()) {
      const std::string name = item.key();
      const json sub = item.value();
      if (type_of(resolve(sub)) == "null")
        continue; // nulls are omitted in M3 calls
      auto element = [this, &name, &sub, depth] {
        tag(name, false);
        value(sub, depth + 1);
        tag(name, true);
      };
      if (std::find(required.begin(), required.end(), name) != required.end())
        element();
      else
        repeat(element, 0, 1);
    }
  }
  static json resolve(const json &schema) {
    if (!schema.is_object())
      return json::object();
    for (const char *key : {"anyOf", "oneOf"})
      if (schema.contains(key) && schema[key].is_array())
        for (const json &alt : schema[key])
          if (type_of(alt) != "null")
            return alt;
    if (schema.contains("allOf") && schema["allOf"].is_array() && !schema["allOf"].empty())
      return schema["allOf"][0];
    return schema;
  }
  static std::string type_of(const json &schema) {
    if (!schema.is_object() || !schema.contains("type"))
      return "";
    const json &type = schema["type"];
    if (type.is_string())
      return type.get<std::string>();
    if (type.is_array())
      for (const json &t : type)
        if (t.is_string() && t != "null")
          return t.get<std::string>();
    return "";
  }
  static std::string scalar_text(const json &v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
  }
  void value(const json &raw, int depth) {
    const json s = resolve(raw);
    if (s.contains("const"))
      return literal(scalar_text(s["const"]));
    if (s.contains("enum") && s["enum"].is_array() && !s["enum"].empty()) {
      std::vector<std::function<void()>> choices;
      for (const json &option : s["enum"])
        if (!option.is_null())
          choices.push_back([this, text = scalar_text(option)] { literal(text); });
      if (!choices.empty())
        return alternatives(choices);
    }
    const std::string type = type_of(s);
    SymbolSet digits, nonzero;
    for (char c = '0'; c <= '9'; ++c)
      digits.set(c);
    nonzero = digits;
    nonzero.reset('0');
    if (type == "integer" || type == "number") {
      repeat([this] { literal("-"); }, 0, 1);
      alternatives({[this] { literal("0"); },
                    [&, this] {
                      symbol_set(nonzero);
                      repeat([&, this] { symbol_set(digits); }, 0, options_.max_number_digits - 1);
                    }});
      if (type == "number")
        repeat(
            [&, this] {
              literal(".");
              repeat([&, this] { symbol_set(digits); }, 1, 6);
            },
            0, 1);
    } else if (type == "boolean") {
      alternatives({[this] { literal("true"); }, [this] { literal("false"); }});
    } else if (type == "array" && depth < 4) {
      const json items = s.contains("items") ? s["items"] : json::object();
      const int min = std::min<int>(s.value("minItems", 0), options_.max_array_items);
      const int max = std::max(min, std::min<int>(s.value("maxItems", options_.max_array_items),
                                                  options_.max_array_items));
      repeat(
          [&, this] {
            tag("item", false);
            value(items, depth + 1);
            tag("item", true);
          },
          min, max);
    } else if (type == "object" && depth < 4) {
      members(s, depth);
    } else {
      // Strings, and anything the schema leaves open.
      const int min =
          std::max(1, std::min<int>(s.value("minLength", 1), options_.max_string_chars));
      const int max = std::max(min, std::min<int>(s.value("maxLength", options_.max_string_chars),
                                                  options_.max_string_chars));
      repeat([this] { text_character(); }, min, max);
    }
  }

  ToolCallGrammarOptions options_;
  SpecialSymbols special_;
  std::vector<Inst> program_;
};

// The set of live program positions (after following splits and jumps).
class Automaton {
public:
  explicit Automaton(std::vector<Inst> program)
      : program_(std::move(program)), mark_(program_.size(), 0) {
    add(0, states_);
  }
  bool matched() const {
    for (int pc : states_)
      if (program_[pc].op == Inst::kMatch)
        return true;
    return false;
  }
  // Would the symbols keep the automaton alive? (Does not change it.)
  bool accepts(const std::vector<uint16_t> &symbols) {
    std::vector<int> current = states_, next;
    for (uint16_t symbol : symbols) {
      step(current, symbol, next);
      if (next.empty())
        return false;
      current.swap(next);
    }
    return true;
  }
  void advance(const std::vector<uint16_t> &symbols) {
    std::vector<int> next;
    for (uint16_t symbol : symbols) {
      step(states_, symbol, next);
      states_.swap(next);
    }
  }

private:
  void step(const std::vector<int> &from, uint16_t symbol, std::vector<int> &to) {
    to.clear();
    ++generation_;
    for (int pc : from)
      if (program_[pc].op == Inst::kSymbols && program_[pc].symbols.test(symbol))
        add(pc + 1, to);
  }
  void add(int pc, std::vector<int> &to) {
    if (mark_[pc] == generation_)
      return;
    mark_[pc] = generation_;
    const Inst &inst = program_[pc];
    if (inst.op == Inst::kSplit) {
      add(inst.x, to);
      add(inst.y, to);
    } else if (inst.op == Inst::kJump) {
      add(inst.x, to);
    } else {
      to.push_back(pc);
    }
  }

  std::vector<Inst> program_;
  std::vector<uint32_t> mark_;
  uint32_t generation_ = 1;
  std::vector<int> states_;
};

std::vector<uint16_t> bytes_as_symbols(std::string_view text) {
  std::vector<uint16_t> symbols;
  for (unsigned char c : text)
    symbols.push_back(c);
  return symbols;
}

class ToolCallConstraint : public TokenConstraint {
public:
  ToolCallConstraint(const Tokenizer &tokenizer, const json &tools,
                     const ToolCallGrammarOptions &options, std::vector<int32_t> end_tokens)
      : end_tokens_(std::move(end_tokens)) {
    auto special_id = [&](const char *text) -> std::optional<int32_t> {
      auto id = tokenizer.token_to_id(text);
      if (id && tokenizer.is_special(*id))
        return id;
      return std::nullopt;
    };
    const auto marker = special_id(kMarker);
    const auto open = special_id(kWrapOpen), close = special_id(kWrapClose);
    SpecialSymbols special{marker.has_value(), open.has_value() && close.has_value()};
    automaton_ = std::make_unique<Automaton>(GrammarBuilder(options, special).build(tools));

    const size_t vocab = tokenizer.vocab_size();
    token_symbols_.resize(vocab);
    for (size_t id = 0; id < vocab; ++id) {
      std::string_view bytes;
      try {
        bytes = tokenizer.token_bytes(int32_t(id));
      } catch (const Error &) {
        continue; // a hole in the id space: never allowed
      }
      if (special.marker && int32_t(id) == *marker)
        token_symbols_[id] = {kMarkerSymbol};
      else if (special.wrappers && int32_t(id) == *open)
        token_symbols_[id] = {kWrapOpenSymbol};
      else if (special.wrappers && int32_t(id) == *close)
        token_symbols_[id] = {kWrapCloseSymbol};
      else if (!tokenizer.is_special(int32_t(id)))
        token_symbols_[id] = bytes_as_symbols(bytes);
    }
  }
  void allowed_tokens(std::vector<uint8_t> &allowed) override {
    if (automaton_->matched()) {
      for (int32_t id : end_tokens_)
        if (size_t(id) < allowed.size())
          allowed[id] = 1;
      return;
    }
    const size_t n = std::min(allowed.size(), token_symbols_.size());
    for (size_t id = 0; id < n; ++id)
      if (!token_symbols_[id].empty() && automaton_->accepts(token_symbols_[id]))
        allowed[id] = 1;
  }
  void accept(int32_t token) override {
    if (size_t(token) < token_symbols_.size() && !automaton_->matched())
      automaton_->advance(token_symbols_[token]);
  }

private:
  std::unique_ptr<Automaton> automaton_;
  std::vector<int32_t> end_tokens_;
  std::vector<std::vector<uint16_t>> token_symbols_; // empty: never allowed
};

} // namespace

std::shared_ptr<TokenConstraint> make_tool_call_constraint(const Tokenizer &tokenizer,
                                                           const json &tools,
                                                           std::vector<int32_t> end_tokens,
                                                           const ToolCallGrammarOptions &options) {
  require(!end_tokens.empty(), "constrained tool calls need an end-of-turn token");
  return std::make_shared<ToolCallConstraint>(tokenizer, tools, options, std::move(end_tokens));
}

bool tool_call_grammar_accepts(const json &tools, const ToolCallGrammarOptions &options,
                               const std::string &text) {
  Automaton automaton(GrammarBuilder(options, SpecialSymbols{}).build(tools));
  const std::vector<uint16_t> symbols = bytes_as_symbols(text);
  if (!automaton.accepts(symbols))
    return false;
  automaton.advance(symbols);
  return automaton.matched();
}

} // namespace m3::server
