#include "server/completions.h"

#include "server/api_error.h"
#include "server/generation_run.h"

namespace m3::server {
namespace {

using json = nlohmann::ordered_json;

// The legacy completions logprobs shape: parallel arrays plus text offsets.
class CompletionLogprobs {
public:
  explicit CompletionLogprobs(const Tokenizer &tokenizer) : tokenizer_(tokenizer) {}
  void add(const std::vector<GeneratedToken> &tokens, size_t &offset) {
    for (const GeneratedToken &t : tokens) {
      const std::string text = piece(t.id);
      json top = json::object();
      for (const TokenLogprob &alt : t.top_logprobs)
        top[piece(alt.token)] = alt.logprob;
      value_["tokens"].push_back(text);
      value_["token_logprobs"].push_back(t.logprob);
      value_["top_logprobs"].push_back(top);
      value_["text_offset"].push_back(offset);
      offset += text.size();
    }
  }
  json take() {
    json out = std::move(value_);
    value_ = empty();
    return out;
  }

private:
  static json empty() {
    return {{"tokens", json::array()},
            {"token_logprobs", json::array()},
            {"top_logprobs", json::array()},
            {"text_offset", json::array()}};
  }
  std::string piece(int32_t id) const {
    const int32_t ids[1] = {id};
    return tokenizer_.decode(ids);
  }
  const Tokenizer &tokenizer_;
  json value_ = empty();
};

std::string finish_name(FinishReason reason) {
  return reason == FinishReason::kLength  ? "length"
         : reason == FinishReason::kError ? "error"
                                          : "stop";
}

class CompletionRun : GenerationRun {
public:
  CompletionRun(ServerContext &ctx, CompletionRequest request, std::string echo_text,
                std::unique_ptr<TextGeneration> generation)
      : GenerationRun(ctx, request.options, std::move(generation),
                      {"cmpl-", "text_completion", "text_completion", "completions"}),
        request_(std::move(request)), echo_text_(std::move(echo_text)),
        logprobs_(ctx.model.tokenizer()) {}

  json complete(const ClientGone &client_gone) {
    std::string text = echo_text_;
    size_t offset = text.size();
    read_all(client_gone, [&](const GenerationPiece &piece) {
      text += piece.text;
      if (request_.options.logprobs)
        logprobs_.add(piece.tokens, offset);
    });
    json choice = {{"index", 0}, {"text", text}};
    choice["logprobs"] = request_.options.logprobs ? logprobs_.take() : json(nullptr);
    choice["finish_reason"] = finish_name(generation_->finish_reason());
    return response(std::move(choice));
  }

  void stream(const SseWriter &write, const ClientGone &client_gone) {
    StreamReader reader(*generation_, write, client_gone);
    bool gone = false;
    size_t offset = echo_text_.size();
    if (!echo_text_.empty())
      gone = !reader.write(sse_event(text_chunk(echo_text_, nullptr)));
    while (!gone && !generation_->finished()) {
      auto piece = reader.next(gone);
      if (!piece)
        continue;
      if (piece->text.empty() && piece->tokens.empty() && !generation_->finished())
        continue;
      json logprobs = nullptr;
      if (request_.options.logprobs) {
        logprobs_.add(piece->tokens, offset);
        logprobs = logprobs_.take();
      }
      json event = text_chunk(piece->text, logprobs);
      if (generation_->finished())
        event["choices"][0]["finish_reason"] = finish_name(generation_->finish_reason());
      gone = !reader.write(sse_event(event));
    }
    end_stream(reader, gone);
  }

private:
  json text_chunk(const std::string &text, json logprobs) const {
    return chunk({{"index", 0},
                  {"text", text},
                  {"logprobs", std::move(logprobs)},
                  {"finish_reason", nullptr}});
  }

  CompletionRequest request_;
  std::string echo_text_;
  CompletionLogprobs logprobs_;
};

} // namespace

EndpointResponse completions(ServerContext &ctx, const nlohmann::ordered_json &body) {
  CompletionRequest request = parse_completion_request(body, ctx.policy);
  check_admission(ctx, request.options.model);
  const Tokenizer &tokenizer = ctx.model.tokenizer();
  std::vector<int32_t> prompt = request.prompt_ids;
  if (prompt.empty()) {
    prompt = tokenizer.encode(request.prompt_text);
  } else {
    for (int32_t id : prompt)
      if (size_t(id) >= tokenizer.vocab_size())
        invalid_request("'prompt' token id " + std::to_string(id) + " is outside the vocabulary",
                        "prompt");
  }
  std::string echo;
  if (request.echo)
    echo = request.prompt_ids.empty() ? request.prompt_text : tokenizer.decode(prompt);
  if (request.echo && request.options.logprobs)
    invalid_request("'echo' together with 'logprobs' is not supported", "echo");
  Request engine_request = make_engine_request(ctx, std::move(prompt), request.options);
  auto generation = start_generation(ctx, std::move(engine_request), request.options);
  const bool stream = request.options.stream;
  return respond(std::make_shared<CompletionRun>(ctx, std::move(request), std::move(echo),
                                                 std::move(generation)),
                 stream);
}

} // namespace m3::server
