#include "server/generation_run.h"

namespace m3::server {

using json = nlohmann::ordered_json;

GenerationRun::GenerationRun(ServerContext &ctx, const GenerationOptions &options,
                             std::unique_ptr<TextGeneration> generation, RunNames names)
    : ctx_(ctx), generation_(std::move(generation)), names_(names),
      include_usage_(options.include_usage) {}

void GenerationRun::read_all(const ClientGone &client_gone,
                             const std::function<void(const GenerationPiece &)> &on_piece) {
  // Often enough to free a gone client's pages promptly, rarely enough to cost nothing.
  constexpr auto kClientCheckInterval = std::chrono::milliseconds(100);
  auto next_check = std::chrono::steady_clock::now() + kClientCheckInterval;
  while (!generation_->finished()) {
    if (auto piece = generation_->next(kClientCheckInterval))
      on_piece(*piece);
    if (client_gone_ || std::chrono::steady_clock::now() < next_check)
      continue;
    next_check = std::chrono::steady_clock::now() + kClientCheckInterval;
    if (client_gone()) {
      client_gone_ = true;
      generation_->cancel(); // the engine's cancellation event ends the loop
    }
  }
}

json GenerationRun::envelope(const char *object, json choices) const {
  return {{"id", id_},
          {"object", object},
          {"created", created_},
          {"model", ctx_.model.name()},
          {"choices", std::move(choices)}};
}

json GenerationRun::response(json choice) const {
  log_generation(names_.endpoint, id_, *generation_, false, client_gone_);
  json out = envelope(names_.object, json::array({std::move(choice)}));
  out["usage"] = usage_json(*generation_);
  return out;
}

json GenerationRun::chunk(json choice) const {
  json out = envelope(names_.chunk_object, json::array({std::move(choice)}));
  if (include_usage_)
    out["usage"] = nullptr;
  return out;
}

void GenerationRun::end_stream(StreamReader &reader, bool gone) {
  if (!gone && include_usage_) {
    json usage = envelope(names_.chunk_object, json::array());
    usage["usage"] = usage_json(*generation_);
    gone = !reader.write(sse_event(usage));
  }
  if (!gone)
    gone = !reader.write("data: [DONE]\n\n");
  if (gone)
    generation_->cancel();
  log_generation(names_.endpoint, id_, *generation_, true, gone);
}

} // namespace m3::server
