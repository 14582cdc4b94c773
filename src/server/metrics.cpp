#include "server/metrics.h"

#include <sstream>

namespace m3::server {
namespace {

class Exposition {
public:
  explicit Exposition(std::string labels) : labels_(std::move(labels)) {}

  void gauge(const std::string &name, const std::string &help, double value) {
    header(name, help, "gauge");
    sample(name, "", value);
  }
  void counter(const std::string &name, const std::string &help, double value) {
    header(name, help, "counter");
    sample(name + "_total", "", value);
  }
  void histogram(const std::string &name, const std::string &help, const Histogram &h) {
    header(name, help, "histogram");
    int64_t cumulative = 0;
    for (size_t i = 0; i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      std::ostringstream le;
      if (i < h.upper_bounds.size())
        le << h.upper_bounds[i];
      else
        le << "+Inf";
      sample(name + "_bucket", "le=\"" + le.str() + "\"", double(cumulative));
    }
    sample(name + "_sum", "", h.sum);
    sample(name + "_count", "", double(h.count));
  }
  void header(const std::string &name, const std::string &help, const char *type) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  void sample(const std::string &name, const std::string &extra, double value) {
    out_ << name << "{" << labels_ << (extra.empty() ? "" : ",") << extra << "} " << value << "\n";
  }
  std::string text() const { return out_.str(); }

private:
  std::string labels_;
  std::ostringstream out_;
};

std::string escape_label(const std::string &value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

} // namespace

void HttpCounters::count(const std::string &path, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++counts_[{path, status}];
}

std::map<std::pair<std::string, int>, int64_t> HttpCounters::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

std::string render_metrics(const std::string &model_name, const EngineStats &s,
                           const HttpCounters &http) {
  Exposition m("model_name=\"" + escape_label(model_name) + "\"");
  m.gauge("vllm:num_requests_running", "Requests in the running batch.", s.num_running);
  m.gauge("vllm:num_requests_waiting", "Requests waiting to be scheduled.", s.num_waiting);
  m.gauge("vllm:kv_cache_usage_perc", "Fraction of KV-cache pages referenced by requests (0-1).",
          s.kv_usage());
  m.gauge("m3:kv_cache_pages_in_use", "KV-cache pages referenced by requests.", s.num_pages_in_use);
  m.gauge("m3:kv_cache_pages_total", "KV-cache pages.", s.num_pages);
  m.gauge("m3:prefix_cache_pages", "Pages kept for prefix reuse.", s.num_cached_pages);
  m.counter("vllm:prompt_tokens", "Prompt tokens processed.", double(s.prompt_tokens));
  m.counter("vllm:generation_tokens", "Tokens generated.", double(s.generation_tokens));
  m.counter("vllm:prefix_cache_queries", "Prompt tokens looked up in the prefix cache.",
            double(s.prefix_cache_queries));
  m.counter("vllm:prefix_cache_hits", "Prompt tokens found in the prefix cache.",
            double(s.prefix_cache_hits));
  m.counter("vllm:num_preemptions", "Requests preempted to free KV-cache pages.",
            double(s.num_preemptions));
  m.counter("m3:engine_steps", "Forward steps run by the engine.", double(s.num_steps));
  m.header("vllm:request_success", "Finished requests by finish reason.", "counter");
  m.sample("vllm:request_success_total", "finished_reason=\"stop\"", double(s.finished_stop));
  m.sample("vllm:request_success_total", "finished_reason=\"length\"", double(s.finished_length));
  m.sample("vllm:request_success_total", "finished_reason=\"abort\"", double(s.finished_cancelled));
  m.sample("vllm:request_success_total", "finished_reason=\"error\"", double(s.finished_error));
  m.histogram("vllm:time_to_first_token_seconds", "Time to first token.", s.time_to_first_token);
  m.histogram("vllm:inter_token_latency_seconds", "Time between consecutive tokens.",
              s.inter_token_latency);
  m.histogram("vllm:e2e_request_latency_seconds", "Request latency from arrival to finish.",
              s.e2e_request_latency);
  m.header("m3:http_requests", "HTTP requests by path and status.", "counter");
  for (const auto &[key, count] : http.snapshot())
    m.sample("m3:http_requests_total",
             "path=\"" + escape_label(key.first) + "\",status=\"" + std::to_string(key.second) +
                 "\"",
             double(count));
  return m.text();
}

} // namespace m3::server
