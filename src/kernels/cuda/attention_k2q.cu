// KV-block-major sparse attention (prefill) on wgmma. One CTA = one warpgroup per (KV head,
// block, chunk of up to kK2qQueriesPerCta queries that selected the block): it loads the block's
// K and V once into 128-byte-swizzled shared memory, then takes 4 gathered queries a round (one
// per warp: 64 rows = 4 queries x 16 q heads) through S = Q K^T (wgmma, Q from registers, K
// K-major), an exact fp32 softmax over the block's 128 keys (one block = one softmax tile, no
// rescaling), and O = P V (wgmma, P from registers, V MN-major); each query writes its
// block-normalised partial (O, LSE) at its selection slot for the combine.
#include "kernels/cuda/attention_warp.cuh"
#include "kernels/cuda/dependent_launch.cuh"
#include "kernels/cuda/wgmma.cuh"

namespace m3::cuda::detail {
namespace {

constexpr int kWarps = kAttentionThreads / 32; // one warpgroup
constexpr int kSlabBytes = kBlockSize * 128;   // 64 columns of a tile

// The work of this CTA: CSR row (kv_head, global block) -> sequence and logical block, and the
// slice of the row's query entries it takes.
struct K2qWork {
  int kv_head, sequence, block, count;
  const int32_t *entries; // query * 16 + slot
};

__device__ __forceinline__ bool resolve_work(const AttentionParams &p, K2qWork &w) {
  const int num_rows = p.num_kv_heads * p.total_blocks;
  const int cta = blockIdx.x;
  if (cta >= p.k2q_cta_start[num_rows])
    return false;
  int lo = 0, hi = num_rows; // last row with cta_start[row] <= cta
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (p.k2q_cta_start[mid] <= cta)
      lo = mid;
    else
      hi = mid;
  }
  const int row = lo;
  w.kv_head = row / p.total_blocks;
  const int global_block = row % p.total_blocks;
  int s_lo = 0, s_hi = p.num_sequences;
  while (s_hi - s_lo > 1) {
    const int mid = (s_lo + s_hi) / 2;
    if (p.block_offset[mid] <= global_block)
      s_lo = mid;
    else
      s_hi = mid;
  }
  w.sequence = s_lo;
  w.block = global_block - p.block_offset[s_lo];
  const int first = p.k2q_row_start[row] + (cta - p.k2q_cta_start[row]) * kK2qQueriesPerCta;
  w.count = min(kK2qQueriesPerCta, p.k2q_row_start[row + 1] - first);
  w.entries = p.k2q_entries + first;
  return true;
}

// Copies one [128, 128] bf16 block (rows contiguous) into the swizzled tile layout.
__device__ __forceinline__ void load_block_async(uint32_t tile, const __nv_bfloat16 *global) {
  const uint8_t *bytes = reinterpret_cast<const uint8_t *>(global);
  for (int i = threadIdx.x; i < kBlockSize * 16; i += blockDim.x)
    cp_async_16(tile + sw128_offset(i / 16, i % 16, kBlockSize), bytes + size_t(i) * 16);
}

__global__ void __launch_bounds__(kAttentionThreads) k2q_attention_kernel(AttentionParams p) {
  begin_dependent_grid();
  extern __shared__ uint8_t smem_raw[];
  // wgmma's 128-byte swizzle repeats every 1024 bytes: align the tiles to that.
  const uint32_t k_tile = (smem_address(smem_raw) + 1023) & ~1023u;
  const uint32_t v_tile = k_tile + kTileBytes;
  K2qWork w;
  if (!resolve_work(p, w))
    return;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, tig = lane % 4;
  const int num_heads = p.num_kv_heads * kHeadsPerGroup;

  const size_t page = p.page_tables[size_t(w.sequence) * p.page_table_stride + w.block];
  const size_t offset = (page * p.num_kv_heads + w.kv_head) * size_t(kBlockSize) * kHeadDim;
  load_block_async(k_tile, p.keys + offset);
  load_block_async(v_tile, p.values + offset);
  cp_async_commit();

  // Query of this warp in a round (-1: none) and its fragments; the next round's are fetched
  // while the current one computes.
  const __nv_bfloat16 *group_q = p.q + size_t(w.kv_head) * kHeadsPerGroup * kHeadDim;
  const size_t query_stride = size_t(num_heads) * kHeadDim;
  auto entry_of_round = [&](int round) {
    const int index = round * kWarps + warp;
    return index < w.count ? w.entries[index] : -1;
  };
  // Warps without a query load the CTA's first one (no branch: wgmma operands defined on a
  // divergent path serialize the wgmma) and zero it.
  auto fetch_query = [&](uint32_t(&q)[8][4], int entry) {
    load_query(q, group_q + ((entry >= 0 ? entry : w.entries[0]) / kTopkBlocks) * query_stride, g,
               tig);
  };
  WarpState s;
  uint32_t next_q[8][4];
  int next_entry = entry_of_round(0);
  fetch_query(next_q, next_entry);

  cp_async_wait<0>();
  fence_proxy_async_shared();
  __syncthreads();
  const int valid_rows = p.kv_lens[w.sequence] - w.block * kBlockSize;
  if (valid_rows < kBlockSize) {
    // Slots past the sequence end hold whatever the page had; P is 0 there but 0 * NaN is not,
    // so clear those V rows.
    uint8_t *v_bytes = smem_raw + (v_tile - smem_address(smem_raw));
    for (int i = threadIdx.x; i < (kBlockSize - valid_rows) * 16; i += blockDim.x)
      *reinterpret_cast<uint4 *>(v_bytes + sw128_offset(valid_rows + i / 16, i % 16, kBlockSize)) =
          make_uint4(0, 0, 0, 0);
    fence_proxy_async_shared();
    __syncthreads();
  }

  const int first_key = w.block * kBlockSize;
  // Warp-uniform by construction; the shuffle lets the compiler see it (wgmma in a loop it
  // must assume divergent gets serialized).
  const int rounds = __shfl_sync(0xffffffffu, (w.count + kWarps - 1) / kWarps, 0);
  for (int round = 0; round < rounds; ++round) {
    const int entry = next_entry;
#pragma unroll
    for (int ks = 0; ks < 8; ++ks)
#pragma unroll
      for (int c = 0; c < 4; ++c)
        s.q[ks][c] = entry >= 0 ? next_q[ks][c] : 0u;
    if (round + 1 < rounds) {
      next_entry = entry_of_round(round + 1);
      fetch_query(next_q, next_entry);
    }
    // A warp without a query sees every key (its rows are computed and dropped).
    const int position =
        entry >= 0 ? p.query_position[entry / kTopkBlocks] : first_key + kBlockSize - 1;

    // S = Q K^T over the 128 dims: K-major B, 64 dims per slab, 16 per step.
    float sc[16][4];
    pin_registers(s.q);
    wgmma_fence();
#pragma unroll
    for (int ks = 0; ks < 8; ++ks)
      wgmma_m64n128k16<0>(
          sc, s.q[ks], sw128_descriptor(k_tile + (ks / 4) * kSlabBytes + (ks % 4) * 32, 16, 1024),
          ks > 0);
    wgmma_commit();
    wgmma_wait_all();

    // Exact softmax over the block's visible keys (at least its first: the query selected it).
    float row_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < 16; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int key = first_key + nt * 8 + 2 * tig + (c & 1);
        sc[nt][c] = key <= position ? sc[nt][c] * p.scale_log2 : -INFINITY;
        row_max[c / 2] = fmaxf(row_max[c / 2], sc[nt][c]);
      }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      row_max[r] = fmaxf(row_max[r], __shfl_xor_sync(0xffffffffu, row_max[r], 1));
      row_max[r] = fmaxf(row_max[r], __shfl_xor_sync(0xffffffffu, row_max[r], 2));
      s.m[r] = row_max[r];
      s.l[r] = 0.f;
    }
    uint32_t pa[8][4]; // P as A fragments: keys 16kk..16kk+15
#pragma unroll
    for (int nt = 0; nt < 16; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        sc[nt][c] = exp2f(sc[nt][c] - s.m[c / 2]);
        s.l[c / 2] += sc[nt][c];
      }
#pragma unroll
    for (int kk = 0; kk < 8; ++kk) {
      pa[kk][0] = pack_bf16(sc[2 * kk][0], sc[2 * kk][1]);
      pa[kk][1] = pack_bf16(sc[2 * kk][2], sc[2 * kk][3]);
      pa[kk][2] = pack_bf16(sc[2 * kk + 1][0], sc[2 * kk + 1][1]);
      pa[kk][3] = pack_bf16(sc[2 * kk + 1][2], sc[2 * kk + 1][3]);
    }

    // O = P V over the 128 keys: MN-major B (keys are rows, dims contiguous), 16 keys per step;
    // the two 64-dim slabs are kSlabBytes apart, 8-key groups 1024 bytes apart.
    pin_registers(pa);
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < 8; ++kk)
      wgmma_m64n128k16<1>(s.o, pa[kk], sw128_descriptor(v_tile + kk * 16 * 128, kSlabBytes, 1024),
                          kk > 0);
    wgmma_commit();
    wgmma_wait_all();

    if (entry >= 0) {
      const int query = entry / kTopkBlocks, slot = entry % kTopkBlocks;
      const size_t head0 = size_t(query) * num_heads + w.kv_head * kHeadsPerGroup;
      store_output(s, p.partial_o + (head0 * p.num_slots + slot) * kHeadDim,
                   size_t(p.num_slots) * kHeadDim, p.partial_lse + head0 * p.num_slots + slot,
                   p.num_slots, lane);
    }
  }
}

} // namespace

void launch_k2q_attention(const AttentionParams &params, int32_t grid, cudaStream_t stream) {
  if (grid == 0)
    return;
  const int smem = 2 * kTileBytes + 1024; // + alignment slack
  M3_CUDA_CHECK(cudaFuncSetAttribute(k2q_attention_kernel,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  launch_dependent(k2q_attention_kernel, grid, kAttentionThreads, smem, stream, params);
}

} // namespace m3::cuda::detail
