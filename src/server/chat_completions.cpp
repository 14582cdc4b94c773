#include "server/chat_completions.h"

#include <memory>

#include "chat/output_parser.h"
#include "chat/reasoning_parser.h"
#include "core/error.h"
#include "server/api_error.h"
#include "server/generation_run.h"
#include "server/media.h"
#include "server/tool_call_grammar.h"

namespace m3::server {
namespace {

using json = nlohmann::ordered_json;

// The request's output parsing: reasoning (and tool calls when the request has tools and the
// server runs the tool-call parser); without parsers everything is content.
class ChatOutput {
public:
  ChatOutput(const ServerContext &ctx, const ChatRequest &request) {
    const json mode_request = {{"chat_template_kwargs", request.chat_template_kwargs}};
    const auto mode = chat::thinking_mode_of_request(nlohmann::json(mode_request));
    const bool tools = request.tools.is_array() && !request.tools.empty() &&
                       request.tool_choice != ToolChoiceKind::kNone;
    if (ctx.reasoning_parser && ctx.tool_call_parser && tools)
      full_ = std::make_unique<chat::OutputParser>(mode, nlohmann::json(request.tools));
    else if (ctx.reasoning_parser)
      reasoning_ = std::make_unique<chat::ReasoningParser>(mode);
  }
  chat::Delta feed(std::string_view text) { return convert(text, false); }
  chat::Delta finish() { return convert({}, true); }

private:
  chat::Delta convert(std::string_view text, bool at_end) {
    if (full_)
      return at_end ? full_->finish() : full_->feed(text);
    chat::Delta delta;
    if (reasoning_) {
      chat::ReasoningSplit split = at_end ? reasoning_->finish() : reasoning_->feed(text);
      delta.reasoning = std::move(split.reasoning);
      delta.content = std::move(split.content);
    } else {
      delta.content = std::string(text);
    }
    return delta;
  }
  std::unique_ptr<chat::OutputParser> full_;
  std::unique_ptr<chat::ReasoningParser> reasoning_;
};

void merge(chat::Delta &into, chat::Delta &&more) {
  into.reasoning += more.reasoning;
  into.content += more.content;
  for (auto &call : more.tool_calls)
    into.tool_calls.push_back(std::move(call));
}

std::string chat_finish_reason(FinishReason reason, bool has_tool_calls) {
  if (reason == FinishReason::kStop && has_tool_calls)
    return "tool_calls";
  if (reason == FinishReason::kLength)
    return "length";
  if (reason == FinishReason::kError)
    return "error";
  return "stop"; // also for a cancelled stream: it never reaches a reader
}

std::vector<int32_t> render_and_tokenize(ServerContext &ctx, const ChatRequest &request) {
  json render_request = {{"messages", request.messages}, {"add_generation_prompt", true}};
  if (request.tools.is_array() && request.tool_choice != ToolChoiceKind::kNone)
    render_request["tools"] = request.tools;
  render_request["chat_template_kwargs"] = request.chat_template_kwargs;
  std::string prompt;
  try {
    prompt = ctx.model.chat_template().render(render_request);
  } catch (const Error &error) {
    invalid_request(std::string("the chat template rejected the conversation: ") + error.what(),
                    "messages");
  }
  return ctx.model.tokenizer().encode(prompt);
}

std::shared_ptr<TokenConstraint> tool_constraint(ServerContext &ctx, const ChatRequest &request) {
  if (request.tool_choice != ToolChoiceKind::kRequired &&
      request.tool_choice != ToolChoiceKind::kNamed)
    return nullptr;
  ToolCallGrammarOptions options;
  options.only_function = request.tool_choice_name;
  options.parallel_calls = request.parallel_tool_calls;
  return make_tool_call_constraint(ctx.model.tokenizer(), request.tools, ctx.model.stop_token_ids(),
                                   options);
}

class ChatRun : GenerationRun {
public:
  ChatRun(ServerContext &ctx, ChatRequest request, std::unique_ptr<TextGeneration> generation)
      : GenerationRun(ctx, request.options, std::move(generation),
                      {"chatcmpl-", "chat.completion", "chat.completion.chunk", "chat"}),
        request_(std::move(request)), output_(ctx, request_) {}

  json complete(const ClientGone &client_gone) {
    chat::Delta all;
    std::vector<GeneratedToken> tokens;
    read_all(client_gone, [&](const GenerationPiece &piece) {
      merge(all, output_.feed(piece.text));
      tokens.insert(tokens.end(), piece.tokens.begin(), piece.tokens.end());
    });
    merge(all, output_.finish());
    json message = {{"role", "assistant"}};
    message["content"] =
        all.content.empty() && !all.tool_calls.empty() ? json(nullptr) : json(all.content);
    if (!all.reasoning.empty())
      message["reasoning_content"] = all.reasoning;
    if (!all.tool_calls.empty())
      message["tool_calls"] = tool_calls_json(all.tool_calls);
    json choice = {{"index", 0}, {"message", message}};
    choice["logprobs"] = request_.options.logprobs
                             ? json{{"content", chat_logprobs(ctx_.model.tokenizer(), tokens)}}
                             : json(nullptr);
    choice["finish_reason"] =
        chat_finish_reason(generation_->finish_reason(), !all.tool_calls.empty());
    return response(std::move(choice));
  }

  void stream(const SseWriter &write, const ClientGone &client_gone) {
    StreamReader reader(*generation_, write, client_gone);
    bool gone = !reader.write(sse_event(delta_chunk(json{{"role", "assistant"}, {"content", ""}})));
    bool any_tool_call = false;
    while (!gone && !generation_->finished()) {
      auto piece = reader.next(gone);
      if (!piece)
        continue;
      chat::Delta delta = output_.feed(piece->text);
      if (piece->finish != FinishReason::kNone)
        merge(delta, output_.finish());
      any_tool_call = any_tool_call || !delta.tool_calls.empty();
      json fields = json::object();
      if (!delta.reasoning.empty())
        fields["reasoning_content"] = delta.reasoning;
      if (!delta.content.empty())
        fields["content"] = delta.content;
      if (!delta.tool_calls.empty()) {
        json calls = json::array();
        for (const auto &call : delta.tool_calls)
          calls.push_back(call.to_openai());
        fields["tool_calls"] = calls;
      }
      const bool with_logprobs = request_.options.logprobs && !piece->tokens.empty();
      if (!fields.empty() || with_logprobs) {
        json event = delta_chunk(fields);
        if (with_logprobs)
          event["choices"][0]["logprobs"] = {
              {"content", chat_logprobs(ctx_.model.tokenizer(), piece->tokens)}};
        gone = !reader.write(sse_event(event));
      }
    }
    if (!gone) {
      json last = delta_chunk(json::object());
      last["choices"][0]["finish_reason"] =
          chat_finish_reason(generation_->finish_reason(), any_tool_call);
      gone = !reader.write(sse_event(last));
    }
    end_stream(reader, gone);
  }

private:
  json delta_chunk(json delta) const {
    return chunk({{"index", 0},
                  {"delta", std::move(delta)},
                  {"logprobs", nullptr},
                  {"finish_reason", nullptr}});
  }
  static json tool_calls_json(const std::vector<chat::ToolCallDelta> &deltas) {
    // Non-streaming: merge the per-call deltas (first carries id and name) into whole calls.
    json calls = json::array();
    for (const auto &d : deltas) {
      while (int(calls.size()) <= d.index)
        calls.push_back(
            {{"id", ""}, {"type", "function"}, {"function", {{"name", ""}, {"arguments", ""}}}});
      json &call = calls[d.index];
      if (!d.id.empty())
        call["id"] = d.id;
      if (!d.name.empty())
        call["function"]["name"] = d.name;
      call["function"]["arguments"] =
          call["function"]["arguments"].get<std::string>() + d.arguments;
    }
    return calls;
  }

  ChatRequest request_;
  ChatOutput output_;
};

} // namespace

EndpointResponse chat_completions(ServerContext &ctx, const nlohmann::ordered_json &body) {
  ChatRequest request = parse_chat_request(body, ctx.policy);
  check_admission(ctx, request.options.model);
  const std::vector<int32_t> template_ids = render_and_tokenize(ctx, request);
  const std::vector<vision::MediaInput> media = load_request_media(ctx, request.messages);
  Request engine_request = make_engine_request(
      ctx, expand_media_placeholders(ctx, template_ids, media), request.options);
  engine_request.embeddings = media_features(ctx, engine_request.prompt, media);
  engine_request.constraint = tool_constraint(ctx, request);
  auto generation = start_generation(ctx, std::move(engine_request), request.options);
  const bool stream = request.options.stream;
  return respond(std::make_shared<ChatRun>(ctx, std::move(request), std::move(generation)), stream);
}

} // namespace m3::server
