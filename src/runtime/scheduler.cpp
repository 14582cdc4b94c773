#include "runtime/scheduler.h"

#include <algorithm>
#include <stdexcept>

namespace m3 {

Scheduler::Scheduler(SchedulerConfig config, PageAllocator &allocator, PrefixCache *prefix_cache)
    : config_(config), allocator_(allocator), prefix_cache_(prefix_cache) {
  if (config_.max_num_seqs < 1 || config_.max_batch_tokens < config_.max_num_seqs)
    throw std::invalid_argument("scheduler needs max_batch_tokens >= max_num_seqs >= 1");
}

void Scheduler::add(std::unique_ptr<Sequence> seq) { waiting_.push_back(std::move(seq)); }

int32_t Scheduler::grow(Sequence &seq, int32_t wanted) {
  const int block = config_.block_size;
  int32_t fit = 0;
  while (fit < wanted) {
    const int32_t capacity = int32_t(seq.pages.size()) * block - seq.num_computed;
    if (capacity >= wanted) {
      fit = wanted;
      break;
    }
    fit = capacity;
    auto page = allocator_.allocate();
    if (!page)
      break;
    seq.pages.push_back(*page);
  }
  return std::max(fit, 0);
}

void Scheduler::release_pages(Sequence &seq) {
  for (int32_t page : seq.pages)
    allocator_.release(page);
  seq.pages.clear();
  seq.page_keys.clear();
  seq.num_computed = 0;
}

void Scheduler::preempt_newest() {
  std::unique_ptr<Sequence> victim = std::move(running_.back());
  running_.pop_back();
  release_pages(*victim);
  ++num_preemptions_;
  waiting_.push_front(std::move(victim));
}

void Scheduler::match_prefix(Sequence &seq) {
  if (!prefix_cache_ || !seq.pages.empty())
    return;
  // Keep at least one token to compute: its logits give the next token.
  const int max_pages = (int32_t(seq.tokens.size()) - 1) / config_.block_size;
  seq.pages = prefix_cache_->match(seq.tokens, max_pages, seq.page_keys, seq.page_media);
  seq.num_computed = int32_t(seq.pages.size()) * config_.block_size;
  if (seq.num_generated() == 0)
    seq.cached_prompt_tokens = seq.num_computed;
}

ScheduledStep Scheduler::schedule() {
  ScheduledStep step;
  int32_t budget = config_.max_batch_tokens;
  std::vector<std::pair<Sequence *, int32_t>> plan;

  // Decodes first; a decode that cannot get a page preempts the newest sequence (maybe itself).
  for (size_t i = 0; i < running_.size(); ++i) {
    Sequence *seq = running_[i].get();
    if (seq->num_pending() != 1 || seq->num_generated() == 0)
      continue;
    while (grow(*seq, 1) < 1) {
      const bool self = running_.back().get() == seq;
      preempt_newest();
      if (self)
        break;
    }
    if (i >= running_.size() || running_[i].get() != seq)
      break; // seq itself was preempted
    plan.emplace_back(seq, 1);
    --budget;
  }
  // Prompt chunks of running sequences, then admissions.
  for (auto &seq : running_) {
    if (budget <= 0)
      break;
    if (seq->num_generated() > 0 && seq->num_pending() == 1)
      continue; // decode, done above
    const int32_t n = grow(*seq, std::min(seq->num_pending(), budget));
    if (n == 0)
      continue;
    plan.emplace_back(seq.get(), n);
    budget -= n;
  }
  while (budget > 0 && !waiting_.empty() && int32_t(running_.size()) < config_.max_num_seqs) {
    Sequence &seq = *waiting_.front();
    match_prefix(seq);
    const int32_t n = grow(seq, std::min(seq.num_pending(), budget));
    if (n == 0) {
      release_pages(seq); // a waiting sequence must not hold pages others need
      break;
    }
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
    plan.emplace_back(&seq, n);
    budget -= n;
  }
  // Nothing fits although sequences are running: every page is held by partial prefills.
  if (plan.empty() && running_.size() > 1) {
    preempt_newest();
    return schedule();
  }

  for (auto [seq, n] : plan) {
    const bool samples = seq->num_computed + n == int32_t(seq->tokens.size());
    step.chunks.push_back({seq, n, samples});
    SequenceInBatch entry;
    entry.first_row = step.batch.num_rows();
    entry.num_new_tokens = n;
    entry.num_cached_tokens = seq->num_computed;
    const int32_t num_blocks =
        (seq->num_computed + n + config_.block_size - 1) / config_.block_size;
    entry.page_table.assign(seq->pages.begin(), seq->pages.begin() + num_blocks);
    for (int32_t j = 0; j < n; ++j) {
      step.batch.token_ids.push_back(seq->tokens[seq->num_computed + j]);
      step.batch.positions.push_back(seq->num_computed + j);
    }
    if (samples)
      step.batch.logit_rows.push_back(entry.first_row + n - 1);
    step.batch.sequences.push_back(std::move(entry));
  }
  // Vision features of the prompt rows in this step (a chunk may hold part of an image).
  for (size_t i = 0; i < step.chunks.size(); ++i) {
    const SequenceInBatch &entry = step.batch.sequences[i];
    if (const auto &embeddings = step.chunks[i].seq->request.embeddings)
      step.batch.attach_embeddings(entry.first_row, entry.num_new_tokens, *embeddings,
                                   entry.num_cached_tokens);
  }
  return step;
}

void Scheduler::commit(const ScheduledStep &step) {
  const int block = config_.block_size;
  for (const ScheduledChunk &chunk : step.chunks) {
    Sequence &seq = *chunk.seq;
    seq.num_computed += chunk.num_new_tokens;
    if (!prefix_cache_)
      continue;
    uint64_t key = seq.page_keys.empty() ? PrefixCache::kRootKey : seq.page_keys.back();
    for (size_t i = seq.page_keys.size(); int64_t(i + 1) * block <= seq.num_computed; ++i) {
      const int32_t *tokens = seq.tokens.data() + i * block;
      const uint64_t media = seq.media_of_page(i);
      key = PrefixCache::chain_key(key, tokens, block, media);
      prefix_cache_->insert(key, seq.pages[i], tokens, media);
      seq.page_keys.push_back(key);
    }
  }
}

std::vector<uint64_t> Scheduler::sequence_ids() const {
  std::vector<uint64_t> ids;
  for (const auto &seq : running_)
    ids.push_back(seq->id);
  for (const auto &seq : waiting_)
    ids.push_back(seq->id);
  return ids;
}

std::unique_ptr<Sequence> Scheduler::remove(uint64_t id) {
  auto take = [&](auto &container) -> std::unique_ptr<Sequence> {
    for (auto it = container.begin(); it != container.end(); ++it) {
      if ((*it)->id != id)
        continue;
      std::unique_ptr<Sequence> seq = std::move(*it);
      container.erase(it);
      release_pages(*seq);
      return seq;
    }
    return nullptr;
  };
  if (auto seq = take(running_))
    return seq;
  return take(waiting_);
}

} // namespace m3
