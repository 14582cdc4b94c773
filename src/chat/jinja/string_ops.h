#pragma once
// Python str operations on UTF-8 text, counted in code points. Case mapping covers ASCII only.
#include <optional>
#include <string>
#include <vector>

#include "chat/jinja/value.h"

namespace m3::jinja {

std::string py_strip(const std::string &s, const std::optional<std::string> &chars, bool left,
                     bool right);
std::vector<std::string> py_split(const std::string &s, const std::optional<std::string> &sep,
                                  int64_t maxsplit);
std::vector<std::string> py_rsplit(const std::string &s, const std::optional<std::string> &sep,
                                   int64_t maxsplit);
std::vector<std::string> py_splitlines(const std::string &s, bool keepends);
std::string ascii_upper(std::string s);
std::string ascii_lower(std::string s);
std::string py_title(const std::string &s);
std::string py_capitalize(const std::string &s);
std::string py_swapcase(std::string s);
std::string py_replace(const std::string &s, const std::string &old, const std::string &replacement,
                       int64_t count);
size_t py_count(const std::string &s, const std::string &sub);
std::string py_pad(const std::string &s, const std::string &how, int64_t width,
                   const std::string &fill);
bool py_is_class(const std::string &s, const std::string &predicate); // isdigit, isalpha, ...
std::string py_format(const std::string &format,
                      const CallArgs &args); // str.format, no format specs

} // namespace m3::jinja
