#pragma once
// Composes each engine step (continuous batching): every decoding sequence gets one row first,
// then prompt chunks fill the rest of the token budget (chunked prefill), running sequences
// before newly admitted ones. A sequence that needs a page when none is left preempts the most
// recently admitted sequence, which gives back its pages and is recomputed later (prefix-cache
// hits make that cheap). Admission is FIFO: a full KV cache makes requests wait, never fail.
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "model/forward_batch.h"
#include "runtime/page_allocator.h"
#include "runtime/prefix_cache.h"
#include "runtime/sequence.h"

namespace m3 {

struct SchedulerConfig {
  int block_size = 128;
  int32_t max_num_seqs = 16;
  int32_t max_batch_tokens = 512; // rows per step (decodes + prefill chunks)
};

struct ScheduledChunk {
  Sequence *seq;
  int32_t num_new_tokens;
  bool samples; // the chunk reaches the end of the sequence's tokens: sample the next one
};

struct ScheduledStep {
  std::vector<ScheduledChunk> chunks;
  ForwardBatch batch; // rows in chunk order; logit_rows = last row of each sampling chunk
  bool empty() const { return chunks.empty(); }
};

class Scheduler {
public:
  // prefix_cache may be null (prefix caching off).
  Scheduler(SchedulerConfig config, PageAllocator &allocator, PrefixCache *prefix_cache);

  void add(std::unique_ptr<Sequence> seq);
  ScheduledStep schedule();
  // After the forward of step: the chunks' tokens are now in the cache.
  void commit(const ScheduledStep &step);
  // Removes a running or waiting sequence and releases its pages; null if unknown.
  std::unique_ptr<Sequence> remove(uint64_t id);

  std::vector<uint64_t> sequence_ids() const; // running and waiting
  int32_t num_running() const { return int32_t(running_.size()); }
  int32_t num_waiting() const { return int32_t(waiting_.size()); }
  int64_t num_preemptions() const { return num_preemptions_; }
  const std::vector<std::unique_ptr<Sequence>> &running() const { return running_; }

private:
  // Tokens of seq that fit after its computed ones with at most the pages left (allocating them).
  int32_t grow(Sequence &seq, int32_t wanted);
  void preempt_newest();
  void release_pages(Sequence &seq);
  void match_prefix(Sequence &seq);

  SchedulerConfig config_;
  PageAllocator &allocator_;
  PrefixCache *prefix_cache_;
  std::deque<std::unique_ptr<Sequence>> waiting_;
  std::vector<std::unique_ptr<Sequence>> running_; // admission order
  int64_t num_preemptions_ = 0;
};

} // namespace m3
