#pragma once
// Jinja2's builtin filters, tests, attribute/item access and the Python methods templates call.
#include <string>

#include "chat/jinja/context.h"
#include "chat/jinja/value.h"

namespace m3::jinja {

using FilterFn = Value (*)(Context &ctx, const Value &input, const CallArgs &args);
using TestFn = bool (*)(Context &ctx, const Value &input, const CallArgs &args);

FilterFn find_filter(const std::string &name); // nullptr when unknown
TestFn find_test(const std::string &name);     // nullptr when unknown
Value apply_filter(Context &ctx, const std::string &name, const Value &input, const CallArgs &args);
bool apply_test(Context &ctx, const std::string &name, const Value &input, const CallArgs &args);

// `obj.name` and `obj[key]` as Jinja's sandbox resolves them (methods win for `.`, keys for `[]`).
Value get_attribute(const Value &object, const std::string &name);
Value get_item(const Value &object, const Value &key);
Value call_value(const Value &callee, CallArgs &args);
// Python's `item in container`.
bool contains(const Value &container, const Value &item);
[[noreturn]] void fail_undefined(const Value &undefined);
// HTML escaping as markupsafe does it (& < > " ').
std::string html_escape(const std::string &text);

} // namespace m3::jinja
