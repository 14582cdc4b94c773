// KV-block-major sparse attention (prefill) on wgmma. One CTA per (KV head, block, chunk of up to
// kK2qQueriesPerCta queries that selected the block), one per SM: it loads the block's K and V
// once into 128-byte-swizzled shared memory for three warpgroups, which take turns at rounds of 4
// gathered queries (one per warp: 64 rows = 4 queries x 16 q heads) through S = Q K^T (wgmma, Q
// and K from shared memory), an exact fp32 softmax over the block's 128 keys (one block = one
// softmax tile, no rescaling), and O = P V (wgmma, P from registers, V MN-major); each query
// writes its block-normalised partial (O, LSE) at its selection slot for the combine.
// Three warpgroups (12 warps per SM) hide each other's latencies; each warp holds one accumulator
// tile (S, then O) and P (<= 168 registers). Per warpgroup: the next round's queries are copied
// into the other of two Q tiles while this round computes (cp.async), the next round's S is
// issued before this round's O is stored (the tensor cores work while it is), and each partial O
// leaves through shared memory in full 256-byte head rows.
#include "kernels/cuda/attention_warp.cuh"
#include "kernels/cuda/dependent_launch.cuh"
#include "kernels/cuda/wgmma.cuh"

namespace m3::cuda::detail {
namespace {

constexpr int kWarpgroups = 3;
constexpr int kThreads = kWarpgroups * 128;
constexpr int kWarps = 4;                          // per warpgroup
constexpr int kSlabBytes = kBlockSize * 128;       // 64 columns of a K or V tile
constexpr int kQRows = kWarps * kHeadsPerGroup;    // 64 rows: 4 queries x 16 heads
constexpr int kQSlabBytes = kQRows * 128;          // 64 columns of a Q tile
constexpr int kQTileBytes = kQRows * kHeadDim * 2; // 16 KB
static_assert(kK2qQueriesPerCta <= kThreads, "one thread stages each of the CTA's entries");
// Shared memory: K and V (64 KB); per warpgroup a ring of two Q tiles (the next round's queries
// land while this round computes) and 4 KB per warp to stage its partial O (48 KB); the CTA's
// entries and their query positions (3 KB): 211 KB, one CTA per SM (the tiles need 1024-byte
// alignment; the kernel checks it, no slack is reserved).
constexpr int kQBuffers = 2;
constexpr int kStageBytesPerWarp = kHeadsPerGroup * kHeadDim * 2;
constexpr int kWarpgroupBytes = kQBuffers * kQTileBytes + kWarps * kStageBytesPerWarp;
constexpr int kEntriesOffset = 2 * kTileBytes + kWarpgroups * kWarpgroupBytes;
constexpr int kSmemBytes = kEntriesOffset + 2 * kK2qQueriesPerCta * int(sizeof(int32_t));
static_assert(kSmemBytes <= 227 * 1024, "over the shared memory of one CTA");

// The work of this CTA: CSR row (kv_head, global block) -> sequence and logical block, and the
// slice of the row's query entries it takes.
struct K2qWork {
  int kv_head, sequence, block, count;
  const int32_t *entries; // query * 16 + slot
};

// The last index i in [0, count) with sorted[i] <= value (sorted ascending, sorted[0] <= value).
__device__ __forceinline__ int last_at_most(const int32_t *sorted, int count, int value) {
  int lo = 0, hi = count;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (sorted[mid] <= value)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

__device__ __forceinline__ bool resolve_work(const AttentionParams &p, K2qWork &w) {
  const int num_rows = p.num_kv_heads * p.total_blocks;
  const int cta = blockIdx.x;
  if (cta >= p.k2q_cta_start[num_rows])
    return false;
  const int row = last_at_most(p.k2q_cta_start, num_rows, cta);
  w.kv_head = row / p.total_blocks;
  const int global_block = row % p.total_blocks;
  w.sequence = last_at_most(p.block_offset, p.num_sequences, global_block);
  w.block = global_block - p.block_offset[w.sequence];
  const int first = p.k2q_row_start[row] + (cta - p.k2q_cta_start[row]) * kK2qQueriesPerCta;
  w.count = min(kK2qQueriesPerCta, p.k2q_row_start[row + 1] - first);
  w.entries = p.k2q_entries + first;
  return true;
}

// Waits for the 128 threads of warpgroup `warpgroup` (named barrier 1 + warpgroup; 0 is the CTA's).
__device__ __forceinline__ void warpgroup_barrier(int warpgroup) {
  asm volatile("bar.sync %0, 128;\n" ::"r"(warpgroup + 1) : "memory");
}

// Copies one [128, 128] bf16 block (rows contiguous) into the swizzled tile layout.
__device__ __forceinline__ void load_block_async(uint32_t tile, const __nv_bfloat16 *global) {
  const uint8_t *bytes = reinterpret_cast<const uint8_t *>(global);
  for (int i = threadIdx.x; i < kBlockSize * 16; i += blockDim.x)
    cp_async_16(tile + sw128_offset(i / 16, i % 16, kBlockSize), bytes + size_t(i) * 16);
}

// Warp w copies its query's 16 heads ([16, 128] bf16, 4 KB contiguous) into rows 16w..16w+15 of a
// swizzled Q tile, 512 contiguous bytes per instruction.
__device__ __forceinline__ void load_query_async(uint32_t q_tile, const __nv_bfloat16 *heads,
                                                 int warp, int lane) {
  const uint8_t *bytes = reinterpret_cast<const uint8_t *>(heads);
#pragma unroll
  for (int k = 0; k < kHeadsPerGroup * 16 / 32; ++k) {
    const int i = lane + 32 * k; // 16-byte chunk of the [16, 128] heads
    cp_async_16(q_tile + sw128_offset(warp * kHeadsPerGroup + i / 16, i % 16, kQRows),
                bytes + i * 16);
  }
}

// 2^x in one MUFU op (results under 2^-126 flush to 0).
__device__ __forceinline__ float exp2_ftz(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Exact softmax of a round's scores over the block (one block = one softmax tile): P as bf16 A
// fragments, s.m the row max in the log2 domain, s.l the thread's partial row sums. The scale is
// folded into the exponent (max of the raw scores, then one FFMA per score). kMasked: key
// 8 nt + 2 tig + (c & 1) is visible only up to last_visible + 2 tig (the local block; at least
// its first key is visible: the query selected it); masked keys may hold NaN (slots past the
// sequence end), so they are selected away, never multiplied. sc is only read: writes to wgmma
// accumulators while the next round's S is in flight make ptxas serialize the wgmma pipeline.
template <bool kMasked>
__device__ __forceinline__ void softmax_block(const float (&sc)[16][4], float scale_log2,
                                              int last_visible, WarpState &s,
                                              uint32_t (&pa)[8][4]) {
  auto visible = [&](int nt, int c) { return !kMasked || nt * 8 + (c & 1) <= last_visible; };
  float row_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
  for (int nt = 0; nt < 16; ++nt)
#pragma unroll
    for (int c = 0; c < 4; ++c)
      row_max[c / 2] = fmaxf(row_max[c / 2], visible(nt, c) ? sc[nt][c] : -INFINITY);
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    row_max[r] = fmaxf(row_max[r], __shfl_xor_sync(0xffffffffu, row_max[r], 1));
    row_max[r] = fmaxf(row_max[r], __shfl_xor_sync(0xffffffffu, row_max[r], 2));
    s.m[r] = row_max[r] * scale_log2; // = the max of the scaled scores (rounding is monotonic)
    s.l[r] = 0.f;
  }
#pragma unroll
  for (int kk = 0; kk < 8; ++kk) {
    float e[2][4];
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float x = exp2_ftz(fmaf(sc[2 * kk + h][c], scale_log2, -s.m[c / 2]));
        e[h][c] = visible(2 * kk + h, c) ? x : 0.f;
        s.l[c / 2] += e[h][c];
      }
    pa[kk][0] = pack_bf16(e[0][0], e[0][1]);
    pa[kk][1] = pack_bf16(e[0][2], e[0][3]);
    pa[kk][2] = pack_bf16(e[1][0], e[1][1]);
    pa[kk][3] = pack_bf16(e[1][2], e[1][3]);
  }
}

// A partial O leaves through the warp's 4 KB of shared memory (16B-chunk XOR swizzle:
// conflict-free both ways), so that each store instruction writes two full 256-byte head rows.
// stage_output writes the normalised O of the warp's 16 heads there (and their LSE to lse),
// flush_output copies it to out.
__device__ __forceinline__ void stage_output(WarpState &s, uint8_t *stage, float *lse,
                                             size_t lse_stride, int lane) {
  const int g = lane / 4, tig = lane % 4;
  finish_output(s, lse, lse_stride, lane, [&](int head, int nt, uint32_t word) {
    *reinterpret_cast<uint32_t *>(stage + head * 256 + ((nt ^ g) << 4) + tig * 4) = word;
  });
  __syncwarp();
}

__device__ __forceinline__ void flush_output(const uint8_t *stage, __nv_bfloat16 *out,
                                             size_t row_stride, int lane) {
#pragma unroll
  for (int k = 0; k < 8; ++k) {
    const int head = 2 * k + lane / 16, chunk = lane % 16;
    *reinterpret_cast<uint4 *>(out + head * row_stride + chunk * 8) =
        *reinterpret_cast<const uint4 *>(stage + head * 256 + ((chunk ^ (head & 7)) << 4));
  }
  __syncwarp(); // the stage is read before the next round's O is written there
}

__global__ void __launch_bounds__(kThreads, 1) k2q_attention_kernel(AttentionParams p) {
  begin_dependent_grid();
  // wgmma's 128-byte swizzle repeats every 1024 bytes: the tiles start 1024-byte aligned (checked:
  // the launch reserves no slack).
  extern __shared__ __align__(1024) uint8_t smem_raw[];
  const uint32_t k_tile = smem_address(smem_raw);
  if (k_tile % 1024 != 0)
    __trap();
  const uint32_t v_tile = k_tile + kTileBytes;
  K2qWork w;
  if (!resolve_work(p, w))
    return;
  const int warpgroup = threadIdx.x / 128, warp = threadIdx.x / 32 % kWarps,
            lane = threadIdx.x % 32;
  const int tig = lane % 4;
  const int num_heads = p.num_kv_heads * kHeadsPerGroup;
  const int warpgroup_offset = 2 * kTileBytes + warpgroup * kWarpgroupBytes;
  const uint32_t q_tiles = k_tile + warpgroup_offset;
  uint8_t *stage =
      smem_raw + warpgroup_offset + kQBuffers * kQTileBytes + warp * kStageBytesPerWarp;

  const size_t page = p.page_tables[size_t(w.sequence) * p.page_table_stride + w.block];
  const size_t offset = (page * p.num_kv_heads + w.kv_head) * size_t(kBlockSize) * kHeadDim;
  load_block_async(k_tile, p.keys + offset);
  load_block_async(v_tile, p.values + offset);
  cp_async_commit();

  // The CTA's entries (query * 16 + slot) and their query positions, staged once for all rounds
  // (the positions after the first queries are requested: only the softmax needs them).
  int32_t *entries = reinterpret_cast<int32_t *>(smem_raw + kEntriesOffset);
  int32_t *positions = entries + kK2qQueriesPerCta;
  const bool stages_entry = threadIdx.x < w.count;
  const int staged_entry = stages_entry ? w.entries[threadIdx.x] : -1;
  if (stages_entry)
    entries[threadIdx.x] = staged_entry;
  __syncthreads();

  // Warpgroup g takes the CTA's rounds g, g + 3, ...: its round r is the CTA's round 3 r + g, whose
  // warp w has the CTA's entry 4 (3 r + g) + w, -1 for none. Warps without a query compute the
  // CTA's first one and drop it; they see every key.
  const int first_key = w.block * kBlockSize;
  auto index_of_round = [&](int round) {
    return (round * kWarpgroups + warpgroup) * kWarps + warp;
  };
  // (Shuffled so that the compiler sees it warp-uniform: a divergent branch that reads wgmma
  // accumulators while another wgmma is in flight gets the pipeline serialized.)
  auto entry_of_round = [&](int round) {
    const int index = index_of_round(round);
    return __shfl_sync(0xffffffffu, index < w.count ? entries[index] : -1, 0);
  };
  auto position_of_round = [&](int round) {
    const int index = index_of_round(round);
    return index < w.count ? positions[index] : first_key + kBlockSize - 1;
  };
  const __nv_bfloat16 *group_q = p.q + size_t(w.kv_head) * kHeadsPerGroup * kHeadDim;
  const size_t query_stride = size_t(num_heads) * kHeadDim;
  auto fetch_query = [&](int round) {
    const int entry = entry_of_round(round);
    load_query_async(q_tiles + (round % kQBuffers) * kQTileBytes,
                     group_q + ((entry >= 0 ? entry : entries[0]) / kTopkBlocks) * query_stride,
                     warp, lane);
  };
  // Warpgroup-uniform by construction; the shuffle lets the compiler see it (wgmma in a loop it
  // must assume divergent gets serialized).
  const int cta_rounds = (w.count + kWarps - 1) / kWarps;
  const int rounds =
      __shfl_sync(0xffffffffu, max(0, (cta_rounds - warpgroup + kWarpgroups - 1) / kWarpgroups), 0);
#pragma unroll
  for (int round = 0; round < kQBuffers; ++round) {
    if (round < rounds)
      fetch_query(round);
    cp_async_commit();
  }
  if (stages_entry) // read after the barrier below
    positions[threadIdx.x] = p.query_position[staged_entry / kTopkBlocks];

  // S = Q K^T over the 128 dims (both K-major, 64 dims per slab, 16 per step) into sc.
  auto issue_scores = [&](float(&sc)[16][4], int round) {
    const uint32_t q_tile = q_tiles + (round % kQBuffers) * kQTileBytes;
    wgmma_fence();
    // Descriptors of the tiles' first k-steps, made opaque here so that the compiler derives the
    // other steps' (constant adds to the address field) at each use instead of holding 24 64-bit
    // descriptors live across the loop.
    uint64_t q_base = sw128_descriptor(q_tile, 16, 1024),
             k_base = sw128_descriptor(k_tile, 16, 1024);
    asm volatile("" : "+l"(q_base), "+l"(k_base));
    auto q_step = [&](int ks) { return q_base + ((ks / 4) * kQSlabBytes + (ks % 4) * 32) / 16; };
    auto k_step = [&](int ks) { return k_base + ((ks / 4) * kSlabBytes + (ks % 4) * 32) / 16; };
    // The first step overwrites sc: its old scores are dead (no registers held for them).
    wgmma_m64n128k16_ss_overwrite<0>(sc, q_step(0), k_step(0));
#pragma unroll
    for (int ks = 1; ks < 8; ++ks)
      wgmma_m64n128k16_ss<0>(sc, q_step(ks), k_step(ks), 1);
    wgmma_commit();
  };

  cp_async_wait<kQBuffers - 1>(); // K, V and the first round's queries
  fence_proxy_async_shared();
  __syncthreads();
  const int valid_rows = p.kv_lens[w.sequence] - first_key;
  if (valid_rows < kBlockSize) {
    // Slots past the sequence end hold whatever the page had; P is 0 there but 0 * NaN is not,
    // so clear those V rows.
    uint8_t *v_bytes = smem_raw + kTileBytes;
    for (int i = threadIdx.x; i < (kBlockSize - valid_rows) * 16; i += blockDim.x)
      *reinterpret_cast<uint4 *>(v_bytes + sw128_offset(valid_rows + i / 16, i % 16, kBlockSize)) =
          make_uint4(0, 0, 0, 0);
    fence_proxy_async_shared();
    __syncthreads();
  }
  // No CTA-wide barrier past this point: a warpgroup without rounds may leave.
  if (rounds == 0)
    return;

  // One accumulator tile per warp (so that ptxas, which keeps the register sets of different
  // wgmma chains apart, fits three warpgroups in 168 registers): this round's S, then its O, then
  // the next round's S.
  WarpState s;
  float(&acc)[16][4] = s.o;
  issue_scores(acc, 0);
  int round = 0;
  do {
    const int entry = entry_of_round(round);
    const int position = position_of_round(round);
    wgmma_wait_all(); // this round's S
    pin_accumulators(acc);

    // Historical blocks are fully visible; only the local block masks keys past the query.
    uint32_t pa[8][4]; // P as A fragments: keys 16kk..16kk+15
    const int last_visible = position - first_key - 2 * tig;
    if (last_visible >= kBlockSize - 1)
      softmax_block<false>(acc, p.scale_log2, last_visible, s, pa);
    else
      softmax_block<true>(acc, p.scale_log2, last_visible, s, pa);

    // O = P V over the 128 keys: MN-major B (keys are rows, dims contiguous), 16 keys per step;
    // the two 64-dim slabs are kSlabBytes apart, 8-key groups 1024 bytes apart.
    pin_registers(pa);
    wgmma_fence();
    uint64_t v_base = sw128_descriptor(v_tile, kSlabBytes, 1024);
    asm volatile("" : "+l"(v_base));
    auto v_step = [&](int kk) { return v_base + kk * 16 * 128 / 16; };
    wgmma_m64n128k16_overwrite<1>(acc, pa[0], v_step(0)); // S is dead
#pragma unroll
    for (int kk = 1; kk < 8; ++kk)
      wgmma_m64n128k16<1>(acc, pa[kk], v_step(kk), 1);
    wgmma_commit();
    wgmma_wait_all();
    pin_accumulators(acc);

    const int query = entry / kTopkBlocks, slot = entry % kTopkBlocks;
    const size_t partial = (size_t(query) * num_heads + w.kv_head * kHeadsPerGroup) * p.num_slots +
                           slot; // (query, first head of the group, slot)
    if (entry >= 0)
      stage_output(s, stage, p.partial_lse + partial, p.num_slots, lane);
    if (round + 1 < rounds) {
      // The next round's queries have landed (later rounds may still be in flight), and every
      // warp of the warpgroup is past this round's S, so its Q tile may be refilled.
      cp_async_wait<kQBuffers - 2>();
      fence_proxy_async_shared();
      warpgroup_barrier(warpgroup);
      issue_scores(acc, round + 1); // O is staged; the tensor cores work while it is stored
      if (round + kQBuffers < rounds)
        fetch_query(round + kQBuffers);
      cp_async_commit();
    }
    if (entry >= 0)
      flush_output(stage, p.partial_o + partial * kHeadDim, size_t(p.num_slots) * kHeadDim, lane);
  } while (++round < rounds);
  wgmma_wait_all(); // the loop's exit path, as ptxas sees it, may have an S in flight
}

} // namespace

void launch_k2q_attention(const AttentionParams &params, int32_t grid, cudaStream_t stream) {
  if (grid == 0)
    return;
  M3_CUDA_CHECK(cudaFuncSetAttribute(k2q_attention_kernel,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
  launch_dependent(k2q_attention_kernel, grid, kThreads, kSmemBytes, stream, params);
}

} // namespace m3::cuda::detail
