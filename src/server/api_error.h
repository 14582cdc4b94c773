#pragma once
// An error the API reports to the client as OpenAI error JSON with an HTTP status.
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace m3::server {

struct ApiError : std::runtime_error {
  ApiError(int status, std::string type, const std::string &message, std::string param = "")
      : std::runtime_error(message), status(status), type(std::move(type)),
        param(std::move(param)) {}
  int status;
  std::string type;  // invalid_request_error, authentication_error, not_found_error, ...
  std::string param; // the offending field, when there is one

  nlohmann::json to_json() const {
    return {{"error",
             {{"message", what()},
              {"type", type},
              {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
              {"code", status}}}};
  }
};

[[noreturn]] inline void invalid_request(const std::string &message,
                                         const std::string &param = "") {
  throw ApiError(400, "invalid_request_error", message, param);
}

} // namespace m3::server
