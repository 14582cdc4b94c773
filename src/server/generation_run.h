#pragma once
// What the chat and completions runs share: the generation with its id and creation time, the
// OpenAI response envelope, and the ends of a non-streaming and of a streaming answer.
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "server/server_context.h"

namespace m3::server {

// The names one endpoint uses in its responses and its log line.
struct RunNames {
  const char *id_prefix;    // "chatcmpl-"
  const char *object;       // "chat.completion"
  const char *chunk_object; // "chat.completion.chunk"
  const char *endpoint;     // "chat" (log line)
};

class GenerationRun {
protected:
  GenerationRun(ServerContext &ctx, const GenerationOptions &options,
                std::unique_ptr<TextGeneration> generation, RunNames names);

  // Reads the generation to its end, handing every piece to on_piece. Once client_gone says the
  // client left, the request is cancelled (its pages are freed within an engine step).
  void read_all(const ClientGone &client_gone,
                const std::function<void(const GenerationPiece &)> &on_piece);
  // The non-streaming answer around its one choice; logs the request.
  nlohmann::ordered_json response(nlohmann::ordered_json choice) const;
  // A streaming chunk around its one choice.
  nlohmann::ordered_json chunk(nlohmann::ordered_json choice) const;
  // After the last choice chunk: the usage chunk when asked for, [DONE], the cancellation of a
  // request whose client is gone, and the log line.
  void end_stream(StreamReader &reader, bool gone);

  ServerContext &ctx_;
  std::unique_ptr<TextGeneration> generation_;

private:
  nlohmann::ordered_json envelope(const char *object, nlohmann::ordered_json choices) const;

  RunNames names_;
  bool include_usage_;
  bool client_gone_ = false; // a non-streaming request whose client left
  std::string id_ = random_id(names_.id_prefix);
  int64_t created_ = unix_time();
};

} // namespace m3::server
