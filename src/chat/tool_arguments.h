#pragma once
// Turns the body of one M3 invoke (`]<]minimax[>[<city>Paris]<]minimax[>[</city>...`) into the
// call's JSON arguments, typed by the tool's JSON schema.
//
// Structure: each child element is one key (the tag is the name; M2-style
// `<parameter name="k">` is accepted too); children all named `item` form an array; repeated
// sibling tags form an array; pretty-print whitespace between tags is ignored, and so is stray
// text between elements (later elements still count). Leaf values are kept byte for byte.
//
// Typing by schema (after resolving local $ref and merging allOf): string leaves stay strings
// ("007", "3", even text holding tags); integer/number/boolean/null are converted when the text
// fits; empty elements become [] / {} for array / object schemas, and so does an array/object
// element whose close tag is missing; anyOf/oneOf and type lists pick the alternative that fits
// (a plain-text value prefers string, a value made of elements prefers array/object);
// properties, additionalProperties, items and prefixItems type the children. Without a schema,
// numbers (strict JSON syntax, so "007" stays a string), true/false/True/False and null/None are
// inferred.
//
// Entities: the official template never escapes, so values are data as written. Only a value
// that is consistently escaped (contains entities, no raw '<' or '>', every '&' starts an
// entity) is decoded: &lt; &gt; &amp; &quot; &apos; and numeric references.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace m3::chat {

// `parameters` is the tool's "parameters" schema, or null for an unknown tool. nullopt when the
// body is malformed (mismatched or unclosed tags that the schema cannot explain).
// Keys keep the order the model wrote them in.
std::optional<nlohmann::ordered_json> decode_invoke_arguments(std::string_view body,
                                                              const nlohmann::json &parameters);

// The entity policy above, exposed for tests.
std::string decode_entities_if_escaped(std::string_view value);

} // namespace m3::chat
