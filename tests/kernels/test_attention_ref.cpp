// Checks the CPU attention/MSA reference against naive formulations over plain contiguous K/V
// written here: dense softmax in double, brute-force block selection by sorting block maxima.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "../support/random_data.h"
#include "kernels/cpu/attention_ref.h"

namespace {

using m3::test_support::fresh_rng;
using m3::test_support::random_vector;

using m3::cpu::AttentionParams;
using m3::cpu::MsaSelectParams;
using m3::cpu::PagedKv;

struct Shape {
  int num_heads = 4;
  int num_kv_heads = 2;
  int head_dim = 8;
  int index_head_dim = 8;
  int block_size = 4;
};

// One sequence of kv_len tokens, contiguous, plus the same data in a scrambled paged layout whose
// unused slots and spare pages hold NaN (any read of them poisons the output).
struct Sequence {
  Shape shape;
  int32_t kv_len = 0;
  std::vector<float> keys, values; // [kv_len, kv_heads, head_dim]
  std::vector<float> index_keys;   // [kv_len, index_head_dim]
  std::vector<float> paged_keys, paged_values, paged_index_keys;
  std::vector<int32_t> page_table;

  PagedKv view() const {
    PagedKv kv;
    kv.keys = paged_keys.data();
    kv.values = paged_values.data();
    kv.index_keys = paged_index_keys.data();
    kv.page_table = page_table.data();
    kv.kv_len = kv_len;
    kv.block_size = shape.block_size;
    kv.num_kv_heads = shape.num_kv_heads;
    kv.head_dim = shape.head_dim;
    kv.index_head_dim = shape.index_head_dim;
    return kv;
  }
  const float *key(int32_t j, int g) const {
    return &keys[(size_t(j) * shape.num_kv_heads + g) * shape.head_dim];
  }
  const float *value(int32_t j, int g) const {
    return &values[(size_t(j) * shape.num_kv_heads + g) * shape.head_dim];
  }
  const float *index_key(int32_t j) const { return &index_keys[size_t(j) * shape.index_head_dim]; }
};

Sequence make_sequence(std::mt19937 &rng, const Shape &shape, int32_t kv_len) {
  Sequence s;
  s.shape = shape;
  s.kv_len = kv_len;
  const int hd = shape.head_dim, kvh = shape.num_kv_heads, bs = shape.block_size;
  s.keys = random_vector(rng, size_t(kv_len) * kvh * hd);
  s.values = random_vector(rng, size_t(kv_len) * kvh * hd);
  s.index_keys = random_vector(rng, size_t(kv_len) * shape.index_head_dim);
  const int32_t num_blocks = (kv_len + bs - 1) / bs;
  const int32_t num_pages = num_blocks + 3; // spare pages stay NaN
  std::vector<int32_t> pages(num_pages);
  std::iota(pages.begin(), pages.end(), 0);
  std::shuffle(pages.begin(), pages.end(), rng);
  s.page_table.assign(pages.begin(), pages.begin() + num_blocks);
  const float nan = std::nanf("");
  s.paged_keys.assign(size_t(num_pages) * kvh * bs * hd, nan);
  s.paged_values.assign(s.paged_keys.size(), nan);
  s.paged_index_keys.assign(size_t(num_pages) * bs * shape.index_head_dim, nan);
  for (int32_t j = 0; j < kv_len; ++j) {
    const int32_t page = s.page_table[j / bs], slot = j % bs;
    for (int g = 0; g < kvh; ++g) {
      const size_t dst = ((size_t(page) * kvh + g) * bs + slot) * hd;
      std::copy_n(s.key(j, g), hd, &s.paged_keys[dst]);
      std::copy_n(s.value(j, g), hd, &s.paged_values[dst]);
    }
    std::copy_n(s.index_key(j), shape.index_head_dim,
                &s.paged_index_keys[(size_t(page) * bs + slot) * shape.index_head_dim]);
  }
  return s;
}

double dot(const float *a, const float *b, int n) {
  double sum = 0;
  for (int i = 0; i < n; ++i)
    sum += double(a[i]) * b[i];
  return sum;
}

// Softmax attention of q over the keys j <= position accepted by `visible`, in double.
template <typename Visible>
std::vector<double> naive_attention(const Sequence &s, const float *q, int g, int32_t position,
                                    float scale, Visible &&visible, double *lse) {
  const int hd = s.shape.head_dim;
  std::vector<double> scores;
  std::vector<int32_t> used;
  for (int32_t j = 0; j <= position; ++j) {
    if (!visible(j))
      continue;
    scores.push_back(scale * dot(q, s.key(j, g), hd));
    used.push_back(j);
  }
  const double max_score = *std::max_element(scores.begin(), scores.end());
  double sum = 0;
  for (double &x : scores)
    sum += (x = std::exp(x - max_score));
  std::vector<double> out(hd, 0.0);
  for (size_t i = 0; i < used.size(); ++i)
    for (int c = 0; c < hd; ++c)
      out[c] += scores[i] / sum * s.value(used[i], g)[c];
  *lse = max_score + std::log(sum);
  return out;
}

// Brute force: score every block 0..qb by its max visible token score, sort (descending, lower id
// first on ties), forced blocks excluded from the ranking and appended last, qb at the very end.
std::vector<int32_t> naive_selection(const Sequence &s, const float *index_q, int32_t position,
                                     int topk, int local_blocks) {
  const int bs = s.shape.block_size;
  const int32_t qb = position / bs;
  const int32_t count = std::min(topk, qb + 1);
  const int32_t forced = std::min(local_blocks, count);
  std::vector<std::pair<double, int32_t>> ranked;
  for (int32_t b = 0; b <= qb - forced; ++b) {
    double best = -INFINITY;
    for (int32_t j = b * bs; j < (b + 1) * bs && j <= position; ++j)
      best = std::max(best, dot(index_q, s.index_key(j), s.shape.index_head_dim));
    ranked.push_back({-best, b});
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<int32_t> out;
  for (int32_t i = 0; i < count - forced; ++i)
    out.push_back(ranked[i].second);
  for (int32_t b = qb - forced + 1; b <= qb; ++b)
    out.push_back(b);
  out.resize(topk, -1);
  return out;
}

struct Queries {
  std::vector<int32_t> positions;
  std::vector<float> q;       // [n, num_heads, head_dim]
  std::vector<float> index_q; // [n, num_kv_heads, index_head_dim]
};

// Queries at the last `count` positions of the sequence (a prefill chunk or a decode step).
Queries make_queries(std::mt19937 &rng, const Sequence &s, int32_t count) {
  Queries out;
  for (int32_t i = s.kv_len - count; i < s.kv_len; ++i)
    out.positions.push_back(i);
  out.q = random_vector(rng, size_t(count) * s.shape.num_heads * s.shape.head_dim);
  out.index_q = random_vector(rng, size_t(count) * s.shape.num_kv_heads * s.shape.index_head_dim);
  return out;
}

struct RefOutput {
  std::vector<float> out, lse;
  std::vector<int32_t> selected;
};

RefOutput run_reference(const Sequence &s, const Queries &queries, bool sparse, int topk,
                        int local_blocks) {
  const Shape &shape = s.shape;
  const int n = int(queries.positions.size());
  RefOutput run;
  PagedKv kv = s.view();
  if (sparse) {
    run.selected.assign(size_t(n) * shape.num_kv_heads * topk, 12345);
    MsaSelectParams select;
    select.index_q = queries.index_q.data();
    select.positions = queries.positions.data();
    select.num_queries = n;
    select.num_index_heads = shape.num_kv_heads;
    select.topk_blocks = topk;
    select.local_blocks = local_blocks;
    select.selected = run.selected.data();
    m3::cpu::msa_select(kv, select);
  }
  run.out.assign(size_t(n) * shape.num_heads * shape.head_dim, NAN);
  run.lse.assign(size_t(n) * shape.num_heads, NAN);
  AttentionParams attn;
  attn.q = queries.q.data();
  attn.positions = queries.positions.data();
  attn.num_queries = n;
  attn.num_heads = shape.num_heads;
  attn.scale = 1.0f / std::sqrt(float(shape.head_dim));
  attn.selected = sparse ? run.selected.data() : nullptr;
  attn.topk_blocks = topk;
  attn.out = run.out.data();
  attn.lse = run.lse.data();
  m3::cpu::paged_attention(kv, attn);
  return run;
}

// Compares paged_attention against naive attention restricted to `block_allowed(t, g, block)`.
template <typename BlockAllowed>
void expect_attention_matches(const Sequence &s, const Queries &queries, const RefOutput &run,
                              BlockAllowed &&block_allowed) {
  const Shape &shape = s.shape;
  const float scale = 1.0f / std::sqrt(float(shape.head_dim));
  const int group = shape.num_heads / shape.num_kv_heads;
  for (size_t t = 0; t < queries.positions.size(); ++t) {
    for (int h = 0; h < shape.num_heads; ++h) {
      const int g = h / group;
      const float *q = &queries.q[(t * shape.num_heads + h) * shape.head_dim];
      double lse = 0;
      auto expected = naive_attention(
          s, q, g, queries.positions[t], scale,
          [&](int32_t j) { return block_allowed(t, g, j / shape.block_size); }, &lse);
      const float *got = &run.out[(t * shape.num_heads + h) * shape.head_dim];
      for (int c = 0; c < shape.head_dim; ++c)
        ASSERT_NEAR(got[c], expected[c], 2e-5) << "query " << t << " head " << h << " ch " << c;
      ASSERT_NEAR(run.lse[t * shape.num_heads + h], lse, 2e-5) << "query " << t << " head " << h;
    }
  }
}

TEST(AttentionRef, DenseMatchesNaiveAtBlockEdges) {
  auto rng = fresh_rng();
  Shape shape;
  shape.block_size = 128;
  for (int32_t length : {1, 127, 128, 129}) {
    SCOPED_TRACE("length " + std::to_string(length));
    Sequence s = make_sequence(rng, shape, length);
    Queries queries = make_queries(rng, s, length); // prefill of the whole sequence
    RefOutput run = run_reference(s, queries, false, 0, 1);
    expect_attention_matches(s, queries, run, [](size_t, int, int32_t) { return true; });
  }
}

TEST(AttentionRef, DenseDecodeStepsOverScatteredPages) {
  auto rng = fresh_rng();
  Shape shape;
  shape.num_heads = 6;
  shape.num_kv_heads = 3;
  shape.block_size = 8;
  Sequence s = make_sequence(rng, shape, 83);
  Queries queries = make_queries(rng, s, 3); // the cache holds 80 tokens before these rows
  RefOutput run = run_reference(s, queries, false, 0, 1);
  expect_attention_matches(s, queries, run, [](size_t, int, int32_t) { return true; });
}

TEST(AttentionRef, SparseEqualsDenseWhenEveryBlockFits) {
  auto rng = fresh_rng();
  Shape shape;
  shape.block_size = 128;
  for (int32_t length : {1, 127, 128, 129, 300}) {
    SCOPED_TRACE("length " + std::to_string(length));
    Sequence s = make_sequence(rng, shape, length);
    Queries queries = make_queries(rng, s, std::min(length, 40));
    RefOutput run = run_reference(s, queries, true, 3, 1); // 3 * 128 > 300: everything selected
    expect_attention_matches(s, queries, run, [](size_t, int, int32_t) { return true; });
  }
}

// Selection against the brute-force ranking, and attention against naive attention over the
// brute-force blocks, for single and multiple forced local blocks.
void check_sparse(int32_t length, int32_t num_queries, int topk, int local_blocks) {
  auto rng = fresh_rng();
  Shape shape;
  shape.num_heads = 6;
  shape.num_kv_heads = 2;
  shape.head_dim = 8;
  shape.index_head_dim = 12;
  shape.block_size = 4;
  Sequence s = make_sequence(rng, shape, length);
  Queries queries = make_queries(rng, s, num_queries);
  RefOutput run = run_reference(s, queries, true, topk, local_blocks);
  std::vector<std::vector<int32_t>> expected_sel;
  for (int32_t t = 0; t < num_queries; ++t) {
    for (int g = 0; g < shape.num_kv_heads; ++g) {
      const float *iq = &queries.index_q[(size_t(t) * shape.num_kv_heads + g) * 12];
      auto expected = naive_selection(s, iq, queries.positions[t], topk, local_blocks);
      std::vector<int32_t> got(run.selected.begin() + (t * shape.num_kv_heads + g) * topk,
                               run.selected.begin() + (t * shape.num_kv_heads + g + 1) * topk);
      ASSERT_EQ(got, expected) << "query " << t << " group " << g;
      expected_sel.push_back(expected);
    }
  }
  expect_attention_matches(s, queries, run, [&](size_t t, int g, int32_t block) {
    const auto &sel = expected_sel[t * shape.num_kv_heads + g];
    return std::find(sel.begin(), sel.end(), block) != sel.end();
  });
}

TEST(AttentionRef, SparseSelectionMatchesBruteForce) { check_sparse(97, 97, 3, 1); }
TEST(AttentionRef, SparseDecodeRowsMatchBruteForce) { check_sparse(130, 2, 4, 1); }
TEST(AttentionRef, SparseWithTwoForcedLocalBlocks) { check_sparse(61, 61, 4, 2); }
TEST(AttentionRef, SparseForcedBlocksExceedingTopk) { check_sparse(40, 40, 2, 3); }

TEST(AttentionRef, ShortRowsArePaddedWithLocalLast) {
  auto rng = fresh_rng();
  Shape shape;
  Sequence s = make_sequence(rng, shape, 10); // blocks 0, 1, 2
  Queries queries = make_queries(rng, s, 10);
  RefOutput run = run_reference(s, queries, true, 5, 1);
  for (int32_t t = 0; t < 10; ++t) {
    const int32_t qb = queries.positions[t] / shape.block_size;
    for (int g = 0; g < shape.num_kv_heads; ++g) {
      const int32_t *row = &run.selected[(size_t(t) * shape.num_kv_heads + g) * 5];
      EXPECT_EQ(row[qb], qb) << "local block last, query " << t;
      std::vector<int32_t> valid(row, row + qb + 1);
      std::sort(valid.begin(), valid.end());
      for (int32_t b = 0; b <= qb; ++b)
        EXPECT_EQ(valid[b], b);
      for (int i = qb + 1; i < 5; ++i)
        EXPECT_EQ(row[i], -1);
    }
  }
}

TEST(AttentionRef, TiedBlockScoresPreferLowerBlockId) {
  auto rng = fresh_rng();
  Shape shape;
  shape.num_kv_heads = 1;
  shape.num_heads = 1;
  Sequence s = make_sequence(rng, shape, 24); // blocks 0..5, query in block 5
  // Blocks 1 and 3 share the strongest index key, so they tie for first place.
  for (int c = 0; c < shape.index_head_dim; ++c)
    s.paged_index_keys[(size_t(s.page_table[3]) * 4 + 2) * shape.index_head_dim + c] =
        s.paged_index_keys[(size_t(s.page_table[1]) * 4 + 0) * shape.index_head_dim + c] = 10.0f;
  Queries queries = make_queries(rng, s, 1);
  for (auto &x : queries.index_q)
    x = 1.0f;
  RefOutput run = run_reference(s, queries, true, 3, 1);
  EXPECT_EQ(run.selected, (std::vector<int32_t>{1, 3, 5}));
}

} // namespace
