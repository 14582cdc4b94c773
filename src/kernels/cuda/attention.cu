// Paged attention over 128-token K/V blocks, one kernel for two schedules:
//  - kDense: a CTA takes up to 4 consecutive queries of one sequence and KV head and walks the
//    logical blocks of its split with online softmax (dense causal layers);
//  - kSparseEdges: one CTA per (query, KV head, selected slot) edge, each of its 4 warps taking a
//    quarter of the block, the quarters merged in shared memory into the edge's partial (decode:
//    no inversion, short latency).
// In both a warp computes the 16 q heads of one query against the block with mma.sync
// (M = 16 heads, keys in two halves of 64), exact fp32 softmax, and writes either the final
// output or a block-normalised partial (O, LSE) that the combine kernel merges. The KV-block-major
// prefill schedule runs on wgmma in attention_k2q.cu.
#include "kernels/cuda/attention_warp.cuh"
#include "kernels/cuda/dependent_launch.cuh"

namespace m3::cuda::detail {
namespace {

// Folds the keys of sub-tiles [sub_begin, sub_end) (kSubKeys keys each) of the block with
// j <= position into the warp's state.
template <int kSubKeys>
__device__ __forceinline__ void attend_block(WarpState &s, uint32_t k_tile, uint32_t v_tile,
                                             int block, int position, float scale_log2, int lane,
                                             int sub_begin, int sub_end) {
  constexpr int kTiles = kSubKeys / 8;
  const int tig = lane % 4;
#pragma unroll 1
  for (int sub = sub_begin; sub < sub_end; ++sub) {
    const int first_row = sub * kSubKeys;
    const int first_key = block * kBlockSize + first_row;
    if (first_key > position)
      break;
    float sc[kTiles][4];
#pragma unroll
    for (int nt = 0; nt < kTiles; ++nt) {
#pragma unroll
      for (int c = 0; c < 4; ++c)
        sc[nt][c] = 0.f;
#pragma unroll
      for (int ks2 = 0; ks2 < 4; ++ks2) {
        uint32_t b[4];
        ldmatrix_x4(b, k_tile +
                           swizzled(first_row + nt * 8 + lane % 8, ks2 * 4 + lane / 8, kRowBytes));
        mma_bf16(sc[nt], s.q[2 * ks2], b[0], b[1]);
        mma_bf16(sc[nt], s.q[2 * ks2 + 1], b[2], b[3]);
      }
    }
    float row_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < kTiles; ++nt)
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
      const float m_new = fmaxf(s.m[r], row_max[r]); // finite: key first_key is visible
      alpha[r] = exp2f(s.m[r] - m_new);
      s.m[r] = m_new;
      s.l[r] *= alpha[r];
    }
#pragma unroll
    for (int nt = 0; nt < kTiles; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        sc[nt][c] = exp2f(sc[nt][c] - s.m[c / 2]);
        s.l[c / 2] += sc[nt][c];
      }
#pragma unroll
    for (int nt = 0; nt < 16; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c)
        s.o[nt][c] *= alpha[c / 2];
#pragma unroll
    for (int kk = 0; kk < kTiles / 2; ++kk) {
      const uint32_t p[4] = {pack_bf16(sc[2 * kk][0], sc[2 * kk][1]),
                             pack_bf16(sc[2 * kk][2], sc[2 * kk][3]),
                             pack_bf16(sc[2 * kk + 1][0], sc[2 * kk + 1][1]),
                             pack_bf16(sc[2 * kk + 1][2], sc[2 * kk + 1][3])};
      const int m = lane / 8;
      const int key_row = first_row + kk * 16 + (m & 1) * 8 + lane % 8;
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

// kSparseEdges: the 4 warps hold the states of the 4 quarters of one block for the same query;
// they meet in shared memory (the K/V tiles are done with) and warp w merges dims 32w..32w+31 of
// the 16 heads into one block-normalised partial (O bf16 at out, LSE at lse; heads row_stride /
// lse_stride apart), so the combine reads one partial per selected block.
__device__ __forceinline__ void store_merged_quarters(WarpState &s, uint8_t *smem,
                                                      __nv_bfloat16 *out, size_t row_stride,
                                                      float *lse, size_t lse_stride, int warp,
                                                      int lane) {
  const int g = lane / 4, tig = lane % 4;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    s.l[r] += __shfl_xor_sync(0xffffffffu, s.l[r], 1);
    s.l[r] += __shfl_xor_sync(0xffffffffu, s.l[r], 2);
  }
  // Lane-minor layouts: o_shared [warp][n-tile][c][lane], stats [warp][row half][m, l][lane].
  float *o_shared = reinterpret_cast<float *>(smem);
  float *stats = o_shared + kEdgeParts * 16 * 4 * 32;
  __syncthreads();
#pragma unroll
  for (int nt = 0; nt < 16; ++nt)
#pragma unroll
    for (int c = 0; c < 4; ++c)
      o_shared[((warp * 16 + nt) * 4 + c) * 32 + lane] = s.o[nt][c];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    stats[((warp * 2 + r) * 2 + 0) * 32 + lane] = s.m[r];
    stats[((warp * 2 + r) * 2 + 1) * 32 + lane] = s.l[r];
  }
  __syncthreads();
  float weight[kEdgeParts][2]; // exp2(m_part - m) / l: a quarter with no visible key weighs 0
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float m = -INFINITY, l = 0.f;
#pragma unroll
    for (int part = 0; part < kEdgeParts; ++part)
      m = fmaxf(m, stats[((part * 2 + r) * 2 + 0) * 32 + lane]);
#pragma unroll
    for (int part = 0; part < kEdgeParts; ++part) {
      const float m_part = stats[((part * 2 + r) * 2 + 0) * 32 + lane];
      weight[part][r] = m_part == -INFINITY ? 0.f : exp2f(m_part - m);
      l += weight[part][r] * stats[((part * 2 + r) * 2 + 1) * 32 + lane];
    }
    const float inverse = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
    for (int part = 0; part < kEdgeParts; ++part)
      weight[part][r] *= inverse;
    if (warp == 0 && tig == 0)
      lse[(g + 8 * r) * lse_stride] = l > 0.f ? (m + __log2f(l)) * 0.6931471805599453f : -INFINITY;
  }
#pragma unroll
  for (int t = 0; t < 16 / kEdgeParts; ++t) {
    const int nt = warp * (16 / kEdgeParts) + t;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float v[2] = {0.f, 0.f};
#pragma unroll
      for (int part = 0; part < kEdgeParts; ++part)
#pragma unroll
        for (int e = 0; e < 2; ++e)
          v[e] += weight[part][r] * o_shared[((part * 16 + nt) * 4 + 2 * r + e) * 32 + lane];
      *reinterpret_cast<uint32_t *>(out + (g + 8 * r) * row_stride + nt * 8 + 2 * tig) =
          pack_bf16(v[0], v[1]);
    }
  }
}

template <AttentionMode kMode>
__global__ void __launch_bounds__(kAttentionThreads) attention_kernel(AttentionParams p) {
  begin_dependent_grid();
  extern __shared__ __align__(128) uint8_t smem[];
  const uint32_t k_tile = smem_address(smem), v_tile = k_tile + kTileBytes;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int num_warps = blockDim.x / 32;
  const int num_heads = p.num_kv_heads * kHeadsPerGroup;

  // Resolve the work: sequence, KV head, block range, and a query list.
  int sequence, kv_head, block_begin, block_end, slot = -1, count;
  int query_begin = 0; // kDense: consecutive queries
  int edge_query = 0;  // kSparseEdges
  if constexpr (kMode == AttentionMode::kDense) {
    const DenseWork w = p.dense_work[blockIdx.x];
    sequence = w.sequence, kv_head = w.kv_head, block_begin = w.block_begin;
    block_end = w.block_end, slot = w.slot, count = w.query_count, query_begin = w.query_begin;
  } else {
    const int edge = blockIdx.x; // (query, kv_head, slot)
    const int32_t block = p.selected[edge];
    if (block < 0)
      return;
    edge_query = edge / (p.num_kv_heads * kTopkBlocks);
    kv_head = (edge / kTopkBlocks) % p.num_kv_heads;
    slot = edge % kTopkBlocks;
    sequence = p.query_sequence[edge_query];
    block_begin = block, block_end = block + 1, count = 1;
  }

  const int32_t *page_table = p.page_tables + size_t(sequence) * p.page_table_stride;
  const size_t head_stride = size_t(kBlockSize) * kHeadDim;
  int loaded_block = -1;
  WarpState s;
  const int rounds = (count + num_warps - 1) / num_warps;
  // Which query (and partial slot) this warp takes in a round; kSparseEdges: every warp works on
  // the edge's query, each on its quarter of the block.
  auto query_of_round = [&](int round, int &query, int &query_slot) {
    const int index = round * num_warps + warp;
    query_slot = slot;
    if (kMode != AttentionMode::kSparseEdges && index >= count)
      return false;
    if constexpr (kMode == AttentionMode::kDense) {
      query = query_begin + index;
    } else {
      query = edge_query;
    }
    return true;
  };
  const __nv_bfloat16 *group_q = p.q + size_t(kv_head) * kHeadsPerGroup * kHeadDim;
  const size_t query_stride = size_t(num_heads) * kHeadDim;
  // The next round's query fragments are fetched while this round computes.
  uint32_t next_q[8][4];
  int next_query = 0, next_slot = slot;
  bool next_has = query_of_round(0, next_query, next_slot);
  if (next_has)
    load_query(next_q, group_q + next_query * query_stride, lane / 4, lane % 4);
  for (int round = 0; round < rounds; ++round) {
    const bool has_query = next_has;
    const int query = next_query, query_slot = next_slot;
    if (has_query) {
#pragma unroll
      for (int ks = 0; ks < 8; ++ks)
#pragma unroll
        for (int c = 0; c < 4; ++c)
          s.q[ks][c] = next_q[ks][c];
      reset_state(s);
    }
    if (round + 1 < rounds) {
      next_has = query_of_round(round + 1, next_query, next_slot);
      if (next_has)
        load_query(next_q, group_q + next_query * query_stride, lane / 4, lane % 4);
    }
    const int position = has_query ? p.query_position[query] : -1;
    for (int block = block_begin; block < block_end; ++block) {
      if (block != loaded_block) {
        __syncthreads();
        const size_t page = page_table[block];
        const size_t offset = (page * p.num_kv_heads + kv_head) * head_stride;
        load_tile_async(k_tile, reinterpret_cast<const uint8_t *>(p.keys + offset), kBlockSize,
                        kRowBytes);
        load_tile_async(v_tile, reinterpret_cast<const uint8_t *>(p.values + offset), kBlockSize,
                        kRowBytes);
        cp_async_commit();
        cp_async_wait<0>();
        __syncthreads();
        const int valid_rows = p.kv_lens[sequence] - block * kBlockSize;
        if (valid_rows < kBlockSize) {
          // Slots past the sequence end hold whatever the page had; P is 0 there but 0 * NaN
          // is not, so clear those V rows.
          uint8_t *v_bytes = smem + kTileBytes;
          for (int i = threadIdx.x; i < (kBlockSize - valid_rows) * 16; i += blockDim.x)
            *reinterpret_cast<uint4 *>(v_bytes + swizzled(valid_rows + i / 16, i % 16, kRowBytes)) =
                make_uint4(0, 0, 0, 0);
          __syncthreads();
        }
        loaded_block = block;
      }
      if (has_query && block * kBlockSize <= position) {
        if constexpr (kMode == AttentionMode::kSparseEdges)
          attend_block<kBlockSize / kEdgeParts>(s, k_tile, v_tile, block, position, p.scale_log2,
                                                lane, warp, warp + 1);
        else
          attend_block<64>(s, k_tile, v_tile, block, position, p.scale_log2, lane, 0, 2);
      }
    }
    if (!has_query)
      continue;
    const size_t head0 = size_t(query) * num_heads + kv_head * kHeadsPerGroup;
    if constexpr (kMode == AttentionMode::kSparseEdges) {
      store_merged_quarters(s, smem, p.partial_o + (head0 * p.num_slots + query_slot) * kHeadDim,
                            size_t(p.num_slots) * kHeadDim,
                            p.partial_lse + head0 * p.num_slots + query_slot, p.num_slots, warp,
                            lane);
    } else if (query_slot < 0) {
      store_output(s, p.out + head0 * kHeadDim, kHeadDim, p.lse ? p.lse + head0 : nullptr, 1, lane);
    } else {
      store_output(s, p.partial_o + (head0 * p.num_slots + query_slot) * kHeadDim,
                   size_t(p.num_slots) * kHeadDim, p.partial_lse + head0 * p.num_slots + query_slot,
                   p.num_slots, lane);
    }
  }
}

template <AttentionMode kMode>
void launch_mode(const AttentionParams &params, int32_t grid, int threads, cudaStream_t stream) {
  const int smem = 2 * kTileBytes;
  M3_CUDA_CHECK(cudaFuncSetAttribute(attention_kernel<kMode>,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  launch_dependent(attention_kernel<kMode>, grid, threads, smem, stream, params);
}

// LSE-weighted merge of the valid partials of each (query, head) ("task"). Up to kTopkBlocks slots
// (sparse attention): one warp per task, lane = (slot parity, 16-byte chunk of the 128 dims), all
// of a task's partial loads issued at once, the slot weights held one per lane and shuffled, the
// two slot halves summed by one shuffle: no shared memory, no barrier.
constexpr int kCombineThreads = 256;
constexpr int kCombineWarpSlots = kTopkBlocks / 2; // slots per half-warp

__device__ __forceinline__ void accumulate_bf16x8(float (&acc)[8], uint4 bits, float weight) {
  const uint32_t words[4] = {bits.x, bits.y, bits.z, bits.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 v = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(&words[i]));
    acc[2 * i] += weight * v.x;
    acc[2 * i + 1] += weight * v.y;
  }
}

__device__ __forceinline__ void store_merged(const CombineParams &p, int64_t task, int chunk,
                                             const float (&acc)[8], float m, float total) {
  const float inverse = total > 0.f ? 1.f / total : 0.f;
  uint4 packed;
  packed.x = pack_bf16(acc[0] * inverse, acc[1] * inverse);
  packed.y = pack_bf16(acc[2] * inverse, acc[3] * inverse);
  packed.z = pack_bf16(acc[4] * inverse, acc[5] * inverse);
  packed.w = pack_bf16(acc[6] * inverse, acc[7] * inverse);
  *reinterpret_cast<uint4 *>(p.out + task * kHeadDim + chunk * 8) = packed;
  if (p.lse != nullptr && chunk == 0)
    p.lse[task] = total > 0.f ? m + __logf(total) : -INFINITY;
}

__global__ void __launch_bounds__(kCombineThreads) combine_warp_kernel(CombineParams p) {
  begin_dependent_grid();
  const int lane = threadIdx.x % 32, chunk = lane % 16, half = lane / 16;
  const int64_t task = int64_t(blockIdx.x) * (kCombineThreads / 32) + threadIdx.x / 32;
  if (task >= int64_t(p.num_queries) * p.num_heads)
    return;
  const int local_block = p.query_position[task / p.num_heads] / kBlockSize;
  const int valid = min(p.num_slots, local_block / p.blocks_per_slot + 1);
  const __nv_bfloat16 *partial = p.partial_o + task * p.num_slots * kHeadDim + chunk * 8;
  uint4 bits[kCombineWarpSlots];
#pragma unroll
  for (int k = 0; k < kCombineWarpSlots; ++k) {
    const int slot = 2 * k + half;
    bits[k] = slot < valid ? *reinterpret_cast<const uint4 *>(partial + size_t(slot) * kHeadDim)
                           : make_uint4(0, 0, 0, 0);
  }
  const float slot_lse = lane < valid ? p.partial_lse[task * p.num_slots + lane] : -INFINITY;
  float m = slot_lse;
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1)
    m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, offset));
  const float slot_weight = slot_lse == -INFINITY ? 0.f : __expf(slot_lse - m);
  float total = slot_weight;
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1)
    total += __shfl_xor_sync(0xffffffffu, total, offset);
  float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
#pragma unroll
  for (int k = 0; k < kCombineWarpSlots; ++k)
    accumulate_bf16x8(acc, bits[k], __shfl_sync(0xffffffffu, slot_weight, 2 * k + half));
#pragma unroll
  for (int i = 0; i < 8; ++i)
    acc[i] += __shfl_xor_sync(0xffffffffu, acc[i], 16);
  if (half == 0)
    store_merged(p, task, chunk, acc, m, total);
}

// Many slots (dense splits): a task's 128 threads split the 128 dims in 16 chunks of 8 and the
// slots in 8 strided groups, so its partial loads are independent; groups meet in shared memory.
constexpr int kCombineGroups = 8;

__global__ void __launch_bounds__(16 * kCombineGroups) combine_groups_kernel(CombineParams p) {
  begin_dependent_grid();
  __shared__ float group_max[kCombineGroups], group_sum[kCombineGroups];
  __shared__ float group_acc[kCombineGroups][kHeadDim];
  const int chunk = threadIdx.x % 16, group = threadIdx.x / 16;
  const int64_t task = blockIdx.x;
  const int local_block = p.query_position[task / p.num_heads] / kBlockSize;
  const int valid = min(p.num_slots, local_block / p.blocks_per_slot + 1);
  const float *lse = p.partial_lse + task * p.num_slots;
  float m = -INFINITY;
  for (int s = group; s < valid; s += kCombineGroups)
    m = fmaxf(m, lse[s]);
  if (chunk == 0)
    group_max[group] = m;
  __syncthreads();
#pragma unroll
  for (int g = 0; g < kCombineGroups; ++g)
    m = fmaxf(m, group_max[g]);
  float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}, total = 0.f;
  const __nv_bfloat16 *partial = p.partial_o + task * p.num_slots * kHeadDim + chunk * 8;
#pragma unroll 4
  for (int s = group; s < valid; s += kCombineGroups) {
    const float weight = m == -INFINITY ? 0.f : __expf(lse[s] - m);
    total += weight;
    accumulate_bf16x8(acc, *reinterpret_cast<const uint4 *>(partial + size_t(s) * kHeadDim),
                      weight);
  }
#pragma unroll
  for (int i = 0; i < 8; ++i)
    group_acc[group][chunk * 8 + i] = acc[i];
  if (chunk == 0)
    group_sum[group] = total;
  __syncthreads();
  if (group != 0)
    return;
  total = 0.f;
#pragma unroll
  for (int g = 0; g < kCombineGroups; ++g)
    total += group_sum[g];
  for (int g = 1; g < kCombineGroups; ++g)
#pragma unroll
    for (int i = 0; i < 8; ++i)
      acc[i] += group_acc[g][chunk * 8 + i];
  store_merged(p, task, chunk, acc, m, total);
}

} // namespace

void launch_attention(AttentionMode mode, const AttentionParams &params, int32_t grid,
                      cudaStream_t stream) {
  if (grid == 0)
    return;
  if (mode == AttentionMode::kDense)
    launch_mode<AttentionMode::kDense>(params, grid, kAttentionThreads, stream);
  else if (mode == AttentionMode::kSparseEdges)
    launch_mode<AttentionMode::kSparseEdges>(params, grid, 32 * kEdgeParts, stream);
  else
    throw std::runtime_error("attention: unknown mode");
}

void launch_combine(const CombineParams &params, cudaStream_t stream) {
  const int64_t tasks = int64_t(params.num_queries) * params.num_heads;
  if (tasks == 0)
    return;
  if (params.num_slots > kTopkBlocks) {
    launch_dependent(combine_groups_kernel, int(tasks), 16 * kCombineGroups, 0, stream, params);
  } else {
    constexpr int kTasksPerCta = kCombineThreads / 32;
    launch_dependent(combine_warp_kernel, int((tasks + kTasksPerCta - 1) / kTasksPerCta),
                     kCombineThreads, 0, stream, params);
  }
}

} // namespace m3::cuda::detail
