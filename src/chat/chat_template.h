#pragma once
// Renders OpenAI chat requests into prompts with a model's Jinja chat template, the way
// HF transformers' apply_chat_template does under vLLM:
//   - variables: messages, tools (None when absent), documents (None), add_generation_prompt,
//     the special tokens of tokenizer_config.json (bos_token, eos_token, ...), and every key of
//     the request's chat_template_kwargs (e.g. thinking_mode);
//   - assistant tool_calls[].function.arguments given as JSON strings are parsed to objects;
//   - content parts are normalised: text -> {type: text, text}, image_url -> {type: image},
//     video_url -> {type: video}; string content stays a string.
// Pass requests as nlohmann::ordered_json so key order (and so `tojson` output) is preserved.
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "chat/jinja/template.h"

namespace m3::chat {

struct RenderOptions {
  std::optional<bool> add_generation_prompt; // overrides the request's (default true)
  nlohmann::ordered_json extra_kwargs =
      nlohmann::ordered_json::object(); // merged after chat_template_kwargs
};

class ChatTemplate {
public:
  // One template source; `special_tokens` maps names like "bos_token" to their strings.
  explicit ChatTemplate(const std::string &source,
                        std::map<std::string, std::string> special_tokens = {});

  // chat_template.jinja, else chat_template.json, else tokenizer_config.json's chat_template
  // (a string, or a list of named templates: "default", and "tool_use" when tools are given);
  // the built-in M3 template when the checkpoint has none.
  static ChatTemplate from_model_dir(const std::string &dir);
  // Our own M3 template, byte-identical in output to the official one.
  static ChatTemplate builtin_m3();

  // `request` holds messages, optional tools, add_generation_prompt and chat_template_kwargs.
  std::string render(const nlohmann::ordered_json &request,
                     const RenderOptions &options = {}) const;

private:
  ChatTemplate() = default;
  std::map<std::string, std::shared_ptr<const jinja::Template>> templates_; // by name
  std::map<std::string, std::string> special_tokens_;
};

// The built-in M3 template's source.
const std::string &builtin_m3_template_source();

} // namespace m3::chat
