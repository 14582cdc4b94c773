// MSA indexer/top-k, sparse attention and dense attention kernels vs the CPU reference
// (src/kernels/cpu/attention_ref.h) on fresh random paged caches: unordered pages, NaN in every
// cache slot no sequence owns, NaN-poisoned outputs before each run. Long contexts check a random
// subset of query rows (the CPU reference is slow there). Needs a GPU.
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/attention_ref.h"
#include "kernels/cuda/msa.h"

namespace {

using m3::cuda::kBlockSize;
using m3::cuda::kHeadDim;
using m3::cuda::kTopkBlocks;

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call

constexpr int kNumKvHeads = 4;
constexpr int kNumHeads = kNumKvHeads * m3::cuda::kHeadsPerGroup;
constexpr uint16_t kBf16NaN = 0x7fc0;
constexpr uint8_t kE4m3NaN = 0x7f;

template <typename T> struct DeviceArray {
  T *data = nullptr;
  size_t size = 0;
  explicit DeviceArray(size_t n) : size(n) {
    EXPECT_EQ(cudaMalloc(&data, std::max<size_t>(n, 1) * sizeof(T)), cudaSuccess);
  }
  explicit DeviceArray(const std::vector<T> &host) : DeviceArray(host.size()) {
    EXPECT_EQ(cudaMemcpy(data, host.data(), size * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceArray() { cudaFree(data); }
  void poison(int byte) { EXPECT_EQ(cudaMemset(data, byte, size * sizeof(T)), cudaSuccess); }
  std::vector<T> download() const {
    std::vector<T> host(size);
    EXPECT_EQ(cudaMemcpy(host.data(), data, size * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }
};

// Fast parallel uniform(-sqrt3, sqrt3) draws (unit variance), seeded per call.
uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
float uniform_at(uint64_t seed, uint64_t i) {
  return (float(splitmix(seed ^ (i * 0x2545f4914f6cdd1dull)) >> 40) / float(1 << 24) * 2.f - 1.f) *
         1.7320508f;
}

// Random bf16 tensor: device bits and the exactly equal floats for the reference.
void random_bf16(uint64_t seed, size_t n, std::vector<uint16_t> &bits, std::vector<float> &values) {
  bits.resize(n);
  values.resize(n);
  m3::default_thread_pool().parallel_for(int64_t(n), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      bits[i] = m3::f32_to_bf16(uniform_at(seed, uint64_t(i)));
      values[i] = m3::bf16_to_f32(bits[i]);
    }
  });
}

void random_e4m3(uint64_t seed, size_t n, std::vector<uint8_t> &bits, std::vector<float> &values) {
  bits.resize(n);
  values.resize(n);
  m3::default_thread_pool().parallel_for(int64_t(n), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      bits[i] = __nv_cvt_float_to_fp8(uniform_at(seed, uint64_t(i)), __NV_SATFINITE, __NV_E4M3);
      values[i] = m3::e4m3_to_f32(bits[i]);
    }
  });
}

struct SequenceSpec {
  int32_t q_len, kv_len;
};

struct Case {
  std::string name;
  std::vector<SequenceSpec> sequences;
  bool fp8_index = false;
  int max_checked_queries = 1 << 30; // CPU reference on a random subset beyond this
  bool check_dense = true;
};

// A batch on a shared page pool with shuffled pages; slots past each sequence's end and spare
// pages are NaN in the device cache (any read of them that reaches an output poisons it).
struct Problem {
  Case spec;
  m3::cuda::BatchShape batch;
  int32_t num_pages = 0, num_queries = 0;
  std::vector<uint16_t> keys_bits, values_bits, index_bf16_bits, q_bits, index_q_bits;
  std::vector<uint8_t> index_fp8_bits;
  std::vector<float> keys, values, index_keys, q, index_q; // reference copies
  std::vector<int32_t> positions, query_sequence;
};

Problem make_problem(const Case &spec, uint64_t seed) {
  Problem p;
  p.spec = spec;
  p.batch.num_kv_heads = kNumKvHeads;
  int32_t total_blocks = 0;
  for (const auto &s : spec.sequences)
    total_blocks += (s.kv_len + kBlockSize - 1) / kBlockSize;
  p.num_pages = total_blocks + 3;
  std::vector<int32_t> pages(p.num_pages);
  std::iota(pages.begin(), pages.end(), 0);
  std::mt19937 rng{uint32_t(seed)};
  std::shuffle(pages.begin(), pages.end(), rng);
  std::vector<uint8_t> owned(size_t(p.num_pages) * kBlockSize, 0); // [page, slot]
  int32_t next = 0;
  for (int32_t s = 0; s < int32_t(spec.sequences.size()); ++s) {
    const auto &seq = spec.sequences[s];
    p.batch.q_lens.push_back(seq.q_len);
    p.batch.kv_lens.push_back(seq.kv_len);
    std::vector<int32_t> table;
    for (int32_t b = 0; b * kBlockSize < seq.kv_len; ++b) {
      table.push_back(pages[next++]);
      for (int j = 0; j < kBlockSize && b * kBlockSize + j < seq.kv_len; ++j)
        owned[size_t(table.back()) * kBlockSize + j] = 1;
    }
    p.batch.page_tables.push_back(table);
    for (int32_t i = 0; i < seq.q_len; ++i) {
      p.positions.push_back(seq.kv_len - seq.q_len + i);
      p.query_sequence.push_back(s);
    }
  }
  p.num_queries = int32_t(p.positions.size());
  const size_t kv_elems = size_t(p.num_pages) * kNumKvHeads * kBlockSize * kHeadDim;
  const size_t index_elems = size_t(p.num_pages) * kBlockSize * kHeadDim;
  random_bf16(seed * 7 + 1, kv_elems, p.keys_bits, p.keys);
  random_bf16(seed * 7 + 2, kv_elems, p.values_bits, p.values);
  if (spec.fp8_index)
    random_e4m3(seed * 7 + 3, index_elems, p.index_fp8_bits, p.index_keys);
  else
    random_bf16(seed * 7 + 3, index_elems, p.index_bf16_bits, p.index_keys);
  random_bf16(seed * 7 + 4, size_t(p.num_queries) * kNumHeads * kHeadDim, p.q_bits, p.q);
  random_bf16(seed * 7 + 5, size_t(p.num_queries) * kNumKvHeads * kHeadDim, p.index_q_bits,
              p.index_q);
  if (spec.fp8_index) // FP8 index keys imply e4m3 index queries (RNE, saturating): Q8KV8
    for (float &x : p.index_q)
      x = m3::e4m3_to_f32(__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3));
  // NaN into every slot no sequence owns (device copy only; the reference never reads them).
  for (int32_t page = 0; page < p.num_pages; ++page)
    for (int j = 0; j < kBlockSize; ++j) {
      if (owned[size_t(page) * kBlockSize + j])
        continue;
      for (int h = 0; h < kNumKvHeads; ++h) {
        const size_t row = ((size_t(page) * kNumKvHeads + h) * kBlockSize + j) * kHeadDim;
        std::fill_n(p.keys_bits.begin() + row, kHeadDim, kBf16NaN);
        std::fill_n(p.values_bits.begin() + row, kHeadDim, kBf16NaN);
      }
      const size_t row = (size_t(page) * kBlockSize + j) * kHeadDim;
      if (spec.fp8_index)
        std::fill_n(p.index_fp8_bits.begin() + row, kHeadDim, kE4m3NaN);
      else
        std::fill_n(p.index_bf16_bits.begin() + row, kHeadDim, kBf16NaN);
    }
  return p;
}

m3::cpu::PagedKv reference_view(const Problem &p, int32_t sequence) {
  m3::cpu::PagedKv kv;
  kv.keys = p.keys.data();
  kv.values = p.values.data();
  kv.index_keys = p.index_keys.data();
  kv.page_table = p.batch.page_tables[sequence].data();
  kv.kv_len = p.batch.kv_lens[sequence];
  kv.block_size = kBlockSize;
  kv.num_kv_heads = kNumKvHeads;
  kv.head_dim = kHeadDim;
  kv.index_head_dim = kHeadDim;
  return kv;
}

// Query rows the CPU reference checks: all, or first, last and a random sample.
std::vector<int32_t> checked_rows(const Problem &p, uint64_t seed) {
  std::vector<int32_t> rows(p.num_queries);
  std::iota(rows.begin(), rows.end(), 0);
  if (p.num_queries <= p.spec.max_checked_queries)
    return rows;
  std::mt19937 rng{uint32_t(seed) + 17};
  std::shuffle(rows.begin() + 1, rows.end() - 1, rng);
  rows.resize(p.spec.max_checked_queries - 1);
  rows.push_back(p.num_queries - 1);
  std::sort(rows.begin(), rows.end());
  return rows;
}

// Gathers the given query rows of a [num_queries, width] float array.
std::vector<float> gather(const std::vector<float> &all, const std::vector<int32_t> &rows,
                          size_t width) {
  std::vector<float> out(rows.size() * width);
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy_n(all.begin() + size_t(rows[i]) * width, width, out.begin() + i * width);
  return out;
}

// Runs fn(sequence, rows of that sequence among `rows`, their indices into `rows`).
template <typename F> void per_sequence(const Problem &p, const std::vector<int32_t> &rows, F fn) {
  for (int32_t s = 0; s < int32_t(p.spec.sequences.size()); ++s) {
    std::vector<int32_t> seq_rows, indices;
    for (size_t i = 0; i < rows.size(); ++i)
      if (p.query_sequence[rows[i]] == s)
        seq_rows.push_back(rows[i]), indices.push_back(int32_t(i));
    if (!seq_rows.empty())
      fn(s, seq_rows, indices);
  }
}

double block_score(const Problem &p, int32_t row, int head, int32_t block) {
  const auto kv = reference_view(p, p.query_sequence[row]);
  const float *q = &p.index_q[(size_t(row) * kNumKvHeads + head) * kHeadDim];
  double best = -INFINITY;
  for (int j = 0; j < kBlockSize; ++j) {
    const int32_t position = block * kBlockSize + j;
    if (position > p.positions[row])
      break;
    const float *k = &p.index_keys[(size_t(kv.page_table[block]) * kBlockSize + j) * kHeadDim];
    double dot = 0;
    for (int d = 0; d < kHeadDim; ++d)
      dot += double(q[d]) * k[d];
    best = std::max(best, dot);
  }
  return best;
}

// Structural top-k check plus set equality with the reference, ties within tolerance allowed.
void check_selection(const Problem &p, const std::vector<int32_t> &rows,
                     const std::vector<int32_t> &gpu, const std::vector<int32_t> &ref) {
  int mismatched_rows = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const int32_t row = rows[i];
    const int32_t local = p.positions[row] / kBlockSize;
    const int valid = std::min(kTopkBlocks, local + 1);
    for (int h = 0; h < kNumKvHeads; ++h) {
      const int32_t *g = &gpu[(size_t(row) * kNumKvHeads + h) * kTopkBlocks];
      const int32_t *r = &ref[(i * kNumKvHeads + h) * kTopkBlocks];
      const std::string where = "query " + std::to_string(row) + " head " + std::to_string(h);
      ASSERT_EQ(g[valid - 1], local) << where << ": local block must be the last valid entry";
      for (int s = valid; s < kTopkBlocks; ++s)
        ASSERT_EQ(g[s], -1) << where << " slot " << s;
      std::set<int32_t> gs(g, g + valid - 1), rs(r, r + valid - 1);
      ASSERT_EQ(int(gs.size()), valid - 1) << where << ": duplicate blocks";
      for (int32_t b : gs)
        ASSERT_TRUE(b >= 0 && b < local) << where << ": block " << b;
      if (gs == rs)
        continue;
      ++mismatched_rows;
      // Allowed only as a near-tie: every block chosen instead of a reference block scores
      // within tolerance of the weakest reference choice.
      double weakest_ref = INFINITY;
      for (int32_t b : rs)
        weakest_ref = std::min(weakest_ref, block_score(p, row, h, b));
      for (int32_t b : gs) {
        if (rs.count(b))
          continue;
        const double score = block_score(p, row, h, b);
        EXPECT_GE(score, weakest_ref - 1e-3 * (1 + std::fabs(weakest_ref)))
            << where << ": block " << b << " is not a near-tie";
      }
    }
  }
  if (mismatched_rows > 0)
    std::printf("  selection: %d near-tie rows\n", mismatched_rows);
}

struct Comparison {
  double max_abs = 0, bound = 0, ref_norm = 0, diff_norm = 0, max_lse = 0;
  size_t non_finite = 0;
};

// FA3-style rule (design.md §6): max|out - ref32| <= 2 * max|bf16(ref32) - ref32| + atol, where
// atol = 2^-8 * max|V| covers the bf16 rounding of the probabilities (|dP| <= 2^-9 P) and of
// the block partials; LSE within 1e-3.
Comparison compare_attention(const Problem &p, const std::vector<int32_t> &rows,
                             const std::vector<uint16_t> &out, const std::vector<float> &lse,
                             const std::vector<float> &ref, const std::vector<float> &ref_lse) {
  Comparison c;
  double rounding = 0, max_v = 0;
  for (float v : p.values)
    max_v = std::max<double>(max_v, std::fabs(v));
  for (size_t i = 0; i < rows.size(); ++i) {
    for (int e = 0; e < kNumHeads * kHeadDim; ++e) {
      const float r = ref[i * kNumHeads * kHeadDim + e];
      const float o = m3::bf16_to_f32(out[size_t(rows[i]) * kNumHeads * kHeadDim + e]);
      if (!std::isfinite(o))
        ++c.non_finite;
      c.max_abs = std::max<double>(c.max_abs, std::fabs(o - r));
      rounding = std::max<double>(rounding, std::fabs(m3::bf16_to_f32(m3::f32_to_bf16(r)) - r));
      c.ref_norm += double(r) * r;
      c.diff_norm += double(o - r) * (o - r);
    }
    for (int h = 0; h < kNumHeads; ++h) {
      const float l = lse[size_t(rows[i]) * kNumHeads + h];
      if (!std::isfinite(l))
        ++c.non_finite;
      c.max_lse = std::max<double>(c.max_lse, std::fabs(l - ref_lse[i * kNumHeads + h]));
    }
  }
  c.bound = 2 * rounding + std::ldexp(max_v, -8);
  c.ref_norm = std::sqrt(c.ref_norm);
  c.diff_norm = std::sqrt(c.diff_norm);
  return c;
}

void expect_close(const char *what, const Comparison &c) {
  std::printf("  %-7s max|err| %.3e (bound %.3e) rel-L2 %.2e max|dLSE| %.2e non-finite %zu\n", what,
              c.max_abs, c.bound, c.diff_norm / c.ref_norm, c.max_lse, c.non_finite);
  EXPECT_EQ(c.non_finite, 0u) << what;
  EXPECT_LE(c.max_abs, c.bound) << what;
  EXPECT_LE(c.max_lse, 1e-3) << what;
}

// CPU reference attention for `rows` (selected: GPU selection rows, or nullptr for dense).
void reference_attention(const Problem &p, const std::vector<int32_t> &rows,
                         const std::vector<int32_t> *selected, std::vector<float> &out,
                         std::vector<float> &lse) {
  out.assign(rows.size() * kNumHeads * kHeadDim, NAN);
  lse.assign(rows.size() * kNumHeads, NAN);
  per_sequence(
      p, rows,
      [&](int32_t s, const std::vector<int32_t> &seq_rows, const std::vector<int32_t> &indices) {
        const auto q = gather(p.q, seq_rows, size_t(kNumHeads) * kHeadDim);
        std::vector<int32_t> positions, sel;
        for (int32_t r : seq_rows) {
          positions.push_back(p.positions[r]);
          if (selected)
            sel.insert(sel.end(), selected->begin() + size_t(r) * kNumKvHeads * kTopkBlocks,
                       selected->begin() + size_t(r + 1) * kNumKvHeads * kTopkBlocks);
        }
        std::vector<float> o(seq_rows.size() * kNumHeads * kHeadDim),
            l(seq_rows.size() * kNumHeads);
        m3::cpu::AttentionParams params;
        params.q = q.data();
        params.positions = positions.data();
        params.num_queries = int(seq_rows.size());
        params.num_heads = kNumHeads;
        params.scale = 1.0f / std::sqrt(float(kHeadDim));
        params.selected = selected ? sel.data() : nullptr;
        params.topk_blocks = kTopkBlocks;
        params.out = o.data();
        params.lse = l.data();
        m3::cpu::paged_attention(reference_view(p, s), params);
        for (size_t i = 0; i < indices.size(); ++i) {
          std::copy_n(o.begin() + i * kNumHeads * kHeadDim, kNumHeads * kHeadDim,
                      out.begin() + size_t(indices[i]) * kNumHeads * kHeadDim);
          std::copy_n(l.begin() + i * kNumHeads, kNumHeads,
                      lse.begin() + size_t(indices[i]) * kNumHeads);
        }
      });
}

void run_case(const Case &spec) {
  const uint64_t seed = std::random_device{}() | (uint64_t(std::random_device{}()) << 32);
  std::printf("[%s] seed %llu\n", spec.name.c_str(), (unsigned long long)seed);
  const auto t0 = std::chrono::steady_clock::now();
  const Problem p = make_problem(spec, seed);
  DeviceArray<uint16_t> keys(p.keys_bits), values(p.values_bits), q(p.q_bits),
      index_q(p.index_q_bits);
  DeviceArray<uint16_t> index_bf16(spec.fp8_index ? std::vector<uint16_t>{} : p.index_bf16_bits);
  DeviceArray<uint8_t> index_fp8(spec.fp8_index ? p.index_fp8_bits : std::vector<uint8_t>{});
  m3::cuda::PagedLayer layer;
  layer.keys = reinterpret_cast<const __nv_bfloat16 *>(keys.data);
  layer.values = reinterpret_cast<const __nv_bfloat16 *>(values.data);
  layer.index_keys = spec.fp8_index ? static_cast<const void *>(index_fp8.data) : index_bf16.data;
  layer.index_key_type =
      spec.fp8_index ? m3::cuda::IndexKeyType::kFP8E4M3 : m3::cuda::IndexKeyType::kBF16;
  m3::cuda::MsaPlan plan(p.batch, nullptr);
  DeviceArray<int32_t> selected(size_t(p.num_queries) * kNumKvHeads * kTopkBlocks);
  DeviceArray<uint16_t> out(size_t(p.num_queries) * kNumHeads * kHeadDim);
  DeviceArray<float> lse(size_t(p.num_queries) * kNumHeads);
  const auto rows = checked_rows(p, seed);

  // Indexer + top-k.
  selected.poison(0x7f);
  plan.select(layer, reinterpret_cast<const __nv_bfloat16 *>(index_q.data), selected.data, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  const auto gpu_selected = selected.download();
  std::vector<int32_t> ref_selected(rows.size() * kNumKvHeads * kTopkBlocks);
  per_sequence(
      p, rows,
      [&](int32_t s, const std::vector<int32_t> &seq_rows, const std::vector<int32_t> &indices) {
        const auto iq = gather(p.index_q, seq_rows, size_t(kNumKvHeads) * kHeadDim);
        std::vector<int32_t> positions, sel(seq_rows.size() * kNumKvHeads * kTopkBlocks);
        for (int32_t r : seq_rows)
          positions.push_back(p.positions[r]);
        m3::cpu::MsaSelectParams params;
        params.index_q = iq.data();
        params.positions = positions.data();
        params.num_queries = int(seq_rows.size());
        params.num_index_heads = kNumKvHeads;
        params.topk_blocks = kTopkBlocks;
        params.selected = sel.data();
        m3::cpu::msa_select(reference_view(p, s), params);
        for (size_t i = 0; i < indices.size(); ++i)
          std::copy_n(sel.begin() + i * kNumKvHeads * kTopkBlocks, kNumKvHeads * kTopkBlocks,
                      ref_selected.begin() + size_t(indices[i]) * kNumKvHeads * kTopkBlocks);
      });
  check_selection(p, rows, gpu_selected, ref_selected);

  // Sparse attention over the GPU selection (verified above), twice: bitwise deterministic.
  std::vector<float> ref, ref_lse;
  out.poison(0xff);
  lse.poison(0xff);
  plan.sparse_attention(layer, reinterpret_cast<const __nv_bfloat16 *>(q.data), selected.data,
                        reinterpret_cast<__nv_bfloat16 *>(out.data), lse.data, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  const auto sparse_out = out.download();
  const auto sparse_lse = lse.download();
  out.poison(0xff);
  plan.sparse_attention(layer, reinterpret_cast<const __nv_bfloat16 *>(q.data), selected.data,
                        reinterpret_cast<__nv_bfloat16 *>(out.data), lse.data, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_TRUE(out.download() == sparse_out) << "sparse attention is not deterministic";
  reference_attention(p, rows, &gpu_selected, ref, ref_lse);
  expect_close("sparse", compare_attention(p, rows, sparse_out, sparse_lse, ref, ref_lse));

  // Dense attention; contexts within 16 blocks also check MSA == dense.
  if (spec.check_dense) {
    out.poison(0xff);
    lse.poison(0xff);
    plan.dense_attention(layer, reinterpret_cast<const __nv_bfloat16 *>(q.data),
                         reinterpret_cast<__nv_bfloat16 *>(out.data), lse.data, nullptr);
    CUDA_OK(cudaDeviceSynchronize());
    reference_attention(p, rows, nullptr, ref, ref_lse);
    expect_close("dense", compare_attention(p, rows, out.download(), lse.download(), ref, ref_lse));
    bool short_context = true;
    for (const auto &s : spec.sequences)
      short_context &= s.kv_len <= kTopkBlocks * kBlockSize;
    if (short_context)
      expect_close("msa=dns", compare_attention(p, rows, sparse_out, sparse_lse, ref, ref_lse));
  }
  std::printf("  %zu of %d query rows checked, %.1f s\n", rows.size(), p.num_queries,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

TEST(MsaCuda, SingleToken) { run_case({"one token", {{1, 1}}}); }
TEST(MsaCuda, BlockEdges) { run_case({"kv 127/128/129", {{1, 127}, {3, 128}, {2, 129}}}); }
TEST(MsaCuda, ShortPrefillEqualsDense) { run_case({"prefill 1000 (< 16 blocks)", {{1000, 1000}}}); }
TEST(MsaCuda, DecodeRaggedBatch) {
  run_case({"decode B=7 ragged",
            {{1, 2049}, {1, 3000}, {1, 4097}, {1, 9000}, {1, 20000}, {1, 130}, {1, 33333}}});
}
TEST(MsaCuda, DecodeMtp) { run_case({"decode MTP q=8,16", {{8, 5000}, {16, 12345}, {3, 2100}}}); }
TEST(MsaCuda, DecodeFp8Index) { run_case({"decode fp8 index", {{1, 7000}, {4, 40000}}, true}); }
// Long enough that each decode score CTA wraps its e4m3 stage ring several times.
TEST(MsaCuda, DecodeFp8IndexLong) {
  run_case({"decode fp8 index 300K, MTP 2, ragged",
            {{1, 300000}, {2, 150001}, {1, 20000}},
            true,
            4,
            false});
}
TEST(MsaCuda, PrefillFromScratch) { run_case({"prefill 5000", {{5000, 5000}}, false, 1200}); }
TEST(MsaCuda, PrefillRaggedChunked) {
  run_case({"prefill ragged + chunk on prefix", {{300, 2500}, {700, 700}, {1000, 9000}}});
}
TEST(MsaCuda, PrefillFp8Index) { run_case({"prefill fp8 index", {{3000, 6000}}, true, 800}); }
TEST(MsaCuda, Prefill128K) { run_case({"prefill 128K", {{131072, 131072}}, false, 48}); }
TEST(MsaCuda, Decode1M) { run_case({"decode 1M, MTP 4", {{4, 1048576}}, false, 4}); }
TEST(MsaCuda, Chunk1M) {
  run_case({"chunk 2K on a 1M prefix, fp8 index", {{2048, 1048576}}, true, 8, false});
}

} // namespace
