#include "chat/tool_arguments.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <vector>

#include "chat/jinja/utf8.h"
#include "chat/markers.h"
#include "chat/namespaced_tags.h"

namespace m3::chat {

namespace {

using nlohmann::json;
using Arguments = nlohmann::ordered_json;
constexpr size_t npos = std::string_view::npos;
// Nesting deeper than this (elements or $ref hops) is treated as malformed.
constexpr int kMaxDepth = 64;

std::string_view trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \n\t\r");
  if (begin == npos)
    return {};
  size_t end = text.find_last_not_of(" \n\t\r");
  return text.substr(begin, end - begin + 1);
}

bool has_markup(std::string_view raw) { return raw.find(kToolNamespace) != npos; }

// Strict JSON number syntax (a leading '+' is tolerated): "007", "1.", "inf" are not numbers.
bool is_json_number(std::string_view text) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
      ++i;
    return i > start;
  };
  if (i < text.size() && (text[i] == '-' || text[i] == '+'))
    ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits())
      return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+'))
      ++i;
    if (!digits())
      return false;
  }
  return i == text.size();
}

std::optional<Arguments> parse_number(std::string_view text) {
  if (!is_json_number(text))
    return std::nullopt;
  if (text.starts_with('+'))
    text.remove_prefix(1);
  return Arguments::parse(text);
}

std::optional<Arguments> parse_integer(std::string_view text) {
  auto number = parse_number(text);
  if (!number)
    return std::nullopt;
  if (number->is_number_integer())
    return number;
  double value = number->get<double>();
  if (value != static_cast<double>(static_cast<long long>(value)))
    return std::nullopt;
  return Arguments(static_cast<long long>(value));
}

std::optional<Arguments> parse_boolean(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE")
    return Arguments(true);
  if (text == "false" || text == "False" || text == "FALSE")
    return Arguments(false);
  return std::nullopt;
}

std::optional<Arguments> parse_null(std::string_view text) {
  if (text == "null" || text == "None" || text == "Null" || text == "NULL")
    return Arguments();
  return std::nullopt;
}

std::optional<Arguments> parse_json_of_kind(std::string_view text, bool want_object) {
  Arguments parsed = Arguments::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded())
    return std::nullopt;
  if (want_object ? !parsed.is_object() : !parsed.is_array())
    return std::nullopt;
  return parsed;
}

// Decodes the entity at the start of `text` into `out`; returns its length, 0 if none.
size_t decode_entity(std::string_view text, std::string &out) {
  static constexpr std::pair<std::string_view, char> kNamed[] = {
      {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
  for (auto [entity, decoded] : kNamed) {
    if (text.starts_with(entity)) {
      out += decoded;
      return entity.size();
    }
  }
  if (!text.starts_with("&#"))
    return 0;
  bool hex = text.size() > 2 && (text[2] == 'x' || text[2] == 'X');
  size_t digits_begin = hex ? 3 : 2;
  size_t semicolon = text.find(';', digits_begin);
  if (semicolon == npos || semicolon == digits_begin || semicolon > digits_begin + 8)
    return 0;
  unsigned long code = 0;
  auto [end, error] =
      std::from_chars(text.data() + digits_begin, text.data() + semicolon, code, hex ? 16 : 10);
  if (error != std::errc() || end != text.data() + semicolon)
    return 0;
  if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
    return 0;
  jinja::utf8::append(out, static_cast<char32_t>(code));
  return semicolon + 1;
}

struct Child {
  std::string key;
  std::string_view content;
};

// Child elements of `body`, or nullopt if its tags do not nest. `empty_container_ok(key)` says
// whether an element without a close tag may stand for an empty container.
template <class EmptyContainerOk>
std::optional<std::vector<Child>> parse_children(std::string_view body,
                                                 EmptyContainerOk empty_container_ok) {
  std::vector<Child> children;
  size_t pos = 0;
  while (true) {
    size_t token = body.find(kToolNamespace, pos);
    if (token == npos)
      return children;
    NamespacedTag tag;
    if (read_namespaced_tag(body, token, tag) != TagRead::kTag || tag.closing)
      return std::nullopt;
    std::string key = tag.name;
    if (tag.name == "parameter") {
      if (auto name = tag_attribute(tag.attributes, "name"))
        key = *name;
    }
    if (tag.self_closing) {
      children.push_back({key, {}});
      pos = tag.end;
      continue;
    }
    TagSpan close = find_matching_close(body, tag.end, tag.name);
    if (close.begin == npos) {
      if (!empty_container_ok(key))
        return std::nullopt;
      children.push_back({key, {}});
      pos = tag.end;
      continue;
    }
    children.push_back({key, body.substr(tag.end, close.begin - tag.end)});
    pos = close.end;
  }
}

bool all_items(const std::vector<Child> &children) {
  return !children.empty() && std::all_of(children.begin(), children.end(),
                                          [](const Child &c) { return c.key == "item"; });
}

std::string json_type_name(const json &value) {
  if (value.is_string())
    return "string";
  if (value.is_boolean())
    return "boolean";
  if (value.is_number_integer())
    return "integer";
  if (value.is_number())
    return "number";
  if (value.is_null())
    return "null";
  return value.is_object() ? "object" : "array";
}

// Decodes values against one tool's parameter schema (the root for "#/..." references).
class Decoder {
public:
  explicit Decoder(const json &root) : root_(root) {}

  // Typed value of an element's raw content; falls back to schema-free inference.
  std::optional<Arguments> value(std::string_view raw, const json *schema, int depth) {
    if (depth > kMaxDepth)
      return std::nullopt;
    if (auto typed = strict(raw, schema, depth))
      return typed;
    return infer(raw, depth);
  }

  // The value as `type` (a JSON-schema type name), nullopt if it does not fit.
  std::optional<Arguments> as_type(std::string_view raw, std::string_view type, const json *schema,
                                   int depth) {
    std::string_view text = trim(raw);
    if (type == "string")
      return Arguments(decode_entities_if_escaped(raw));
    if (type == "integer")
      return parse_integer(text);
    if (type == "number")
      return parse_number(text);
    if (type == "boolean")
      return parse_boolean(text);
    if (type == "null")
      return parse_null(text);
    if (type == "object") {
      if (has_markup(raw))
        return object(raw, schema, depth);
      if (text.empty())
        return Arguments::object();
      return parse_json_of_kind(text, /*want_object=*/true);
    }
    if (type == "array") {
      if (has_markup(raw))
        return array(raw, schema, depth);
      if (text.empty())
        return Arguments::array();
      if (auto parsed = parse_json_of_kind(text, /*want_object=*/false))
        return parsed;
      // A lone leaf under an array schema is a one-element array (a "repeated" tag seen once).
      auto element = value(raw, items_schema(schema, 0), depth + 1);
      if (!element)
        return std::nullopt;
      return Arguments::array({*element});
    }
    return std::nullopt;
  }

private:
  // Follows local $ref and merges allOf; nullptr means "no constraint".
  const json *resolve(const json *schema) {
    for (int hops = 0; schema && schema->is_object() && schema->contains("$ref"); ++hops) {
      const json &ref = (*schema)["$ref"];
      if (hops > kMaxDepth || !ref.is_string())
        return nullptr;
      std::string pointer = ref.get<std::string>();
      if (!pointer.starts_with("#"))
        return nullptr;
      try {
        schema = &root_.at(json::json_pointer(pointer.substr(1)));
      } catch (const json::exception &) {
        return nullptr;
      }
    }
    if (!schema || !schema->is_object())
      return nullptr;
    auto all_of = schema->find("allOf");
    if (all_of == schema->end() || !all_of->is_array())
      return schema;
    json merged = *schema;
    merged.erase("allOf");
    for (const json &part : *all_of) {
      const json *resolved = resolve(&part);
      if (!resolved)
        continue;
      for (const auto &[key, entry] : resolved->items()) {
        if (key == "properties" && entry.is_object()) {
          merged["properties"].update(entry);
        } else if (!merged.contains(key)) {
          merged[key] = entry;
        }
      }
    }
    merged_.push_back(std::move(merged));
    return &merged_.back();
  }

  static std::vector<const json *> alternatives(const json &schema) {
    std::vector<const json *> out;
    for (const char *key : {"anyOf", "oneOf"}) {
      auto list = schema.find(key);
      if (list == schema.end() || !list->is_array())
        continue;
      for (const json &alternative : *list)
        out.push_back(&alternative);
    }
    return out;
  }

  static std::vector<std::string> types_of(const json &schema) {
    std::vector<std::string> types;
    auto add = [&](const std::string &type) {
      if (std::find(types.begin(), types.end(), type) == types.end())
        types.push_back(type);
    };
    if (auto type = schema.find("type"); type != schema.end()) {
      if (type->is_string())
        add(type->get<std::string>());
      if (type->is_array())
        for (const json &t : *type)
          if (t.is_string())
            add(t.get<std::string>());
    } else if (auto values = schema.find("enum"); values != schema.end() && values->is_array()) {
      for (const json &v : *values)
        add(json_type_name(v));
    } else if (auto constant = schema.find("const"); constant != schema.end()) {
      add(json_type_name(*constant));
    } else if (schema.contains("properties") || schema.contains("additionalProperties")) {
      add("object");
    } else if (schema.contains("items") || schema.contains("prefixItems")) {
      add("array");
    }
    return types;
  }

  // How well a type suits the raw text (lower first): plain text prefers string, then scalars;
  // elements prefer an array when they are all <item>, else an object.
  static int rank(std::string_view type, std::string_view raw, bool items_only) {
    bool container = type == "array" || type == "object";
    if (!has_markup(raw))
      return type == "string" ? 0 : container ? 2 : 1;
    if (container)
      return (type == "array") == items_only ? 0 : 1;
    return type == "string" ? 2 : 3;
  }

  bool items_only(std::string_view raw) {
    if (!has_markup(raw))
      return false;
    auto children = parse_children(raw, [](const std::string &) { return false; });
    return children && all_items(*children);
  }

  int best_rank(const json *schema, std::string_view raw, bool only_items, int depth) {
    const json *resolved = resolve(schema);
    if (!resolved || depth > kMaxDepth)
      return 1;
    int best = 4;
    for (const json *alternative : alternatives(*resolved))
      best = std::min(best, best_rank(alternative, raw, only_items, depth + 1));
    for (const std::string &type : types_of(*resolved))
      best = std::min(best, rank(type, raw, only_items));
    return best;
  }

  std::optional<Arguments> strict(std::string_view raw, const json *schema, int depth) {
    const json *resolved = resolve(schema);
    if (!resolved)
      return infer(raw, depth);
    bool only_items = items_only(raw);
    std::vector<const json *> choices = alternatives(*resolved);
    if (!choices.empty()) {
      std::stable_sort(choices.begin(), choices.end(), [&](const json *a, const json *b) {
        return best_rank(a, raw, only_items, depth) < best_rank(b, raw, only_items, depth);
      });
      for (const json *choice : choices)
        if (auto typed = strict(raw, choice, depth + 1))
          return typed;
      return std::nullopt;
    }
    std::vector<std::string> types = types_of(*resolved);
    if (types.empty())
      return infer(raw, depth);
    std::stable_sort(types.begin(), types.end(), [&](const std::string &a, const std::string &b) {
      return rank(a, raw, only_items) < rank(b, raw, only_items);
    });
    for (const std::string &type : types)
      if (auto typed = as_type(raw, type, resolved, depth))
        return typed;
    return std::nullopt;
  }

  std::optional<Arguments> infer(std::string_view raw, int depth) {
    if (has_markup(raw))
      return as_type(raw, items_only(raw) ? "array" : "object", nullptr, depth);
    std::string_view text = trim(raw);
    if (text.empty())
      return Arguments(std::string(raw));
    if (auto number = parse_number(text))
      return number;
    if (auto boolean = parse_boolean(text))
      return boolean;
    if (text == "null" || text == "None")
      return Arguments();
    return Arguments(decode_entities_if_escaped(raw));
  }

  bool allows_container(const json *schema, int depth) {
    const json *resolved = resolve(schema);
    if (!resolved || depth > kMaxDepth)
      return false;
    for (const json *alternative : alternatives(*resolved))
      if (allows_container(alternative, depth + 1))
        return true;
    for (const std::string &type : types_of(*resolved))
      if (type == "array" || type == "object")
        return true;
    return false;
  }

  bool allows_array(const json *schema) {
    const json *resolved = resolve(schema);
    if (!resolved)
      return false;
    std::vector<std::string> types = types_of(*resolved);
    return std::find(types.begin(), types.end(), "array") != types.end();
  }

  const json *property_schema(const json *object_schema, const std::string &key) {
    const json *resolved = resolve(object_schema);
    if (!resolved)
      return nullptr;
    if (auto properties = resolved->find("properties");
        properties != resolved->end() && properties->is_object()) {
      if (auto property = properties->find(key); property != properties->end())
        return &*property;
    }
    if (auto extra = resolved->find("additionalProperties");
        extra != resolved->end() && extra->is_object())
      return &*extra;
    return nullptr;
  }

  const json *items_schema(const json *array_schema, size_t index) {
    const json *resolved = resolve(array_schema);
    if (!resolved)
      return nullptr;
    if (auto prefix = resolved->find("prefixItems");
        prefix != resolved->end() && prefix->is_array() && index < prefix->size())
      return &(*prefix)[index];
    if (auto items = resolved->find("items"); items != resolved->end()) {
      if (items->is_object())
        return &*items;
      if (items->is_array())
        return index < items->size() ? &(*items)[index] : nullptr;
    }
    if (auto extra = resolved->find("additionalItems");
        extra != resolved->end() && extra->is_object())
      return &*extra;
    return nullptr;
  }

  std::optional<Arguments> object(std::string_view body, const json *schema, int depth) {
    auto children = parse_children(body, [&](const std::string &key) {
      return allows_container(property_schema(schema, key), depth + 1);
    });
    if (!children)
      return std::nullopt;
    // Repeated sibling tags collect into one array, in order of first appearance.
    std::vector<std::pair<std::string, std::vector<std::string_view>>> groups;
    for (const Child &child : *children) {
      auto group = std::find_if(groups.begin(), groups.end(),
                                [&](const auto &g) { return g.first == child.key; });
      if (group == groups.end()) {
        groups.push_back({child.key, {child.content}});
      } else {
        group->second.push_back(child.content);
      }
    }
    Arguments out = Arguments::object();
    for (const auto &[key, contents] : groups) {
      const json *property = property_schema(schema, key);
      if (contents.size() == 1) {
        auto typed = value(contents[0], property, depth + 1);
        if (!typed)
          return std::nullopt;
        out[key] = std::move(*typed);
        continue;
      }
      bool as_array = allows_array(property);
      Arguments list = Arguments::array();
      for (size_t i = 0; i < contents.size(); ++i) {
        auto typed = value(contents[i], as_array ? items_schema(property, i) : property, depth + 1);
        if (!typed)
          return std::nullopt;
        list.push_back(std::move(*typed));
      }
      out[key] = std::move(list);
    }
    return out;
  }

  std::optional<Arguments> array(std::string_view body, const json *schema, int depth) {
    auto children = parse_children(body, [](const std::string &) { return false; });
    if (!children || !all_items(*children))
      return std::nullopt;
    Arguments out = Arguments::array();
    for (size_t i = 0; i < children->size(); ++i) {
      auto typed = value((*children)[i].content, items_schema(schema, i), depth + 1);
      if (!typed)
        return std::nullopt;
      out.push_back(std::move(*typed));
    }
    return out;
  }

  const json &root_;
  std::deque<json> merged_; // allOf merges; a deque keeps their addresses stable
};

} // namespace

std::string decode_entities_if_escaped(std::string_view value) {
  if (value.find('&') == npos || value.find_first_of("<>") != npos)
    return std::string(value);
  std::string decoded;
  for (size_t i = 0; i < value.size();) {
    if (value[i] != '&') {
      decoded += value[i++];
      continue;
    }
    size_t length = decode_entity(value.substr(i), decoded);
    if (length == 0)
      return std::string(value); // a bare '&': the value was not escaped
    i += length;
  }
  return decoded;
}

std::optional<nlohmann::ordered_json> decode_invoke_arguments(std::string_view body,
                                                              const nlohmann::json &parameters) {
  Decoder decoder(parameters);
  return decoder.as_type(body, "object", parameters.is_object() ? &parameters : nullptr, 0);
}

} // namespace m3::chat
