#pragma once
// Prometheus text exposition of the engine's and the HTTP layer's counters, with vLLM's metric
// names where the meaning matches (so existing dashboards and routers work).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "runtime/engine_stats.h"

namespace m3::server {

class HttpCounters {
public:
  void count(const std::string &path, int status);
  std::map<std::pair<std::string, int>, int64_t> snapshot() const;

private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> counts_;
};

std::string render_metrics(const std::string &model_name, const EngineStats &stats,
                           const HttpCounters &http);

} // namespace m3::server
