// Step composition: decodes first, chunked prefill within the token budget, FIFO admission up to
// max_num_seqs, waiting when the KV cache is full, preemption, prefix reuse on admission.
#include <gtest/gtest.h>

#include <random>

#include "runtime/scheduler.h"

namespace m3 {
namespace {

constexpr int kBlock = 4;

struct Harness {
  PageAllocator allocator;
  std::unique_ptr<PrefixCache> cache;
  Scheduler scheduler;
  uint64_t next_id = 1;
  std::mt19937 rng{std::random_device{}()};

  Harness(int32_t pages, int32_t max_seqs, int32_t budget, bool caching = false)
      : allocator(pages),
        cache(caching ? std::make_unique<PrefixCache>(allocator, kBlock) : nullptr),
        scheduler(SchedulerConfig{kBlock, max_seqs, budget}, allocator, cache.get()) {}

  Sequence *add(std::vector<int32_t> prompt) {
    auto seq = std::make_unique<Sequence>();
    seq->id = next_id++;
    seq->tokens = prompt;
    seq->num_prompt_tokens = int32_t(prompt.size());
    Sequence *raw = seq.get();
    scheduler.add(std::move(seq));
    return raw;
  }
  Sequence *add_random(int length) {
    std::vector<int32_t> prompt(length);
    for (auto &t : prompt)
      t = int32_t(rng() % 1000);
    return add(prompt);
  }
  // Runs one step and appends a fresh token to every sampling sequence (as the engine does).
  ScheduledStep run() {
    ScheduledStep step = scheduler.schedule();
    scheduler.commit(step);
    for (auto &chunk : step.chunks)
      if (chunk.samples)
        chunk.seq->tokens.push_back(int32_t(rng() % 1000));
    return step;
  }
};

void expect_batch_consistent(const ScheduledStep &step, int block) {
  int32_t row = 0;
  for (size_t i = 0; i < step.chunks.size(); ++i) {
    const SequenceInBatch &entry = step.batch.sequences[i];
    EXPECT_EQ(entry.first_row, row);
    EXPECT_EQ(entry.num_new_tokens, step.chunks[i].num_new_tokens);
    const int32_t end = entry.num_cached_tokens + entry.num_new_tokens;
    EXPECT_EQ(int32_t(entry.page_table.size()), (end + block - 1) / block);
    for (int32_t j = 0; j < entry.num_new_tokens; ++j) {
      EXPECT_EQ(step.batch.positions[row + j], entry.num_cached_tokens + j);
      EXPECT_EQ(step.batch.token_ids[row + j],
                step.chunks[i].seq->tokens[entry.num_cached_tokens + j]);
    }
    row += entry.num_new_tokens;
  }
  EXPECT_EQ(row, step.batch.num_rows());
}

TEST(Scheduler, ChunksPrefillWithinTheBudgetAndPutsDecodesFirst) {
  Harness h(64, 4, 8);
  Sequence *a = h.add_random(5);
  ScheduledStep s1 = h.run();
  ASSERT_EQ(s1.chunks.size(), 1u);
  EXPECT_TRUE(s1.chunks[0].samples);
  EXPECT_EQ(s1.batch.logit_rows, (std::vector<int32_t>{4}));
  Sequence *b = h.add_random(20); // longer than the budget: chunked
  ScheduledStep s2 = h.run();
  expect_batch_consistent(s2, kBlock);
  ASSERT_EQ(s2.chunks.size(), 2u);
  EXPECT_EQ(s2.chunks[0].seq, a); // decode first
  EXPECT_EQ(s2.chunks[0].num_new_tokens, 1);
  EXPECT_EQ(s2.chunks[1].seq, b);
  EXPECT_EQ(s2.chunks[1].num_new_tokens, 7);
  EXPECT_FALSE(s2.chunks[1].samples);
  int steps = 0;
  while (b->num_generated() == 0 && steps++ < 10)
    expect_batch_consistent(h.run(), kBlock);
  EXPECT_EQ(b->num_computed, 20);
  EXPECT_EQ(a->num_generated(), 2 + steps);
}

TEST(Scheduler, AdmitsAtMostMaxNumSeqsInArrivalOrder) {
  Harness h(64, 2, 64);
  Sequence *a = h.add_random(3);
  Sequence *b = h.add_random(3);
  Sequence *c = h.add_random(3);
  ScheduledStep step = h.run();
  ASSERT_EQ(step.chunks.size(), 2u);
  EXPECT_EQ(step.chunks[0].seq, a);
  EXPECT_EQ(step.chunks[1].seq, b);
  EXPECT_EQ(h.scheduler.num_waiting(), 1);
  h.scheduler.remove(a->id);
  step = h.run();
  EXPECT_EQ(step.chunks.back().seq, c);
  EXPECT_EQ(h.scheduler.num_waiting(), 0);
}

TEST(Scheduler, FullCacheMakesRequestsWaitAndPreemptsForDecodes) {
  Harness h(4, 4, 64);           // 16 token slots
  Sequence *a = h.add_random(8); // 2 pages
  Sequence *b = h.add_random(8); // 2 pages: cache full
  h.run();
  EXPECT_EQ(h.allocator.num_available(), 0);
  Sequence *c = h.add_random(3);
  ScheduledStep step = h.run();
  // a needs a third page to decode: b (the newest) is preempted; c cannot fit either.
  EXPECT_EQ(h.scheduler.num_preemptions(), 1);
  ASSERT_GE(step.chunks.size(), 1u);
  EXPECT_EQ(step.chunks[0].seq, a);
  EXPECT_LT(b->num_computed, int32_t(b->tokens.size())) << "b lost its KV and recomputes";
  EXPECT_EQ(h.allocator.num_available(), 0);
  h.scheduler.remove(a->id);
  EXPECT_EQ(h.scheduler.num_running() + h.scheduler.num_waiting(), 2);
  for (int i = 0; i < 10 && (b->num_generated() < 2 || c->num_generated() < 1); ++i)
    h.run();
  EXPECT_GE(b->num_generated(), 2) << "the preempted sequence resumes";
  EXPECT_GE(c->num_generated(), 1) << "the waiting sequence runs once pages free up";
}

TEST(Scheduler, SecondTurnReusesTheFirstTurnsPages) {
  Harness h(32, 4, 64, /*caching=*/true);
  Sequence *a = h.add_random(10);
  h.run();
  std::vector<int32_t> first_pages = a->pages;
  std::vector<int32_t> second_turn = a->tokens; // prompt + answer + more
  for (int i = 0; i < 5; ++i)
    second_turn.push_back(int32_t(h.rng() % 1000));
  h.scheduler.remove(a->id);
  Sequence *b = h.add(second_turn);
  ScheduledStep step = h.run();
  EXPECT_EQ(b->cached_prompt_tokens, 2 * kBlock);
  EXPECT_EQ(step.batch.sequences[0].num_cached_tokens, 2 * kBlock);
  EXPECT_EQ(std::vector<int32_t>(b->pages.begin(), b->pages.begin() + 2),
            std::vector<int32_t>(first_pages.begin(), first_pages.begin() + 2));
  EXPECT_EQ(h.cache->hit_tokens(), 2 * kBlock);
}

} // namespace
} // namespace m3
