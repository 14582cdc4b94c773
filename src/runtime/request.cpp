#include "runtime/request.h"

namespace m3 {

const char *finish_reason_name(FinishReason reason) {
  switch (reason) {
  case FinishReason::kStop:
    return "stop";
  case FinishReason::kLength:
    return "length";
  case FinishReason::kCancelled:
    return "abort";
  case FinishReason::kError:
    return "error";
  case FinishReason::kNone:
    break;
  }
  return "";
}

void RequestStream::push(TokenEvent event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (event.finish != FinishReason::kNone)
      finished_ = true;
    events_.push_back(std::move(event));
  }
  ready_.notify_one();
}

std::optional<TokenEvent> RequestStream::pop(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); }))
    return std::nullopt;
  TokenEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

bool RequestStream::finished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return finished_;
}

} // namespace m3
