// Paged attention over 128-token K/V blocks, one kernel for three schedules:
//  - kDense: a CTA takes up to 4 consecutive queries of one sequence and KV head and walks the
//    logical blocks of its split with online softmax (dense causal layers);
//  - kSparseEdges: one warp per (query, KV head, selected slot) edge (decode: no inversion);
//  - kSparseK2q: KV-block-major prefill: one CTA per (KV head, block, chunk of the queries that
//    selected it) loads the block once and runs every gathered query through it.
// In all three a warp computes the 16 q heads of one query against the block with mma.sync
// (M = 16 heads, keys in two halves of 64), exact fp32 softmax, and writes either the final
// output or a block-normalised partial (O, LSE) that the combine kernel merges.
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/mma.cuh"

namespace m3::cuda::detail {
namespace {

constexpr int kRowBytes = kHeadDim * 2;
constexpr int kTileBytes = kBlockSize * kRowBytes;  // one K or V block of one KV head

struct WarpState {
  uint32_t q[8][4];  // A fragments: heads g, g + 8 of the group, 128 dims in 8 k-steps
  float o[16][4];    // output accumulators: 16 n-tiles of 8 dims
  float m[2], l[2];  // running max (log2 domain) and per-thread partial row sums
};

__device__ __forceinline__ void load_query(WarpState& s, const __nv_bfloat16* q_heads, int g,
                                           int tig) {
  const __nv_bfloat16* row0 = q_heads + g * kHeadDim;
  const __nv_bfloat16* row1 = q_heads + (g + 8) * kHeadDim;
#pragma unroll
  for (int ks = 0; ks < 8; ++ks) {
    const int col = ks * 16 + 2 * tig;
    s.q[ks][0] = *reinterpret_cast<const uint32_t*>(row0 + col);
    s.q[ks][1] = *reinterpret_cast<const uint32_t*>(row1 + col);
    s.q[ks][2] = *reinterpret_cast<const uint32_t*>(row0 + col + 8);
    s.q[ks][3] = *reinterpret_cast<const uint32_t*>(row1 + col + 8);
  }
#pragma unroll
  for (int nt = 0; nt < 16; ++nt)
#pragma unroll
    for (int c = 0; c < 4; ++c) s.o[nt][c] = 0.f;
  s.m[0] = s.m[1] = -INFINITY;
  s.l[0] = s.l[1] = 0.f;
}

// Folds keys [block * 128, block * 128 + 128) with j <= position into the warp's state.
__device__ __forceinline__ void attend_block(WarpState& s, uint32_t k_tile, uint32_t v_tile,
                                             int block, int position, float scale_log2, int lane) {
  const int tig = lane % 4;
#pragma unroll 1
  for (int half = 0; half < 2; ++half) {
    const int first_key = block * kBlockSize + half * 64;
    if (first_key > position) break;
    float sc[8][4];
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
      for (int c = 0; c < 4; ++c) sc[nt][c] = 0.f;
#pragma unroll
      for (int ks2 = 0; ks2 < 4; ++ks2) {
        uint32_t b[4];
        ldmatrix_x4(b, k_tile + swizzled(half * 64 + nt * 8 + lane % 8, ks2 * 4 + lane / 8,
                                         kRowBytes));
        mma_bf16(sc[nt], s.q[2 * ks2], b[0], b[1]);
        mma_bf16(sc[nt], s.q[2 * ks2 + 1], b[2], b[3]);
      }
    }
    float row_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int key = first_key + nt * 8 + 2 * tig + (c & 1);
        sc[nt][c] = key <= position ? sc[nt][c] * scale_log2 : -INFINITY;
        row_max[c / 2] = fmaxf(row_max[c / 2], sc[nt][c]);
      }
    float alpha[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      row_max[r] = fmaxf(row_max[r], __shfl_xor_sync(0xffffffffu, row_max[r], 1));
      row_max[r] = fmaxf(row_max[r], __shfl_xor_sync(0xffffffffu, row_max[r], 2));
      const float m_new = fmaxf(s.m[r], row_max[r]);  // finite: key first_key is visible
      alpha[r] = exp2f(s.m[r] - m_new);
      s.m[r] = m_new;
      s.l[r] *= alpha[r];
    }
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        sc[nt][c] = exp2f(sc[nt][c] - s.m[c / 2]);
        s.l[c / 2] += sc[nt][c];
      }
#pragma unroll
    for (int nt = 0; nt < 16; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) s.o[nt][c] *= alpha[c / 2];
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      const uint32_t p[4] = {pack_bf16(sc[2 * kk][0], sc[2 * kk][1]),
                             pack_bf16(sc[2 * kk][2], sc[2 * kk][3]),
                             pack_bf16(sc[2 * kk + 1][0], sc[2 * kk + 1][1]),
                             pack_bf16(sc[2 * kk + 1][2], sc[2 * kk + 1][3])};
      const int m = lane / 8;
      const int key_row = half * 64 + kk * 16 + (m & 1) * 8 + lane % 8;
#pragma unroll
      for (int nt2 = 0; nt2 < 8; ++nt2) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, v_tile + swizzled(key_row, nt2 * 2 + m / 2, kRowBytes));
        mma_bf16(s.o[2 * nt2], p, b[0], b[1]);
        mma_bf16(s.o[2 * nt2 + 1], p, b[2], b[3]);
      }
    }
  }
}

// Writes the normalised output of heads g and g + 8: out rows are [head, 128] with row_stride
// elements between heads; lse entries lse_stride apart. A state that saw no key writes O = 0,
// LSE = -inf.
__device__ __forceinline__ void store_output(WarpState& s, __nv_bfloat16* out, size_t row_stride,
                                             float* lse, size_t lse_stride, int lane) {
  const int g = lane / 4, tig = lane % 4;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    s.l[r] += __shfl_xor_sync(0xffffffffu, s.l[r], 1);
    s.l[r] += __shfl_xor_sync(0xffffffffu, s.l[r], 2);
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int head = g + 8 * r;
    const float inverse = s.l[r] > 0.f ? 1.f / s.l[r] : 0.f;
    __nv_bfloat16* row = out + head * row_stride;
#pragma unroll
    for (int nt = 0; nt < 16; ++nt)
      *reinterpret_cast<uint32_t*>(row + nt * 8 + 2 * tig) =
          pack_bf16(s.o[nt][2 * r] * inverse, s.o[nt][2 * r + 1] * inverse);
    if (lse != nullptr && tig == 0)
      lse[head * lse_stride] =
          s.l[r] > 0.f ? (s.m[r] + __log2f(s.l[r])) * 0.6931471805599453f : -INFINITY;
  }
}

template <AttentionMode kMode>
__global__ void __launch_bounds__(kAttentionThreads) attention_kernel(AttentionParams p) {
  extern __shared__ __align__(128) uint8_t smem[];
  const uint32_t k_tile = smem_address(smem), v_tile = k_tile + kTileBytes;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int num_warps = blockDim.x / 32;
  const int num_heads = p.num_kv_heads * kHeadsPerGroup;

  // Resolve the work: sequence, KV head, block range, and a query list.
  int sequence, kv_head, block_begin, block_end, slot = -1, count;
  int query_begin = 0;                  // kDense: consecutive queries
  const int32_t* entries = nullptr;     // kSparseK2q: query * 16 + slot
  int edge_query = 0;                   // kSparseEdges
  if constexpr (kMode == AttentionMode::kDense) {
    const DenseWork w = p.dense_work[blockIdx.x];
    sequence = w.sequence, kv_head = w.kv_head, block_begin = w.block_begin;
    block_end = w.block_end, slot = w.slot, count = w.query_count, query_begin = w.query_begin;
  } else if constexpr (kMode == AttentionMode::kSparseEdges) {
    const int edge = blockIdx.x;  // (query, kv_head, slot)
    const int32_t block = p.selected[edge];
    if (block < 0) return;
    edge_query = edge / (p.num_kv_heads * kTopkBlocks);
    kv_head = (edge / kTopkBlocks) % p.num_kv_heads;
    slot = edge % kTopkBlocks;
    sequence = p.query_sequence[edge_query];
    block_begin = block, block_end = block + 1, count = 1;
  } else {
    const int num_rows = p.num_kv_heads * p.total_blocks;
    const int cta = blockIdx.x;
    if (cta >= p.k2q_cta_start[num_rows]) return;
    int lo = 0, hi = num_rows;  // last row with cta_start[row] <= cta
    while (hi - lo > 1) {
      const int mid = (lo + hi) / 2;
      if (p.k2q_cta_start[mid] <= cta) lo = mid; else hi = mid;
    }
    const int row = lo;
    kv_head = row / p.total_blocks;
    const int global_block = row % p.total_blocks;
    int s_lo = 0, s_hi = p.num_sequences;
    while (s_hi - s_lo > 1) {
      const int mid = (s_lo + s_hi) / 2;
      if (p.block_offset[mid] <= global_block) s_lo = mid; else s_hi = mid;
    }
    sequence = s_lo;
    block_begin = global_block - p.block_offset[sequence];
    block_end = block_begin + 1;
    const int first = p.k2q_row_start[row] + (cta - p.k2q_cta_start[row]) * kK2qQueriesPerCta;
    count = min(kK2qQueriesPerCta, p.k2q_row_start[row + 1] - first);
    entries = p.k2q_entries + first;
  }

  const int32_t* page_table = p.page_tables + size_t(sequence) * p.page_table_stride;
  const size_t head_stride = size_t(kBlockSize) * kHeadDim;
  int loaded_block = -1;
  WarpState s;
  const int rounds = (count + num_warps - 1) / num_warps;
  for (int round = 0; round < rounds; ++round) {
    const int index = round * num_warps + warp;
    const bool has_query = index < count;
    int query = 0, query_slot = slot;
    if (has_query) {
      if constexpr (kMode == AttentionMode::kDense) {
        query = query_begin + index;
      } else if constexpr (kMode == AttentionMode::kSparseEdges) {
        query = edge_query;
      } else {
        query = entries[index] / kTopkBlocks;
        query_slot = entries[index] % kTopkBlocks;
      }
      load_query(s, p.q + (size_t(query) * num_heads + kv_head * kHeadsPerGroup) * kHeadDim,
                 lane / 4, lane % 4);
    }
    const int position = has_query ? p.query_position[query] : -1;
    for (int block = block_begin; block < block_end; ++block) {
      if (block != loaded_block) {
        __syncthreads();
        const size_t page = page_table[block];
        const size_t offset = (page * p.num_kv_heads + kv_head) * head_stride;
        load_tile_async(k_tile, reinterpret_cast<const uint8_t*>(p.keys + offset), kBlockSize,
                        kRowBytes);
        load_tile_async(v_tile, reinterpret_cast<const uint8_t*>(p.values + offset), kBlockSize,
                        kRowBytes);
        cp_async_commit();
        cp_async_wait<0>();
        __syncthreads();
        const int valid_rows = p.kv_lens[sequence] - block * kBlockSize;
        if (valid_rows < kBlockSize) {
          // Slots past the sequence end hold whatever the page had; P is 0 there but 0 * NaN
          // is not, so clear those V rows.
          uint8_t* v_bytes = smem + kTileBytes;
          for (int i = threadIdx.x; i < (kBlockSize - valid_rows) * 16; i += blockDim.x)
            *reinterpret_cast<uint4*>(v_bytes + swizzled(valid_rows + i / 16, i % 16, kRowBytes)) =
                make_uint4(0, 0, 0, 0);
          __syncthreads();
        }
        loaded_block = block;
      }
      if (has_query && block * kBlockSize <= position)
        attend_block(s, k_tile, v_tile, block, position, p.scale_log2, lane);
    }
    if (!has_query) continue;
    const size_t head0 = size_t(query) * num_heads + kv_head * kHeadsPerGroup;
    if (query_slot < 0) {
      store_output(s, p.out + head0 * kHeadDim, kHeadDim, p.lse ? p.lse + head0 : nullptr, 1,
                   lane);
    } else {
      store_output(s, p.partial_o + (head0 * p.num_slots + query_slot) * kHeadDim,
                   size_t(p.num_slots) * kHeadDim, p.partial_lse + head0 * p.num_slots + query_slot,
                   p.num_slots, lane);
    }
  }
}

template <AttentionMode kMode>
void launch_mode(const AttentionParams& params, int32_t grid, int threads, cudaStream_t stream) {
  const int smem = 2 * kTileBytes;
  M3_CUDA_CHECK(cudaFuncSetAttribute(attention_kernel<kMode>,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  attention_kernel<kMode><<<grid, threads, smem, stream>>>(params);
  M3_CUDA_CHECK_LAUNCH();
}

// One warp per (query, head): LSE-weighted merge of the valid partials.
__global__ void __launch_bounds__(256) combine_kernel(CombineParams p) {
  const int64_t task = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (task >= int64_t(p.num_queries) * p.num_heads) return;
  const int query = int(task / p.num_heads);
  const int local_block = p.query_position[query] / kBlockSize;
  const int valid = min(p.num_slots, local_block / p.blocks_per_slot + 1);
  const float* lse = p.partial_lse + task * p.num_slots;
  float m = -INFINITY;
  for (int s = lane; s < valid; s += 32) m = fmaxf(m, lse[s]);
  m = warp_max(m);
  float acc[4] = {0.f, 0.f, 0.f, 0.f}, total = 0.f;
  const __nv_bfloat16* partial = p.partial_o + task * p.num_slots * kHeadDim + lane * 4;
  for (int s = 0; s < valid; ++s) {
    const float weight = m == -INFINITY ? 0.f : __expf(lse[s] - m);
    total += weight;
    const uint2 bits = *reinterpret_cast<const uint2*>(partial + size_t(s) * kHeadDim);
    const float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&bits.x));
    const float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&bits.y));
    acc[0] += weight * lo.x, acc[1] += weight * lo.y, acc[2] += weight * hi.x;
    acc[3] += weight * hi.y;
  }
  const float inverse = total > 0.f ? 1.f / total : 0.f;
  uint2 packed;
  packed.x = pack_bf16(acc[0] * inverse, acc[1] * inverse);
  packed.y = pack_bf16(acc[2] * inverse, acc[3] * inverse);
  *reinterpret_cast<uint2*>(p.out + task * kHeadDim + lane * 4) = packed;
  if (p.lse != nullptr && lane == 0) p.lse[task] = total > 0.f ? m + __logf(total) : -INFINITY;
}

}  // namespace

void launch_attention(AttentionMode mode, const AttentionParams& params, int32_t grid,
                      cudaStream_t stream) {
  if (grid == 0) return;
  if (mode == AttentionMode::kDense)
    launch_mode<AttentionMode::kDense>(params, grid, kAttentionThreads, stream);
  else if (mode == AttentionMode::kSparseEdges)
    launch_mode<AttentionMode::kSparseEdges>(params, grid, 32, stream);
  else if (mode == AttentionMode::kSparseK2q)
    launch_mode<AttentionMode::kSparseK2q>(params, grid, kAttentionThreads, stream);
  else
    throw std::runtime_error("attention: unknown mode");
}

void launch_combine(const CombineParams& params, cudaStream_t stream) {
  const int64_t tasks = int64_t(params.num_queries) * params.num_heads;
  if (tasks == 0) return;
  const int warps_per_cta = 8;
  combine_kernel<<<int((tasks + warps_per_cta - 1) / warps_per_cta), 32 * warps_per_cta, 0,
                   stream>>>(params);
  M3_CUDA_CHECK_LAUNCH();
}

}  // namespace m3::cuda::detail
