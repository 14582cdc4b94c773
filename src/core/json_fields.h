#pragma once
// Typed, validated reads of a JSON object's fields for config files: absent and null keys take
// the fallback; a value of the wrong type is an m3::Error naming the key with its path.
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"

namespace m3 {

// One JSON object; messages name a key with its path prefix ("text_config.x").
class JsonFields {
public:
  JsonFields(const nlohmann::json &object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}

  bool has(const std::string &key) const {
    return object_.contains(key) && !object_.at(key).is_null();
  }
  bool is_null(const std::string &key) const {
    return object_.contains(key) && object_.at(key).is_null();
  }
  std::string name(const std::string &key) const { return "'" + prefix_ + key + "'"; }
  const nlohmann::json &at(const std::string &key) const { return object_.at(key); }

  int64_t integer(const std::string &key, int64_t fallback) const {
    if (!has(key))
      return fallback;
    const nlohmann::json &value = at(key);
    if (value.is_number_integer())
      return value.get<int64_t>();
    if (value.is_number_float()) {
      const double number = value.get<double>();
      if (std::fabs(number) < 1e15 && std::trunc(number) == number)
        return int64_t(number);
    }
    fail(name(key) + " must be an integer, got " + value.dump());
  }
  double number(const std::string &key, double fallback) const {
    if (!has(key))
      return fallback;
    require(at(key).is_number(), name(key) + " must be a number, got " + at(key).dump());
    const double number = at(key).get<double>();
    // Within float range: several values are stored as float.
    require(std::isfinite(number) && std::fabs(number) < 1e30,
            name(key) + " = " + at(key).dump() + " is out of range");
    return number;
  }
  bool boolean(const std::string &key, bool fallback) const {
    if (!has(key))
      return fallback;
    require(at(key).is_boolean(), name(key) + " must be true or false, got " + at(key).dump());
    return at(key).get<bool>();
  }
  std::string text(const std::string &key, const std::string &fallback) const {
    if (!has(key))
      return fallback;
    require(at(key).is_string(), name(key) + " must be a string, got " + at(key).dump());
    return at(key).get<std::string>();
  }
  std::vector<std::string> strings(const std::string &key) const {
    require(at(key).is_array(), name(key) + " must be a list of strings");
    std::vector<std::string> out;
    for (const auto &item : at(key)) {
      require(item.is_string(), name(key) + " must be a list of strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  std::vector<int64_t> integers(const std::string &key) const {
    require(at(key).is_array(), name(key) + " must be a list of integers");
    std::vector<int64_t> out;
    for (const auto &item : at(key)) {
      require(item.is_number_integer(), name(key) + " must be a list of integers");
      out.push_back(item.get<int64_t>());
    }
    return out;
  }
  // Fails unless the key is absent or holds the one value transformers implements.
  template <typename T>
  void expect(const std::string &key, const T &supported, const std::string &why) const {
    if (!has(key))
      return;
    bool same = false;
    try {
      same = at(key).get<T>() == supported;
    } catch (const nlohmann::json::exception &) {
    }
    require(same, name(key) + " = " + at(key).dump() + " is not supported (" + why + ")");
  }

private:
  const nlohmann::json &object_;
  std::string prefix_;
};

} // namespace m3
