#include "runtime/engine.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "core/error.h"
#include "runtime/sampling.h"

namespace m3 {
namespace {

// KvCache's page size: the MSA block, or 128 tokens for a model without sparse layers.
int page_size(const ModelConfig &model) {
  return model.index_block_size > 0 ? model.index_block_size : 128;
}

int32_t default_num_pages(const EngineConfig &config, int block_size) {
  const int32_t per_sequence = (config.max_model_len + block_size - 1) / block_size;
  return per_sequence * config.max_num_seqs;
}

SchedulerConfig scheduler_config(const EngineConfig &config, int block_size) {
  return SchedulerConfig{block_size, config.max_num_seqs, config.max_batch_tokens};
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

} // namespace

Engine::Engine(Model &model, EngineConfig config)
    : model_(model), config_(config),
      cache_(model.config(), config.num_pages > 0
                                 ? config.num_pages
                                 : default_num_pages(config, page_size(model.config()))),
      allocator_(cache_.num_pages()),
      prefix_cache_(config.enable_prefix_caching
                        ? std::make_unique<PrefixCache>(allocator_, cache_.block_size())
                        : nullptr),
      scheduler_(scheduler_config(config, cache_.block_size()), allocator_, prefix_cache_.get()) {
  // One sequence of max_model_len must always fit, or it could wait forever.
  require(int64_t(cache_.num_pages()) * cache_.block_size() >= config.max_model_len,
          "KV cache of " + std::to_string(cache_.num_pages()) +
              " pages cannot hold one sequence of max_model_len " +
              std::to_string(config.max_model_len));
  stats_.num_pages = cache_.num_pages();
  thread_ = std::thread([this] { run(); });
}

Engine::~Engine() { stop(); }

Engine::Submitted Engine::submit(Request request) {
  const int64_t vocab = model_.config().vocab_size;
  require(!request.prompt.empty(), "the prompt is empty");
  require(int64_t(request.prompt.size()) < config_.max_model_len,
          "the prompt has " + std::to_string(request.prompt.size()) +
              " tokens; this model's maximum context length is " +
              std::to_string(config_.max_model_len) + " tokens including the output");
  for (int32_t id : request.prompt)
    require(id >= 0 && id < vocab, "token id " + std::to_string(id) + " is outside the vocabulary");
  require(request.sampling.max_tokens >= 1, "max_tokens must be at least 1");
  if (const auto &embeddings = request.embeddings) {
    const int64_t hidden = model_.config().hidden_size;
    const auto &positions = embeddings->positions;
    require(embeddings->hidden == hidden &&
                embeddings->rows.size() == positions.size() * size_t(hidden) &&
                std::is_sorted(positions.begin(), positions.end()) &&
                (positions.empty() ||
                 (positions.front() >= 0 && positions.back() < int32_t(request.prompt.size()))),
            "prompt embeddings must be rows of width " + std::to_string(hidden) +
                " at ascending prompt positions");
  }
  auto seq = std::make_unique<Sequence>();
  seq->tokens = request.prompt;
  seq->num_prompt_tokens = int32_t(request.prompt.size());
  if (request.embeddings)
    seq->page_media = PrefixCache::page_media_hashes(*request.embeddings, cache_.block_size());
  seq->rng.seed(request.sampling.seed ? *request.sampling.seed : std::random_device{}());
  seq->request = std::move(request);
  seq->stream = std::make_shared<RequestStream>();
  seq->arrival = Clock::now();
  Submitted submitted;
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    require(!stopping_, "the server is shutting down");
    seq->id = next_id_++;
    submitted = Submitted{seq->id, seq->stream};
    inbox_.push_back(std::move(seq));
  }
  inbox_ready_.notify_one();
  return submitted;
}

void Engine::cancel(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    cancels_.push_back(id);
  }
  inbox_ready_.notify_one();
}

void Engine::stop() {
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    stopping_ = true;
  }
  inbox_ready_.notify_one();
  if (thread_.joinable())
    thread_.join();
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  return stats_;
}

void Engine::run() {
  for (;;) {
    std::vector<std::unique_ptr<Sequence>> arrivals;
    std::vector<uint64_t> cancels;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(inbox_mutex_);
      const bool idle = scheduler_.num_running() == 0 && scheduler_.num_waiting() == 0;
      if (idle)
        inbox_ready_.wait(lock, [&] { return stopping_ || !inbox_.empty() || !cancels_.empty(); });
      arrivals.swap(inbox_);
      cancels.swap(cancels_);
      stopping = stopping_;
    }
    for (auto &seq : arrivals)
      scheduler_.add(std::move(seq));
    if (stopping) {
      for (uint64_t id : scheduler_.sequence_ids())
        if (auto seq = scheduler_.remove(id))
          finish(*seq, FinishReason::kCancelled);
      refresh_stats();
      return;
    }
    for (uint64_t id : cancels)
      if (auto seq = scheduler_.remove(id))
        finish(*seq, FinishReason::kCancelled);
    step();
    refresh_stats();
  }
}

void Engine::step() {
  ScheduledStep plan = scheduler_.schedule();
  if (plan.empty()) {
    if (scheduler_.num_waiting() > 0) {
      std::unique_lock<std::mutex> lock(inbox_mutex_);
      inbox_ready_.wait_for(lock, std::chrono::milliseconds(5));
    }
    return;
  }
  std::vector<float> logits;
  try {
    logits = model_.forward(plan.batch, cache_);
  } catch (const std::exception &error) {
    std::fprintf(stderr, "m3 engine: forward failed: %s\n", error.what());
    for (const ScheduledChunk &chunk : plan.chunks)
      if (auto seq = scheduler_.remove(chunk.seq->id))
        finish(*seq, FinishReason::kError);
    return;
  }
  scheduler_.commit(plan);
  const int64_t vocab = model_.config().vocab_size;
  int64_t row = 0;
  for (const ScheduledChunk &chunk : plan.chunks) {
    if (!chunk.samples)
      continue;
    emit_token(*chunk.seq, logits.data() + row * vocab);
    ++row;
  }
  for (uint64_t id : finished_ids_)
    scheduler_.remove(id);
  finished_ids_.clear();
  std::lock_guard<std::mutex> lock(stats_mutex_);
  ++stats_.num_steps;
}

void Engine::emit_token(Sequence &seq, const float *logits) {
  const int64_t model_vocab = model_.config().vocab_size;
  const int64_t vocab = config_.sampling_vocab_size > 0
                            ? std::min(config_.sampling_vocab_size, model_vocab)
                            : model_vocab;
  const SamplingParams &params = seq.request.sampling;
  std::vector<uint8_t> allowed;
  if (seq.request.constraint) {
    allowed.assign(vocab, 0);
    seq.request.constraint->allowed_tokens(allowed);
  }
  SampleInput input;
  input.logits = std::span<const float>(logits, vocab);
  input.params = &params;
  input.prompt = std::span<const int32_t>(seq.tokens.data(), seq.num_prompt_tokens);
  input.output_counts = &seq.output_counts;
  input.allowed = seq.request.constraint ? &allowed : nullptr;
  SampleResult sampled = sample_token(input, seq.rng);
  if (seq.request.constraint)
    seq.request.constraint->accept(sampled.token);

  const int32_t token = sampled.token;
  seq.tokens.push_back(token);
  ++seq.output_counts[token];
  const Clock::time_point now = Clock::now();
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    ++stats_.generation_tokens;
    if (!seq.has_first_token) {
      stats_.prompt_tokens += seq.num_prompt_tokens;
      stats_.time_to_first_token.observe(seconds_between(seq.arrival, now));
    } else {
      stats_.inter_token_latency.observe(seconds_between(seq.last_token_time, now));
    }
  }
  seq.has_first_token = true;
  seq.last_token_time = now;

  const int64_t eos = model_.config().eos_token_id;
  const auto &stops = params.stop_token_ids;
  const bool stop_token = (!params.ignore_eos && token == eos) ||
                          std::find(stops.begin(), stops.end(), token) != stops.end();
  FinishReason reason = FinishReason::kNone;
  if (stop_token)
    reason = FinishReason::kStop;
  else if (seq.num_generated() >= params.max_tokens ||
           int32_t(seq.tokens.size()) >= config_.max_model_len)
    reason = FinishReason::kLength;

  TokenEvent event;
  event.token = token;
  event.logprob = sampled.logprob;
  event.top_logprobs = std::move(sampled.top_logprobs);
  event.finish = reason;
  event.stopped_by_token = stop_token;
  event.prompt_tokens = seq.num_prompt_tokens;
  event.cached_prompt_tokens = seq.cached_prompt_tokens;
  seq.stream->push(std::move(event));
  if (reason != FinishReason::kNone) {
    record_finish(seq, reason);
    finished_ids_.push_back(seq.id);
  }
}

void Engine::finish(Sequence &seq, FinishReason reason) {
  TokenEvent event;
  event.finish = reason;
  event.prompt_tokens = seq.num_prompt_tokens;
  event.cached_prompt_tokens = seq.cached_prompt_tokens;
  seq.stream->push(std::move(event));
  record_finish(seq, reason);
}

void Engine::record_finish(const Sequence &seq, FinishReason reason) {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  switch (reason) {
  case FinishReason::kStop:
    ++stats_.finished_stop;
    break;
  case FinishReason::kLength:
    ++stats_.finished_length;
    break;
  case FinishReason::kCancelled:
    ++stats_.finished_cancelled;
    break;
  case FinishReason::kError:
    ++stats_.finished_error;
    break;
  case FinishReason::kNone:
    return;
  }
  stats_.e2e_request_latency.observe(seconds_between(seq.arrival, Clock::now()));
}

void Engine::refresh_stats() {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  stats_.num_running = scheduler_.num_running();
  stats_.num_waiting = scheduler_.num_waiting();
  {
    std::lock_guard<std::mutex> inbox_lock(inbox_mutex_);
    stats_.num_waiting += int32_t(inbox_.size());
  }
  stats_.num_pages_in_use = allocator_.num_in_use();
  stats_.num_preemptions = scheduler_.num_preemptions();
  if (prefix_cache_) {
    stats_.prefix_cache_queries = prefix_cache_->query_tokens();
    stats_.prefix_cache_hits = prefix_cache_->hit_tokens();
    stats_.num_cached_pages = prefix_cache_->num_cached_pages();
  }
}

} // namespace m3
