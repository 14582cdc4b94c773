#include "chat/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace m3::chat {

namespace {

using Json = nlohmann::ordered_json;

std::string read_file(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Json read_json(const std::filesystem::path &path) {
  try {
    return Json::parse(read_file(path));
  } catch (const Json::parse_error &e) {
    fail(path.string() + " is not valid JSON: " + e.what());
  }
}

Json normalize_part(const Json &part) {
  if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
    return part;
  const std::string type = part["type"];
  if (type == "image_url" || type == "input_image" || type == "image")
    return Json{{"type", "image"}};
  if (type == "video_url" || type == "video")
    return Json{{"type", "video"}};
  if (type == "input_audio" || type == "audio_url" || type == "audio")
    return Json{{"type", "audio"}};
  return part;
}

// One message as the template sees it: content parts normalised, `reasoning` also available as
// `reasoning_content`, tool-call arguments parsed from their JSON strings.
jinja::Value message_value(const Json &message) {
  require(message.is_object(), "each message must be a JSON object");
  require(message.contains("role") && message["role"].is_string(),
          "each message needs a string 'role'");
  jinja::Value value = jinja::Value::from_json(message);
  jinja::DictData &fields = value.mutable_dict();
  if (message.contains("content") && message["content"].is_array()) {
    std::vector<jinja::Value> parts;
    for (const auto &part : message["content"])
      parts.push_back(jinja::Value::from_json(normalize_part(part)));
    fields.set("content", jinja::Value(std::move(parts)));
  }
  if (!message.contains("reasoning_content") && message.contains("reasoning") &&
      message["reasoning"].is_string())
    fields.set("reasoning_content", jinja::Value(message["reasoning"].get<std::string>()));
  const jinja::Value *calls = fields.find("tool_calls");
  if (!calls || !calls->is_list())
    return value;
  for (const jinja::Value &call : calls->list()) {
    const jinja::Value *function = call.is_dict() ? call.dict().find("function") : nullptr;
    const jinja::Value *arguments =
        function && function->is_dict() ? function->dict().find("arguments") : nullptr;
    if (!arguments || !arguments->is_string())
      continue;
    Json parsed;
    try {
      parsed = Json::parse(arguments->str());
    } catch (const Json::parse_error &) {
      fail("tool call arguments are not valid JSON: " + arguments->str());
    }
    function->mutable_dict().set("arguments", jinja::Value::from_json(parsed));
  }
  return value;
}

std::map<std::string, std::string> special_tokens_of(const Json &tokenizer_config) {
  std::map<std::string, std::string> tokens;
  for (const char *name : {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token",
                           "cls_token", "mask_token"}) {
    if (!tokenizer_config.contains(name))
      continue;
    const Json &token = tokenizer_config[name];
    if (token.is_string())
      tokens[name] = token.get<std::string>();
    else if (token.is_object() && token.contains("content") && token["content"].is_string())
      tokens[name] = token["content"].get<std::string>();
  }
  return tokens;
}

} // namespace

ChatTemplate::ChatTemplate(const std::string &source,
                           std::map<std::string, std::string> special_tokens)
    : special_tokens_(std::move(special_tokens)) {
  templates_["default"] = std::make_shared<const jinja::Template>(source);
}

ChatTemplate ChatTemplate::builtin_m3() { return ChatTemplate(builtin_m3_template_source()); }

ChatTemplate ChatTemplate::from_model_dir(const std::string &dir) {
  namespace fs = std::filesystem;
  fs::path root(dir);
  require(fs::is_directory(root), "model directory not found: " + dir);
  std::map<std::string, std::string> tokens;
  Json config;
  if (fs::exists(root / "tokenizer_config.json")) {
    config = read_json(root / "tokenizer_config.json");
    tokens = special_tokens_of(config);
  }
  if (fs::exists(root / "chat_template.jinja"))
    return ChatTemplate(read_file(root / "chat_template.jinja"), tokens);
  if (fs::exists(root / "chat_template.json")) {
    Json processor = read_json(root / "chat_template.json");
    if (processor.contains("chat_template") && processor["chat_template"].is_string())
      return ChatTemplate(processor["chat_template"].get<std::string>(), tokens);
  }
  if (config.contains("chat_template")) {
    const Json &entry = config["chat_template"];
    if (entry.is_string())
      return ChatTemplate(entry.get<std::string>(), tokens);
    require(entry.is_array(), "tokenizer_config.json: chat_template must be a string or a list");
    ChatTemplate named;
    named.special_tokens_ = tokens;
    for (const auto &item : entry) {
      require(item.is_object() && item.contains("name") && item.contains("template"),
              "tokenizer_config.json: each named chat template needs 'name' and 'template'");
      named.templates_[item["name"].get<std::string>()] =
          std::make_shared<const jinja::Template>(item["template"].get<std::string>());
    }
    require(named.templates_.count("default") > 0,
            "tokenizer_config.json: no chat template named 'default'");
    return named;
  }
  ChatTemplate fallback = builtin_m3();
  fallback.special_tokens_ = tokens;
  return fallback;
}

std::string ChatTemplate::render(const Json &request, const RenderOptions &options) const {
  require(request.is_object(), "the chat request must be a JSON object");
  require(request.contains("messages") && request["messages"].is_array(),
          "the chat request needs a 'messages' list");
  jinja::Value vars = jinja::make_dict();
  jinja::DictData &names = vars.mutable_dict();
  for (const auto &[name, text] : special_tokens_)
    names.set(name, jinja::Value(text));
  if (request.contains("chat_template_kwargs") && !request["chat_template_kwargs"].is_null()) {
    require(request["chat_template_kwargs"].is_object(),
            "chat_template_kwargs must be a JSON object");
    for (const auto &[key, value] : request["chat_template_kwargs"].items())
      names.set(key, jinja::Value::from_json(value));
  }
  for (const auto &[key, value] : options.extra_kwargs.items())
    names.set(key, jinja::Value::from_json(value));
  std::vector<jinja::Value> messages;
  for (const auto &message : request["messages"])
    messages.push_back(message_value(message));
  names.set("messages", jinja::Value(std::move(messages)));
  bool has_tools = request.contains("tools") && !request["tools"].is_null();
  if (has_tools)
    require(request["tools"].is_array(), "'tools' must be a list");
  names.set("tools", has_tools ? jinja::Value::from_json(request["tools"]) : jinja::Value::none());
  names.set("documents", jinja::Value::none());
  bool add_generation_prompt = true;
  if (request.contains("add_generation_prompt")) {
    require(request["add_generation_prompt"].is_boolean(),
            "add_generation_prompt must be true or false");
    add_generation_prompt = request["add_generation_prompt"].get<bool>();
  }
  names.set("add_generation_prompt",
            jinja::Value(options.add_generation_prompt.value_or(add_generation_prompt)));

  auto chosen = templates_.find(has_tools && templates_.count("tool_use") ? "tool_use" : "default");
  return chosen->second->render(vars);
}

} // namespace m3::chat
