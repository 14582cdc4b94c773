// The CPU forward on a random in-memory model: every way of feeding the same tokens (one prefill,
// prefill + decode, ragged batches of sequences) gives the same logits, and sparse layers equal
// dense attention exactly when top-k covers every block but not otherwise.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "model/minimax_m3.h"
#include "model/sequence_runner.h"
#include "random_data.h"
#include "random_model.h"

namespace {

using m3::test_support::fresh_seed;

using namespace m3;

std::vector<int32_t> random_ids(std::mt19937 &rng, const ModelConfig &config, int n) {
  std::uniform_int_distribution<int32_t> pick(0, int32_t(config.vocab_size) - 1);
  std::vector<int32_t> ids(n);
  for (auto &id : ids)
    id = pick(rng);
  return ids;
}

// A fresh random small model plus a random stream for its inputs.
struct RandomSubject {
  unsigned seed = fresh_seed();
  std::mt19937 rng{seed};
  test_model::RandomModel weights{test_model::small_config(), seed};
  CpuModel model{weights.checkpoint};
};

// max |a - b| / std(b row) over rows of width vocab.
double max_relative_diff(const std::vector<float> &a, const std::vector<float> &b, int64_t vocab) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t row = 0; row * vocab < b.size(); ++row) {
    double mean = 0, var = 0, diff = 0;
    for (int64_t v = 0; v < vocab; ++v)
      mean += b[row * vocab + v];
    mean /= vocab;
    for (int64_t v = 0; v < vocab; ++v) {
      var += std::pow(b[row * vocab + v] - mean, 2);
      diff = std::max(diff, double(std::abs(a[row * vocab + v] - b[row * vocab + v])));
    }
    worst = std::max(worst, diff / std::sqrt(var / vocab));
  }
  return worst;
}

TEST(ForwardPaths, PrefillThenDecodeEqualsOnePrefill) {
  RandomSubject subject;
  CpuModel &model = subject.model;
  std::mt19937 &rng = subject.rng;
  const auto ids = random_ids(rng, model.config(), 37); // 10 blocks of 4, top-k 3
  const auto all = sequence_logits(model, ids, 0);
  for (int32_t prefill : {1, 11, 36}) {
    SCOPED_TRACE("prefill " + std::to_string(prefill));
    EXPECT_LT(
        max_relative_diff(sequence_logits(model, ids, prefill), all, model.config().vocab_size),
        1e-5);
  }
}

TEST(ForwardPaths, RaggedBatchEqualsSeparateSequences) {
  RandomSubject subject;
  CpuModel &model = subject.model;
  std::mt19937 &rng = subject.rng;
  const int64_t vocab = model.config().vocab_size;
  const auto first = random_ids(rng, model.config(), 21);
  const auto second = random_ids(rng, model.config(), 30);
  const auto first_alone = sequence_logits(model, first, 0);
  const auto second_alone = sequence_logits(model, second, 0);

  // Both sequences share one cache: pages 0..5 for the first, 6..13 for the second, interleaved.
  KvCache cache(model.config(), 14);
  const std::vector<int32_t> first_pages = {5, 0, 3, 1, 4, 2};
  const std::vector<int32_t> second_pages = {13, 6, 8, 7, 12, 9, 10, 11};
  ForwardBatch prefill;
  prefill.add_sequence(std::vector<int32_t>(first.begin(), first.begin() + 9), 0, first_pages,
                       true);
  prefill.add_sequence(std::vector<int32_t>(second.begin(), second.begin() + 29), 0, second_pages,
                       true);
  const auto prefill_logits = model.forward(prefill, cache);
  // Next step: a chunk of the first sequence next to a decode row of the second.
  ForwardBatch mixed;
  mixed.add_sequence(std::vector<int32_t>(first.begin() + 9, first.end()), 9, first_pages, true);
  mixed.add_sequence({second[29]}, 29, second_pages, false);
  const auto mixed_logits = model.forward(mixed, cache);

  auto rows = [&](const std::vector<float> &logits, int64_t begin, int64_t end) {
    return std::vector<float>(logits.begin() + begin * vocab, logits.begin() + end * vocab);
  };
  EXPECT_LT(max_relative_diff(rows(prefill_logits, 0, 9), rows(first_alone, 0, 9), vocab), 1e-5);
  EXPECT_LT(max_relative_diff(rows(prefill_logits, 9, 38), rows(second_alone, 0, 29), vocab), 1e-5);
  EXPECT_LT(max_relative_diff(rows(mixed_logits, 0, 12), rows(first_alone, 9, 21), vocab), 1e-5);
  EXPECT_LT(max_relative_diff(rows(mixed_logits, 12, 13), rows(second_alone, 29, 30), vocab), 1e-5);
}

// With top-k covering every block, MSA must equal dense attention; with a small top-k the
// selection must change the logits (otherwise the sparse path is not being exercised).
TEST(ForwardPaths, SparseLayersEqualDenseOnlyWhenEveryBlockIsSelected) {
  const unsigned seed = fresh_seed();
  std::mt19937 rng(seed);
  ModelConfig sparse_config = test_model::small_config();
  ModelConfig dense_config = sparse_config;
  std::fill(dense_config.attention_kinds.begin(), dense_config.attention_kinds.end(),
            AttentionKind::kFull);
  test_model::RandomModel sparse_weights(sparse_config, seed);
  Checkpoint dense_checkpoint = sparse_weights.checkpoint;
  dense_checkpoint.config = dense_config;
  CpuModel dense(dense_checkpoint);
  const auto ids = random_ids(rng, sparse_config, 40);
  const auto dense_logits = sequence_logits(dense, ids, 0);
  const int64_t vocab = sparse_config.vocab_size;

  Checkpoint wide = sparse_weights.checkpoint;
  wide.config.index_topk_blocks = 10; // 40 tokens / block 4
  CpuModel all_blocks(wide);
  EXPECT_LT(max_relative_diff(sequence_logits(all_blocks, ids, 5), dense_logits, vocab), 1e-5);

  CpuModel sparse(sparse_weights.checkpoint);
  EXPECT_GT(max_relative_diff(sequence_logits(sparse, ids, 0), dense_logits, vocab), 1e-2);
}

TEST(ForwardPaths, GreedyGenerationFollowsFullForwardArgmax) {
  RandomSubject subject;
  CpuModel &model = subject.model;
  std::mt19937 &rng = subject.rng;
  const int64_t vocab = model.config().vocab_size;
  auto ids = random_ids(rng, model.config(), 14);
  const auto generated = greedy_generate(model, ids, 9, false);
  ASSERT_EQ(generated.size(), 9u);
  for (int32_t next : generated) {
    const auto logits = sequence_logits(model, ids, 0);
    const auto last = logits.end() - vocab;
    EXPECT_EQ(next, int32_t(std::max_element(last, logits.end()) - last));
    ids.push_back(next);
  }
}

TEST(ForwardPaths, GreedyGenerationStopsAfterEosUnlessIgnored) {
  RandomSubject subject;
  const auto prompt = random_ids(subject.rng, subject.model.config(), 12);
  const auto free_run = greedy_generate(subject.model, prompt, 8, false);
  Checkpoint with_eos = subject.weights.checkpoint;
  with_eos.config.eos_token_id = free_run[3];
  CpuModel model(with_eos);
  const auto eos_at = std::find(free_run.begin(), free_run.end(), free_run[3]);
  EXPECT_EQ(greedy_generate(model, prompt, 8, true),
            std::vector<int32_t>(free_run.begin(), eos_at + 1));
  EXPECT_EQ(greedy_generate(model, prompt, 8, false), free_run);
}

TEST(ForwardPaths, RejectsTokenIdsOutsideVocabulary) {
  RandomSubject subject;
  CpuModel &model = subject.model;
  EXPECT_THROW(sequence_logits(model, {1, 2, int32_t(model.config().vocab_size)}, 0), Error);
  EXPECT_THROW(sequence_logits(model, {}, 0), Error);
  EXPECT_THROW(greedy_generate(model, {-1}, 2, false), Error);
}

} // namespace
