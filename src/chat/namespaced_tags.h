#pragma once
// Reading the tags of M3 tool calls: every tag is the namespace token, optional whitespace, then an
// XML-like tag, e.g. `]<]minimax[>[<invoke name="f">`, `]<]minimax[>[</city>`.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace m3::chat {

struct NamespacedTag {
  size_t begin = 0;          // offset of the namespace token
  size_t end = 0;            // one past '>'
  std::string name;          // tag name as written ("invoke", "city", "item", "parameter")
  std::string attributes;    // text after the name, e.g. ` name="f"`
  bool closing = false;      // </name>
  bool self_closing = false; // <name/>
};

enum class TagRead { kTag, kIncomplete, kNotATag };

// Reads the tag whose namespace token starts at `begin`. kIncomplete: `text` ends before the tag
// does (a streaming parser should wait); kNotATag: the token is not followed by a tag.
TagRead read_namespaced_tag(std::string_view text, size_t begin, NamespacedTag &tag);

// Value of attribute `key` (double-, single- or un-quoted), if present.
std::optional<std::string> tag_attribute(std::string_view attributes, std::string_view key);

// Offset of the namespaced tag that closes an element named `name` whose content starts at `from`,
// counting nested elements of the same name; npos if `text` has none.
struct TagSpan {
  size_t begin = std::string_view::npos;
  size_t end = std::string_view::npos;
};
TagSpan find_matching_close(std::string_view text, size_t from, std::string_view name);

} // namespace m3::chat
