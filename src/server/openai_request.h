#pragma once
// Strict parsing of OpenAI request bodies into native types. Every field is type- and
// range-checked; unknown fields and unsupported options are 400s that name the field.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/request.h"

namespace m3::server {

struct RequestPolicy {
  bool allow_remote_images = false; // http(s) image/video URLs (then fetched with the media)
  int32_t max_stop_strings = 16;
  int32_t max_top_logprobs = 20;
};

enum class ToolChoiceKind { kAuto, kNone, kRequired, kNamed };

struct GenerationOptions {
  std::string model;
  SamplingParams sampling;       // max_tokens left 0 when the client gave none
  std::vector<std::string> stop; // stop strings
  bool stream = false;
  bool include_usage = false; // stream_options.include_usage
  bool logprobs = false;
};

struct ChatRequest {
  GenerationOptions options;
  nlohmann::ordered_json messages; // validated; tool-call arguments still JSON strings
  nlohmann::ordered_json tools;    // null or the validated array
  ToolChoiceKind tool_choice = ToolChoiceKind::kAuto;
  std::string tool_choice_name; // kNamed
  bool parallel_tool_calls = true;
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();
};

struct CompletionRequest {
  GenerationOptions options;
  std::string prompt_text;         // when the prompt is text
  std::vector<int32_t> prompt_ids; // when the prompt is token ids
  bool echo = false;
};

// The body of a request as JSON; a 400 when it is not JSON or nests arrays and objects deeper
// than kMaxJsonDepth (the code that walks such values recurses, and the stack is finite).
constexpr int kMaxJsonDepth = 64;
nlohmann::ordered_json parse_request_body(const std::string &body);

ChatRequest parse_chat_request(const nlohmann::ordered_json &body, const RequestPolicy &policy);
CompletionRequest parse_completion_request(const nlohmann::ordered_json &body,
                                           const RequestPolicy &policy);

} // namespace m3::server
