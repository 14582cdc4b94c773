// C ABI over MsaPlan for the Python benchmark driver (ctypes). Every function returns 0 on
// success and -1 on failure, with the message in m3k_last_error().
#include <exception>
#include <stdexcept>
#include <string>

#include "kernels/cuda/msa.h"

namespace {

thread_local std::string last_error;

template <typename F> int guarded(F &&body) {
  try {
    body();
    return 0;
  } catch (const std::exception &e) {
    last_error = e.what();
    return -1;
  }
}

m3::cuda::PagedLayer layer(const void *keys, const void *values, const void *index_keys,
                           int index_key_fp8) {
  m3::cuda::PagedLayer l;
  l.keys = static_cast<const __nv_bfloat16 *>(keys);
  l.values = static_cast<const __nv_bfloat16 *>(values);
  l.index_keys = index_keys;
  l.index_key_type =
      index_key_fp8 ? m3::cuda::IndexKeyType::kFP8E4M3 : m3::cuda::IndexKeyType::kBF16;
  return l;
}

using Plan = m3::cuda::MsaPlan;

} // namespace

extern "C" {

const char *m3k_last_error() { return last_error.c_str(); }

// page_tables: [num_sequences, page_table_stride] int32 on the host.
int m3k_plan_create(int num_sequences, const int *q_lens, const int *kv_lens,
                    const int *page_tables, int page_table_stride, int num_kv_heads, void *stream,
                    void **plan) {
  return guarded([&] {
    m3::cuda::BatchShape batch;
    batch.num_kv_heads = num_kv_heads;
    for (int s = 0; s < num_sequences; ++s) {
      batch.q_lens.push_back(q_lens[s]);
      batch.kv_lens.push_back(kv_lens[s]);
      batch.page_tables.emplace_back(page_tables + size_t(s) * page_table_stride,
                                     page_tables + size_t(s + 1) * page_table_stride);
    }
    *plan = new Plan(batch, static_cast<cudaStream_t>(stream));
  });
}

int m3k_plan_destroy(void *plan) {
  return guarded([&] { delete static_cast<Plan *>(plan); });
}

int m3k_score_blocks(void *plan, const void *index_keys, int index_key_fp8, const void *index_q,
                     void *stream) {
  return guarded([&] {
    static_cast<Plan *>(plan)->score_blocks(layer(nullptr, nullptr, index_keys, index_key_fp8),
                                            static_cast<const __nv_bfloat16 *>(index_q),
                                            static_cast<cudaStream_t>(stream));
  });
}

int m3k_select_topk(void *plan, int *selected, void *stream) {
  return guarded(
      [&] { static_cast<Plan *>(plan)->select_topk(selected, static_cast<cudaStream_t>(stream)); });
}

int m3k_sparse_attention(void *plan, const void *keys, const void *values, const void *q,
                         const int *selected, void *out, float *lse, void *stream) {
  return guarded([&] {
    static_cast<Plan *>(plan)->sparse_attention(
        layer(keys, values, nullptr, 0), static_cast<const __nv_bfloat16 *>(q), selected,
        static_cast<__nv_bfloat16 *>(out), lse, static_cast<cudaStream_t>(stream));
  });
}

// One stage of m3k_sparse_attention (0: selection inversion, 1: partials, 2: merge), for timing.
int m3k_sparse_attention_stage(void *plan, int stage, const void *keys, const void *values,
                               const void *q, const int *selected, void *out, float *lse,
                               void *stream) {
  return guarded([&] {
    const Plan &p = *static_cast<Plan *>(plan);
    const auto s = static_cast<cudaStream_t>(stream);
    if (stage == 0)
      p.invert_selection(selected, s);
    else if (stage == 1)
      p.sparse_partials(layer(keys, values, nullptr, 0), static_cast<const __nv_bfloat16 *>(q),
                        selected, s);
    else if (stage == 2)
      p.merge_sparse_partials(static_cast<__nv_bfloat16 *>(out), lse, s);
    else
      throw std::invalid_argument("m3k_sparse_attention_stage: stage must be 0, 1 or 2");
  });
}

int m3k_dense_attention(void *plan, const void *keys, const void *values, const void *q, void *out,
                        float *lse, void *stream) {
  return guarded([&] {
    static_cast<Plan *>(plan)->dense_attention(
        layer(keys, values, nullptr, 0), static_cast<const __nv_bfloat16 *>(q),
        static_cast<__nv_bfloat16 *>(out), lse, static_cast<cudaStream_t>(stream));
  });
}

} // extern "C"
