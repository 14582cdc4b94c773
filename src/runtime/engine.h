#pragma once
// One engine thread owns the model and the KV cache. Other threads submit requests and cancel
// them over a locked inbox; each request gets its own RequestStream of token events. A cancel
// takes effect (pages released, stream finished) before the next forward step.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "model/kv_cache.h"
#include "model/model.h"
#include "runtime/engine_stats.h"
#include "runtime/page_allocator.h"
#include "runtime/prefix_cache.h"
#include "runtime/request.h"
#include "runtime/scheduler.h"

namespace m3 {

struct EngineConfig {
  int32_t max_model_len = 4096; // prompt + generated tokens per sequence
  int32_t num_pages = 0;        // 0: enough for max_num_seqs full-length sequences
  int32_t max_num_seqs = 16;
  int32_t max_batch_tokens = 256;
  bool enable_prefix_caching = true;
  // Ids at or above this are never sampled (embedding rows past the tokenizer's vocabulary);
  // 0 = the model's vocab_size.
  int64_t sampling_vocab_size = 0;
};

class Engine {
public:
  Engine(Model &model, EngineConfig config);
  ~Engine();
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  struct Submitted {
    uint64_t id;
    std::shared_ptr<RequestStream> stream;
  };
  // Throws m3::Error for an empty prompt, out-of-vocab ids or a prompt that leaves no room to
  // generate within max_model_len, and after stop().
  Submitted submit(Request request);
  void cancel(uint64_t id);
  // Stops admitting, finishes every in-flight request as cancelled and joins the thread.
  void stop();

  EngineStats stats() const;
  const EngineConfig &config() const { return config_; }
  const ModelConfig &model_config() const { return model_.config(); }

private:
  void run();
  void step();
  // Ends a sequence that was removed without a final token (cancel, error, shutdown).
  void finish(Sequence &seq, FinishReason reason);
  void record_finish(const Sequence &seq, FinishReason reason);
  void emit_token(Sequence &seq, const float *logits);
  void refresh_stats();

  Model &model_;
  EngineConfig config_;
  KvCache cache_;
  PageAllocator allocator_;
  std::unique_ptr<PrefixCache> prefix_cache_;
  Scheduler scheduler_;

  mutable std::mutex inbox_mutex_;
  std::condition_variable inbox_ready_;
  std::vector<std::unique_ptr<Sequence>> inbox_;
  std::vector<uint64_t> cancels_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;

  mutable std::mutex stats_mutex_;
  EngineStats stats_;
  std::vector<uint64_t> finished_ids_; // this step, removed after emitting
  std::thread thread_;
};

} // namespace m3
