#include "chat/namespaced_tags.h"

#include "chat/markers.h"

namespace m3::chat {

namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

size_t skip_spaces(std::string_view text, size_t pos) {
  while (pos < text.size() && is_space(text[pos]))
    ++pos;
  return pos;
}

} // namespace

TagRead read_namespaced_tag(std::string_view text, size_t begin, NamespacedTag &tag) {
  size_t pos = begin + kToolNamespace.size();
  pos = skip_spaces(text, pos);
  if (pos >= text.size())
    return TagRead::kIncomplete;
  if (text[pos] != '<')
    return TagRead::kNotATag;
  ++pos;
  // A tag never spans a '<' or another namespace token; '>' ends it.
  size_t close = text.find_first_of("<>", pos);
  size_t next_token = text.find(kToolNamespace, pos);
  if (close == std::string_view::npos || text[close] == '<' || next_token < close)
    return close == std::string_view::npos && next_token == std::string_view::npos
               ? TagRead::kIncomplete
               : TagRead::kNotATag;
  std::string_view inner = text.substr(pos, close - pos);
  tag = NamespacedTag{};
  tag.begin = begin;
  tag.end = close + 1;
  if (inner.starts_with('/')) {
    tag.closing = true;
    inner.remove_prefix(1);
  } else if (inner.ends_with('/')) {
    tag.self_closing = true;
    inner.remove_suffix(1);
  }
  size_t name_end = 0;
  while (name_end < inner.size() && !is_space(inner[name_end]))
    ++name_end;
  if (name_end == 0)
    return TagRead::kNotATag;
  tag.name = std::string(inner.substr(0, name_end));
  tag.attributes = std::string(inner.substr(name_end));
  if (tag.closing && tag.attributes.find_first_not_of(" \n\t\r") != std::string::npos)
    return TagRead::kNotATag;
  return TagRead::kTag;
}

std::optional<std::string> tag_attribute(std::string_view attributes, std::string_view key) {
  size_t pos = 0;
  while (true) {
    pos = attributes.find(key, pos);
    if (pos == std::string_view::npos)
      return std::nullopt;
    bool starts_word = pos == 0 || is_space(attributes[pos - 1]);
    size_t after = skip_spaces(attributes, pos + key.size());
    if (!starts_word || after >= attributes.size() || attributes[after] != '=') {
      pos += key.size();
      continue;
    }
    size_t value = skip_spaces(attributes, after + 1);
    if (value >= attributes.size())
      return std::nullopt;
    char quote = attributes[value];
    if (quote == '"' || quote == '\'') {
      size_t end = attributes.find(quote, value + 1);
      if (end == std::string_view::npos)
        return std::nullopt;
      return std::string(attributes.substr(value + 1, end - value - 1));
    }
    size_t end = value;
    while (end < attributes.size() && !is_space(attributes[end]))
      ++end;
    return std::string(attributes.substr(value, end - value));
  }
}

TagSpan find_matching_close(std::string_view text, size_t from, std::string_view name) {
  int depth = 1;
  size_t pos = from;
  while (true) {
    size_t token = text.find(kToolNamespace, pos);
    if (token == std::string_view::npos)
      return {};
    NamespacedTag tag;
    if (read_namespaced_tag(text, token, tag) != TagRead::kTag) {
      pos = token + kToolNamespace.size();
      continue;
    }
    if (tag.name == name && !tag.self_closing) {
      depth += tag.closing ? -1 : 1;
      if (depth == 0)
        return {tag.begin, tag.end};
    }
    pos = tag.end;
  }
}

} // namespace m3::chat
