#include "server/openai_request.h"

#include <cmath>
#include <set>

#include "server/api_error.h"
#include "server/media.h"

namespace m3::server {
namespace {

using json = nlohmann::ordered_json;

std::string type_name(const json &value) {
  if (value.is_boolean())
    return "a boolean";
  if (value.is_number())
    return "a number";
  if (value.is_string())
    return "a string";
  if (value.is_array())
    return "an array";
  if (value.is_object())
    return "an object";
  return "null";
}

// Typed, range-checked access to the fields of one JSON object (path names it in messages).
class Fields {
public:
  Fields(const json &object, std::string path) : object_(object), path_(std::move(path)) {
    if (!object_.is_object())
      invalid_request((path_.empty() ? "the body" : "'" + path_ + "'") +
                          " must be an object, got " + type_name(object_),
                      path_);
  }
  std::string where(const std::string &key) const {
    return path_.empty() ? key : key.empty() ? path_ : path_ + "." + key;
  }
  // Null counts as absent, as in the OpenAI API.
  const json *get(const std::string &key) const {
    auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }
  [[noreturn]] void wrong_type(const std::string &key, const std::string &expected) const {
    invalid_request("'" + where(key) + "' must be " + expected + ", got " +
                        type_name(object_.at(key)),
                    where(key));
  }
  std::optional<double> number(const std::string &key, double lo, double hi) const {
    const json *v = get(key);
    if (!v)
      return std::nullopt;
    if (!v->is_number())
      wrong_type(key, "a number");
    double x = v->get<double>();
    if (!(x >= lo && x <= hi))
      invalid_request("'" + where(key) + "' must be between " + format(lo) + " and " + format(hi) +
                          ", got " + format(x),
                      where(key));
    return x;
  }
  std::optional<int64_t> integer(const std::string &key, int64_t lo, int64_t hi) const {
    const json *v = get(key);
    if (!v)
      return std::nullopt;
    if (!v->is_number_integer() &&
        !(v->is_number_float() && std::floor(v->get<double>()) == v->get<double>()))
      wrong_type(key, "an integer");
    auto out_of_range = [&](const std::string &got) {
      invalid_request("'" + where(key) + "' must be between " + std::to_string(lo) + " and " +
                          std::to_string(hi) + ", got " + got,
                      where(key));
    };
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX))
      out_of_range(v->dump());
    if (v->is_number_float()) { // 1e20, or an integer too long for 64 bits
      const double d = v->get<double>();
      if (d < double(lo) || d > double(hi))
        out_of_range(v->dump());
      if (std::fabs(d) >= 9e15)
        wrong_type(key, "an integer (floats are exact only below 2^53)");
    }
    const int64_t x = v->is_number_float() ? int64_t(v->get<double>()) : v->get<int64_t>();
    if (x < lo || x > hi)
      out_of_range(std::to_string(x));
    return x;
  }
  std::optional<bool> boolean(const std::string &key) const {
    const json *v = get(key);
    if (!v)
      return std::nullopt;
    if (!v->is_boolean())
      wrong_type(key, "a boolean");
    return v->get<bool>();
  }
  std::optional<std::string> string(const std::string &key) const {
    const json *v = get(key);
    if (!v)
      return std::nullopt;
    if (!v->is_string())
      wrong_type(key, "a string");
    return v->get<std::string>();
  }
  std::string required_string(const std::string &key) const {
    auto s = string(key);
    if (!s)
      invalid_request("'" + where(key) + "' is required", where(key));
    return *s;
  }
  void only(const std::set<std::string> &allowed, const std::set<std::string> &also = {}) const {
    for (const auto &[key, value] : object_.items())
      if (!allowed.count(key) && !also.count(key))
        invalid_request("unrecognized field '" + where(key) + "'", where(key));
  }

private:
  static std::string format(double x) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", x);
    return buffer;
  }
  const json &object_;
  std::string path_;
};

// The fields parse_generation reads (chat and completions share them; `logprobs` is listed here but
// each endpoint reads it in its own shape).
const std::set<std::string> kGenerationFields = {"model",
                                                 "max_tokens",
                                                 "temperature",
                                                 "top_p",
                                                 "top_k",
                                                 "min_p",
                                                 "seed",
                                                 "presence_penalty",
                                                 "frequency_penalty",
                                                 "repetition_penalty",
                                                 "stop",
                                                 "stream",
                                                 "stream_options",
                                                 "logprobs",
                                                 "n",
                                                 "user",
                                                 "ignore_eos",
                                                 "logit_bias"};

// Options shared by chat and completions; first rejects any field that is neither one of them nor
// one of the endpoint's own.
GenerationOptions parse_generation(const Fields &f, const RequestPolicy &policy,
                                   const std::set<std::string> &endpoint_fields) {
  f.only(kGenerationFields, endpoint_fields);
  GenerationOptions o;
  o.model = f.required_string("model");
  SamplingParams &s = o.sampling;
  s.max_tokens = 0;
  if (auto v = f.integer("max_tokens", 1, INT32_MAX))
    s.max_tokens = int32_t(*v);
  if (auto v = f.number("temperature", 0.0, 2.0))
    s.temperature = float(*v);
  if (auto v = f.number("top_p", 0.0, 1.0)) {
    if (*v <= 0.0)
      invalid_request("'top_p' must be greater than 0", "top_p");
    s.top_p = float(*v);
  }
  if (auto v = f.integer("top_k", -1, INT32_MAX))
    s.top_k = *v < 0 ? 0 : int32_t(*v);
  if (auto v = f.number("min_p", 0.0, 1.0))
    s.min_p = float(*v);
  if (auto v = f.integer("seed", INT64_MIN, INT64_MAX))
    s.seed = uint64_t(*v);
  if (auto v = f.number("presence_penalty", -2.0, 2.0))
    s.presence_penalty = float(*v);
  if (auto v = f.number("frequency_penalty", -2.0, 2.0))
    s.frequency_penalty = float(*v);
  if (auto v = f.number("repetition_penalty", 0.0, 10.0)) {
    if (*v <= 0.0)
      invalid_request("'repetition_penalty' must be greater than 0", "repetition_penalty");
    s.repetition_penalty = float(*v);
  }
  if (auto v = f.boolean("ignore_eos"))
    s.ignore_eos = *v;
  if (f.integer("n", 1, INT32_MAX).value_or(1) != 1)
    invalid_request("'n' must be 1 (several choices per request are not supported)", "n");
  if (const json *stop = f.get("stop")) {
    if (stop->is_string()) {
      o.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
      if (int32_t(stop->size()) > policy.max_stop_strings)
        invalid_request(
            "'stop' has more than " + std::to_string(policy.max_stop_strings) + " strings", "stop");
      for (const json &item : *stop) {
        if (!item.is_string())
          invalid_request("'stop' must hold strings", "stop");
        o.stop.push_back(item.get<std::string>());
      }
    } else {
      f.wrong_type("stop", "a string or an array of strings");
    }
    for (const auto &text : o.stop)
      if (text.empty())
        invalid_request("'stop' strings must not be empty", "stop");
  }
  if (auto v = f.boolean("stream"))
    o.stream = *v;
  if (const json *options = f.get("stream_options")) {
    if (!o.stream)
      invalid_request("'stream_options' is only allowed when 'stream' is true", "stream_options");
    Fields so(*options, "stream_options");
    so.only({"include_usage", "continuous_usage_stats"});
    if (auto v = so.boolean("include_usage"))
      o.include_usage = *v;
    if (so.boolean("continuous_usage_stats").value_or(false))
      invalid_request("'stream_options.continuous_usage_stats' is not supported", "stream_options");
  }
  if (const json *bias = f.get("logit_bias")) {
    if (!bias->is_object())
      f.wrong_type("logit_bias", "an object");
    if (!bias->empty())
      invalid_request("'logit_bias' is not supported", "logit_bias");
  }
  f.string("user");
  return o;
}

void check_data_url(const std::string &url, const std::string &where, const RequestPolicy &policy) {
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
    if (!policy.allow_remote_images)
      invalid_request("'" + where +
                          "': remote media URLs are not allowed on this server (send a "
                          "base64 data URL, or start the server with --allow-remote-media)",
                      where);
    return;
  }
  std::string error = validate_media_data_url(url);
  if (!error.empty())
    invalid_request("'" + where + "': " + error, where);
}

void check_content(const json &content, const std::string &where, bool media_allowed,
                   const RequestPolicy &policy) {
  if (content.is_string())
    return;
  if (!content.is_array())
    invalid_request("'" + where + "' must be a string or an array of content parts", where);
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    Fields part(content[i], at);
    const std::string type = part.required_string("type");
    if (type == "text") {
      part.only({"type", "text"});
      part.required_string("text");
    } else if (type == "image_url" || type == "video_url") {
      if (!media_allowed)
        invalid_request("'" + at + "': " + type + " parts are not allowed here", at);
      part.only({"type", type});
      const json *media = part.get(type);
      if (!media)
        invalid_request("'" + at + "." + type + "' is required", at);
      Fields m(*media, at + "." + type);
      m.only({"url", "detail", "fps"});
      check_data_url(m.required_string("url"), at + "." + type + ".url", policy);
      if (auto detail = m.string("detail"))
        if (*detail != "auto" && *detail != "low" && *detail != "high")
          invalid_request("'" + at + "." + type + ".detail' must be auto, low or high", at);
      m.number("fps", 0.0, 120.0);
    } else {
      invalid_request("'" + at + ".type' must be text, image_url or video_url, got '" + type + "'",
                      at);
    }
  }
}

void check_tool_calls(const json &calls, const std::string &where) {
  if (!calls.is_array())
    invalid_request("'" + where + "' must be an array", where);
  for (size_t i = 0; i < calls.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    Fields call(calls[i], at);
    call.only({"id", "type", "function", "index"});
    if (call.string("type").value_or("function") != "function")
      invalid_request("'" + at + ".type' must be function", at);
    const json *fn = call.get("function");
    if (!fn)
      invalid_request("'" + at + ".function' is required", at);
    Fields function(*fn, at + ".function");
    function.only({"name", "arguments"});
    function.required_string("name");
    const std::string arguments = function.string("arguments").value_or("{}");
    json parsed = json::parse(arguments, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
      invalid_request("'" + at + ".function.arguments' must be a JSON object string", at);
  }
}

void check_messages(const json &messages, const RequestPolicy &policy) {
  if (!messages.is_array())
    invalid_request("'messages' must be an array", "messages");
  if (messages.empty())
    invalid_request("'messages' must not be empty", "messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    Fields m(messages[i], at);
    const std::string role = m.required_string("role");
    m.only({"role", "content", "name", "tool_calls", "tool_call_id", "reasoning_content",
            "reasoning"});
    m.string("name");
    const json *content = m.get("content");
    if (role == "assistant") {
      if (content)
        check_content(*content, at + ".content", false, policy);
      if (const json *calls = m.get("tool_calls"))
        check_tool_calls(*calls, at + ".tool_calls");
      m.string("reasoning_content");
      m.string("reasoning");
      continue;
    }
    if (role != "system" && role != "developer" && role != "root" && role != "user" &&
        role != "tool")
      invalid_request("'" + at +
                          ".role' must be system, developer, root, user, assistant or tool, "
                          "got '" +
                          role + "'",
                      at + ".role");
    if (m.get("tool_calls"))
      invalid_request("'" + at + ".tool_calls' is only allowed for assistant", at);
    if (!content)
      invalid_request("'" + at + ".content' is required", at + ".content");
    check_content(*content, at + ".content", role == "user" || role == "system" || role == "tool",
                  policy);
    if (role == "tool")
      m.string("tool_call_id");
  }
}

json check_tools(const json &tools) {
  if (!tools.is_array())
    invalid_request("'tools' must be an array", "tools");
  std::set<std::string> names;
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string at = "tools[" + std::to_string(i) + "]";
    Fields tool(tools[i], at);
    tool.only({"type", "function"});
    if (tool.required_string("type") != "function")
      invalid_request("'" + at + ".type' must be function", at);
    const json *fn = tool.get("function");
    if (!fn)
      invalid_request("'" + at + ".function' is required", at);
    Fields function(*fn, at + ".function");
    function.only({"name", "description", "parameters", "strict"});
    const std::string name = function.required_string("name");
    bool ok = !name.empty() && name.size() <= 64;
    for (char c : name)
      ok = ok && (std::isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.');
    if (!ok)
      invalid_request("'" + at + ".function.name' must be 1-64 letters, digits, '_', '-' or '.'",
                      at);
    if (!names.insert(name).second)
      invalid_request("duplicate tool name '" + name + "'", at);
    function.string("description");
    function.boolean("strict");
    if (const json *params = function.get("parameters"))
      if (!params->is_object())
        function.wrong_type("parameters", "a JSON schema object");
  }
  return tools;
}

} // namespace

json parse_request_body(const std::string &body) {
  auto limit_depth = [](int depth, json::parse_event_t event, json &) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth)
      invalid_request("the body nests arrays and objects more than " +
                      std::to_string(kMaxJsonDepth) + " levels deep");
    return true;
  };
  try {
    return json::parse(body, limit_depth);
  } catch (const json::exception &error) { // syntax, or a number beyond double's range
    invalid_request(std::string("the body is not valid JSON: ") + error.what());
  }
}

ChatRequest parse_chat_request(const json &body, const RequestPolicy &policy) {
  Fields f(body, "");
  ChatRequest r;
  r.options = parse_generation(f, policy,
                               {"messages", "max_completion_tokens", "top_logprobs", "tools",
                                "tool_choice", "parallel_tool_calls", "chat_template_kwargs",
                                "response_format", "thinking", "metadata", "store"});
  if (auto v = f.integer("max_completion_tokens", 1, INT32_MAX))
    r.options.sampling.max_tokens = int32_t(*v);
  if (!f.get("messages"))
    invalid_request("'messages' is required", "messages");
  check_messages(body["messages"], policy);
  r.messages = body["messages"];
  if (auto v = f.boolean("logprobs"))
    r.options.logprobs = *v;
  if (auto v = f.integer("top_logprobs", 0, policy.max_top_logprobs)) {
    if (!r.options.logprobs)
      invalid_request("'top_logprobs' requires 'logprobs': true", "top_logprobs");
    r.options.sampling.top_logprobs = int32_t(*v);
  }
  if (r.options.logprobs && r.options.sampling.top_logprobs < 0)
    r.options.sampling.top_logprobs = 0;
  if (const json *tools = f.get("tools"))
    r.tools = check_tools(*tools);
  if (const json *choice = f.get("tool_choice")) {
    if (choice->is_string()) {
      const std::string c = choice->get<std::string>();
      if (c == "auto")
        r.tool_choice = ToolChoiceKind::kAuto;
      else if (c == "none")
        r.tool_choice = ToolChoiceKind::kNone;
      else if (c == "required")
        r.tool_choice = ToolChoiceKind::kRequired;
      else
        invalid_request("'tool_choice' must be none, auto, required or a named function",
                        "tool_choice");
    } else {
      if (!choice->is_object())
        f.wrong_type("tool_choice", "a string or an object");
      Fields named(*choice, "tool_choice");
      named.only({"type", "function"});
      if (named.required_string("type") != "function")
        invalid_request("'tool_choice.type' must be function", "tool_choice");
      const json *fn = named.get("function");
      if (!fn)
        invalid_request("'tool_choice.function' is required", "tool_choice");
      Fields function(*fn, "tool_choice.function");
      function.only({"name"});
      r.tool_choice = ToolChoiceKind::kNamed;
      r.tool_choice_name = function.required_string("name");
      bool found = false;
      if (r.tools.is_array())
        for (const json &tool : r.tools)
          found = found || tool["function"]["name"] == r.tool_choice_name;
      if (!found)
        invalid_request("'tool_choice' names function '" + r.tool_choice_name +
                            "', which is not in 'tools'",
                        "tool_choice");
    }
    if ((r.tool_choice == ToolChoiceKind::kRequired) && (!r.tools.is_array() || r.tools.empty()))
      invalid_request("'tool_choice' required needs at least one tool in 'tools'", "tool_choice");
  }
  if (auto v = f.boolean("parallel_tool_calls"))
    r.parallel_tool_calls = *v;
  if (const json *kwargs = f.get("chat_template_kwargs")) {
    if (!kwargs->is_object())
      f.wrong_type("chat_template_kwargs", "an object");
    r.chat_template_kwargs = *kwargs;
    if (kwargs->contains("thinking_mode")) {
      const json &mode = (*kwargs)["thinking_mode"];
      if (!mode.is_string() || (mode != "enabled" && mode != "disabled" && mode != "adaptive"))
        invalid_request(
            "'chat_template_kwargs.thinking_mode' must be enabled, disabled or adaptive",
            "chat_template_kwargs");
    }
  }
  // MiniMax API style: thinking: {type: enabled | adaptive | disabled}.
  if (const json *thinking = f.get("thinking")) {
    Fields t(*thinking, "thinking");
    t.only({"type", "budget_tokens"});
    const std::string type = t.required_string("type");
    if (type != "enabled" && type != "disabled" && type != "adaptive")
      invalid_request("'thinking.type' must be enabled, disabled or adaptive", "thinking");
    t.integer("budget_tokens", 0, INT32_MAX);
    if (!r.chat_template_kwargs.contains("thinking_mode"))
      r.chat_template_kwargs["thinking_mode"] = type;
  }
  if (const json *format = f.get("response_format")) {
    Fields rf(*format, "response_format");
    if (rf.required_string("type") != "text")
      invalid_request("'response_format' other than text is not supported", "response_format");
  }
  if (const json *metadata = f.get("metadata"))
    if (!metadata->is_object())
      f.wrong_type("metadata", "an object");
  f.boolean("store");
  return r;
}

CompletionRequest parse_completion_request(const json &body, const RequestPolicy &policy) {
  Fields f(body, "");
  CompletionRequest r;
  r.options = parse_generation(f, policy, {"prompt", "echo", "best_of", "suffix"});
  if (r.options.sampling.max_tokens == 0)
    r.options.sampling.max_tokens = 16; // OpenAI default
  const json *prompt = f.get("prompt");
  if (!prompt)
    invalid_request("'prompt' is required", "prompt");
  if (prompt->is_string()) {
    r.prompt_text = prompt->get<std::string>();
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number()) {
    for (const json &id : *prompt) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
        invalid_request("'prompt' token ids must be non-negative integers", "prompt");
      r.prompt_ids.push_back(id.get<int32_t>());
    }
  } else if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    r.prompt_text = (*prompt)[0].get<std::string>();
  } else {
    invalid_request("'prompt' must be a string, one string in an array, or an array of token ids "
                    "(batched prompts are not supported)",
                    "prompt");
  }
  if (auto v = f.integer("logprobs", 0, policy.max_top_logprobs)) {
    r.options.logprobs = true;
    r.options.sampling.top_logprobs = int32_t(*v);
  }
  if (auto v = f.boolean("echo"))
    r.echo = *v;
  if (f.integer("best_of", 1, INT32_MAX).value_or(1) != 1)
    invalid_request("'best_of' must be 1", "best_of");
  if (f.get("suffix"))
    invalid_request("'suffix' is not supported", "suffix");
  return r;
}

} // namespace m3::server
