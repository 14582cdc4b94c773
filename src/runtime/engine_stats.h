#pragma once
// Counters and latency histograms the engine keeps for /metrics (a snapshot is copied out).
#include <cstdint>
#include <vector>

namespace m3 {

struct Histogram {
  std::vector<double> upper_bounds; // ascending; an implicit +Inf bucket follows
  std::vector<int64_t> counts;      // per bucket (not cumulative), size upper_bounds + 1
  double sum = 0;
  int64_t count = 0;

  explicit Histogram(std::vector<double> bounds = {})
      : upper_bounds(std::move(bounds)), counts(upper_bounds.size() + 1, 0) {}
  void observe(double value) {
    size_t bucket = 0;
    while (bucket < upper_bounds.size() && value > upper_bounds[bucket])
      ++bucket;
    ++counts[bucket];
    sum += value;
    ++count;
  }
};

struct EngineStats {
  int32_t num_running = 0;
  int32_t num_waiting = 0;
  int32_t num_pages = 0;
  int32_t num_pages_in_use = 0; // referenced by a sequence (cached-but-unused pages are free)
  int32_t num_cached_pages = 0;
  int64_t prompt_tokens = 0;
  int64_t generation_tokens = 0;
  int64_t prefix_cache_queries = 0; // tokens
  int64_t prefix_cache_hits = 0;    // tokens
  int64_t num_preemptions = 0;
  int64_t num_steps = 0;
  int64_t finished_stop = 0;
  int64_t finished_length = 0;
  int64_t finished_cancelled = 0;
  int64_t finished_error = 0;
  Histogram time_to_first_token{{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
                                 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}};
  Histogram inter_token_latency{{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0,
                                 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}};
  Histogram e2e_request_latency{{0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
                                 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0}};

  double kv_usage() const { return num_pages ? double(num_pages_in_use) / num_pages : 0.0; }
};

} // namespace m3
