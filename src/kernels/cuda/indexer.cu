// MSA indexer, part 1: block scores. For every (query, index head) row and logical block b of its
// work item, score[row, b] = max over the block's keys j <= position of <index_q[row], index_k[j]>
// (fp32 accumulation). With e4m3 keys the query is rounded to e4m3 too (RNE, saturating: MSA's
// "Q8KV8 indexer") and both feed the fp8 MMA. Index-K blocks stream through a cp.async ring; the
// CTA holds many rows so prefill reuses each block. Two kernels: full tiles (prefill, up to 256
// rows = 64 queries x 4 heads) run on wgmma, four warpgroups of 64 rows against each 128-key
// block; small tiles (decode, up to 64 rows) on mma.sync, a warp multiplying 16 rows by 8 keys at
// a time, warps splitting the keys when there are few rows.
#include <cuda_fp8.h>

#include "kernels/cuda/dependent_launch.cuh"
#include "kernels/cuda/mma.cuh"
#include "kernels/cuda/wgmma.cuh"

namespace m3::cuda::detail {
namespace {

constexpr int kStages = 3;
constexpr int kWarps = kScoreThreads / 32;

template <IndexKeyType kType> struct KeyTraits;
template <> struct KeyTraits<IndexKeyType::kBF16> {
  static constexpr int kRowBytes = kIndexHeadDim * 2;
  static constexpr int kBlocksPerSync = 2; // wgmma kernel: 6 stages of 32 KB
};
template <> struct KeyTraits<IndexKeyType::kFP8E4M3> {
  static constexpr int kRowBytes = kIndexHeadDim;
  static constexpr int kBlocksPerSync = 4; // 12 stages of 16 KB
};

__device__ __forceinline__ uint32_t load_pair(const __nv_bfloat16 *p) {
  return *reinterpret_cast<const uint32_t *>(p);
}

// Four bf16 -> four e4m3 (round to nearest even, saturating), first element in the low byte.
__device__ __forceinline__ uint32_t bf16x4_to_e4m3x4(const __nv_bfloat16 *p) {
  const float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(p));
  const float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(p + 2));
  return uint32_t(__nv_cvt_float2_to_fp8x2(lo, __NV_SATFINITE, __NV_E4M3)) |
         (uint32_t(__nv_cvt_float2_to_fp8x2(hi, __NV_SATFINITE, __NV_E4M3)) << 16);
}

// A fragments of rows first_row + g and + 8 of a work item (mma.sync / wgmma per-warp layout;
// rows past the item are zero with position -1, so they are never written).
template <IndexKeyType kType>
__device__ __forceinline__ void load_index_query(uint32_t (&a)[8][4], int (&position)[2],
                                                 const ScoreParams &p, const IndexerWork &w,
                                                 int first_row, bool active, int g, int tig) {
  const int rows = w.query_count * p.num_heads;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = first_row + g + half * 8;
    const bool valid = active && row < rows;
    const int query = w.query_begin + row / p.num_heads;
    const __nv_bfloat16 *q =
        p.index_q + (size_t(query) * p.num_heads + row % p.num_heads) * kIndexHeadDim;
    position[half] = valid ? p.query_position[query] : -1;
    if constexpr (kType == IndexKeyType::kBF16) {
#pragma unroll
      for (int ks = 0; ks < 8; ++ks) {
        a[ks][half] = valid ? load_pair(q + ks * 16 + 2 * tig) : 0u;
        a[ks][half + 2] = valid ? load_pair(q + ks * 16 + 8 + 2 * tig) : 0u;
      }
    } else {
#pragma unroll
      for (int ks = 0; ks < 4; ++ks) { // k32 steps: dims 4t..4t+3 and 16+4t..16+4t+3
        a[ks][half] = valid ? bf16x4_to_e4m3x4(q + ks * 32 + 4 * tig) : 0u;
        a[ks][half + 2] = valid ? bf16x4_to_e4m3x4(q + ks * 32 + 16 + 4 * tig) : 0u;
      }
    }
  }
}

template <IndexKeyType kType>
__global__ void __launch_bounds__(kScoreThreads, 2) score_blocks_kernel(ScoreParams p) {
  begin_dependent_grid();
  constexpr int kRowBytes = KeyTraits<kType>::kRowBytes;
  constexpr int kTileBytes = kBlockSize * kRowBytes;
  extern __shared__ __align__(128) uint8_t smem[];
  float(*part_max)[16] = reinterpret_cast<float(*)[16]>(smem + kStages * kTileBytes);
  const uint32_t tiles = smem_address(smem);

  const IndexerWork w = p.work[blockIdx.x];
  const int rows = w.query_count * p.num_heads;
  const int num_groups = (rows + 15) / 16;
  int groups_pow2 = 1;
  while (groups_pow2 < num_groups)
    groups_pow2 *= 2;
  const int key_parts = kWarps / groups_pow2; // warps sharing one 16-row group split its keys
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, tig = lane % 4;
  const int group = warp / key_parts, part = warp % key_parts;
  const bool active = group < num_groups;
  const int tiles_per_part = 16 / key_parts;

  int position[2];
  uint32_t a[8][4];
  load_index_query<kType>(a, position, p, w, group * 16, active, g, tig);

  const int32_t *page_table = p.page_tables + size_t(w.sequence) * p.page_table_stride;
  const uint8_t *keys = static_cast<const uint8_t *>(p.index_keys);
  const int num_blocks = w.block_end - w.block_begin;
  auto issue = [&](int i) {
    if (i < num_blocks) {
      const int32_t page = page_table[w.block_begin + i];
      load_tile_async(tiles + (i % kStages) * kTileBytes, keys + size_t(page) * kTileBytes,
                      kBlockSize, kRowBytes);
    }
    cp_async_commit();
  };
  issue(0);
  issue(1);
  for (int i = 0; i < num_blocks; ++i) {
    issue(i + 2);
    cp_async_wait<2>();
    __syncthreads();
    const int block = w.block_begin + i;
    const uint32_t tile = tiles + (i % kStages) * kTileBytes;
    if (active) {
      float best[2] = {-INFINITY, -INFINITY};
      for (int t = 0; t < tiles_per_part; ++t) {
        const int n_tile = part * tiles_per_part + t;
        float acc[4] = {0.f, 0.f, 0.f, 0.f};
        if constexpr (kType == IndexKeyType::kBF16) {
#pragma unroll
          for (int ks2 = 0; ks2 < 4; ++ks2) {
            uint32_t b[4];
            ldmatrix_x4(b, tile + swizzled(n_tile * 8 + lane % 8, ks2 * 4 + lane / 8, kRowBytes));
            mma_bf16(acc, a[2 * ks2], b[0], b[1]);
            mma_bf16(acc, a[2 * ks2 + 1], b[2], b[3]);
          }
        } else {
#pragma unroll
          for (int ks2 = 0; ks2 < 2; ++ks2) { // ldmatrix on bytes: 4 bytes of one key per thread
            uint32_t b[4];
            ldmatrix_x4(b, tile + swizzled(n_tile * 8 + lane % 8, ks2 * 4 + lane / 8, kRowBytes));
            mma_e4m3(acc, a[2 * ks2], b[0], b[1]);
            mma_e4m3(acc, a[2 * ks2 + 1], b[2], b[3]);
          }
        }
        const int key = block * kBlockSize + n_tile * 8 + 2 * tig;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          const int half = c / 2;
          if (key + (c & 1) <= position[half])
            best[half] = fmaxf(best[half], acc[c]);
        }
      }
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        best[half] = fmaxf(best[half], __shfl_xor_sync(0xffffffffu, best[half], 1));
        best[half] = fmaxf(best[half], __shfl_xor_sync(0xffffffffu, best[half], 2));
      }
      if (tig == 0) {
        part_max[warp][g] = best[0];
        part_max[warp][g + 8] = best[1];
      }
    }
    __syncthreads();
    for (int row = threadIdx.x; row < rows; row += blockDim.x) {
      const int first_warp = (row / 16) * key_parts;
      float best = part_max[first_warp][row % 16];
      for (int k = 1; k < key_parts; ++k)
        best = fmaxf(best, part_max[first_warp + k][row % 16]);
      const int query = w.query_begin + row / p.num_heads;
      p.block_scores[(size_t(query) * p.num_heads + row % p.num_heads) * p.score_stride + block] =
          best;
    }
  }
}

// Full tiles on wgmma: four warpgroups of 64 rows (warp w holds rows 16w..16w+15) each multiply
// their rows by the block's 128 keys (K-major B from the 128-byte-swizzled stage), so each block
// read from L2 feeds 256 rows; every row's block max comes out of one quad of lanes. Blocks go in
// groups of kBlocksPerSync through a ring of three groups of stages with one barrier per group:
// within a group a warpgroup runs ahead into its next block's MMA while the others finish their
// max-pool, so the tensor cores wait for the slowest warpgroup once per group, not per block.
constexpr int kWideRingGroups = 3;

template <IndexKeyType kType>
__global__ void __launch_bounds__(kScoreWideThreads, 1) score_blocks_wgmma_kernel(ScoreParams p) {
  begin_dependent_grid();
  constexpr int kRowBytes = KeyTraits<kType>::kRowBytes;
  constexpr int kChunksPerRow = kRowBytes / 16;
  constexpr int kTileBytes = kBlockSize * kRowBytes;
  constexpr int kBlocksPerSync = KeyTraits<kType>::kBlocksPerSync;
  constexpr int kStagesWide = kWideRingGroups * kBlocksPerSync;
  extern __shared__ uint8_t smem_raw[];
  // wgmma's 128-byte swizzle repeats every 1024 bytes: align the stages to that.
  const uint32_t tiles = (smem_address(smem_raw) + 1023) & ~1023u;

  const IndexerWork w = p.work[blockIdx.x];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, tig = lane % 4;
  // A warpgroup whose rows all lie past the item's (a short tile) only helps load and sync.
  const bool warpgroup_active = (warp / 4) * 64 < w.query_count * p.num_heads;
  int position[2];
  uint32_t a[8][4];
  load_index_query<kType>(a, position, p, w, warp * 16, true, g, tig);
  const int query_of_half[2] = {w.query_begin + (warp * 16 + g) / p.num_heads,
                                w.query_begin + (warp * 16 + g + 8) / p.num_heads};
  const int head_of_half[2] = {(warp * 16 + g) % p.num_heads, (warp * 16 + g + 8) % p.num_heads};

  const int32_t *page_table = p.page_tables + size_t(w.sequence) * p.page_table_stride;
  const uint8_t *keys = static_cast<const uint8_t *>(p.index_keys);
  const int num_blocks = w.block_end - w.block_begin;
  // The pages of the group copied next, read a group ahead so that no warp waits for the page
  // table between the barrier and its MMAs.
  int pages[kBlocksPerSync];
  auto read_pages = [&](int group) {
#pragma unroll
    for (int j = 0; j < kBlocksPerSync; ++j) {
      const int i = group * kBlocksPerSync + j;
      pages[j] = i < num_blocks ? page_table[w.block_begin + i] : 0;
    }
  };
  auto issue_group = [&](int group) { // block i into stage i % kStagesWide
#pragma unroll
    for (int j = 0; j < kBlocksPerSync; ++j) {
      const int i = group * kBlocksPerSync + j;
      if (i < num_blocks) {
        const uint32_t tile = tiles + (i % kStagesWide) * kTileBytes;
        const uint8_t *global = keys + size_t(pages[j]) * kTileBytes;
        for (int c = threadIdx.x; c < kBlockSize * kChunksPerRow; c += blockDim.x)
          cp_async_16(tile + sw128_offset(c / kChunksPerRow, c % kChunksPerRow, kBlockSize),
                      global + size_t(c) * 16);
      }
    }
    cp_async_commit();
  };
  auto score_block = [&](int i) {
    const int block = w.block_begin + i;
    const uint32_t tile = tiles + (i % kStagesWide) * kTileBytes;
    float acc[16][4];
    wgmma_fence();
    if constexpr (kType == IndexKeyType::kBF16) {
#pragma unroll
      for (int ks = 0; ks < 8; ++ks) // 64 dims per slab, 16 per step
        wgmma_m64n128k16<0>(
            acc, a[ks],
            sw128_descriptor(tile + (ks / 4) * kBlockSize * 128 + (ks % 4) * 32, 16, 1024), ks > 0);
    } else {
#pragma unroll
      for (int ks = 0; ks < 4; ++ks) // 128 dims = one slab of bytes, 32 per step
        wgmma_m64n128k32_e4m3(acc, a[ks], sw128_descriptor(tile + ks * 32, 16, 1024), ks > 0);
    }
    wgmma_commit();
    wgmma_wait_all();
    float best[2] = {-INFINITY, -INFINITY};
    const int first_key = block * kBlockSize;
    if (first_key + kBlockSize - 1 <= min(position[0], position[1])) { // no key to mask
#pragma unroll
      for (int nt = 0; nt < 16; ++nt)
#pragma unroll
        for (int c = 0; c < 4; ++c)
          best[c / 2] = fmaxf(best[c / 2], acc[nt][c]);
    } else {
#pragma unroll
      for (int nt = 0; nt < 16; ++nt)
#pragma unroll
        for (int c = 0; c < 4; ++c)
          if (first_key + nt * 8 + 2 * tig + (c & 1) <= position[c / 2])
            best[c / 2] = fmaxf(best[c / 2], acc[nt][c]);
    }
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      best[half] = fmaxf(best[half], __shfl_xor_sync(0xffffffffu, best[half], 1));
      best[half] = fmaxf(best[half], __shfl_xor_sync(0xffffffffu, best[half], 2));
      if (tig == 0 && position[half] >= 0)
        p.block_scores[(size_t(query_of_half[half]) * p.num_heads + head_of_half[half]) *
                           p.score_stride +
                       block] = best[half];
    }
  };
  static_assert(kWideRingGroups == 3, "the loop below keeps two groups of copies in flight");
  read_pages(0);
  issue_group(0);
  read_pages(1);
  issue_group(1);
  read_pages(2);
  pin_registers(a);
  for (int group = 0; group * kBlocksPerSync < num_blocks; ++group) {
    cp_async_wait<1>(); // this group's copies landed; the next group's may still be in flight
    fence_proxy_async_shared();
    // Every thread's copies of this group are visible, and every warpgroup is done with the
    // previous group (wgmma waited), whose stages the group after next now refills.
    __syncthreads();
    issue_group(group + 2);
    read_pages(group + 3);
    if (warpgroup_active)
      for (int i = group * kBlocksPerSync; i < min(num_blocks, (group + 1) * kBlocksPerSync); ++i)
        score_block(i);
  }
}

template <IndexKeyType kType>
void launch_typed(const ScoreParams &params, int num_work, int max_rows, cudaStream_t stream) {
  if (max_rows > kScoreMaxRows / 2) {
    const int smem = kWideRingGroups * KeyTraits<kType>::kBlocksPerSync * kBlockSize *
                         KeyTraits<kType>::kRowBytes +
                     1024; // + alignment
    M3_CUDA_CHECK(cudaFuncSetAttribute(score_blocks_wgmma_kernel<kType>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    launch_dependent(score_blocks_wgmma_kernel<kType>, num_work, kScoreWideThreads, smem, stream,
                     params);
  } else {
    const int smem = kStages * kBlockSize * KeyTraits<kType>::kRowBytes + kWarps * 16 * 4;
    M3_CUDA_CHECK(cudaFuncSetAttribute(score_blocks_kernel<kType>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    launch_dependent(score_blocks_kernel<kType>, num_work, kScoreThreads, smem, stream, params);
  }
}

} // namespace

void launch_score_blocks(const ScoreParams &params, IndexKeyType type, int num_work, int max_rows,
                         cudaStream_t stream) {
  if (num_work == 0)
    return;
  if (type == IndexKeyType::kBF16)
    launch_typed<IndexKeyType::kBF16>(params, num_work, max_rows, stream);
  else if (type == IndexKeyType::kFP8E4M3)
    launch_typed<IndexKeyType::kFP8E4M3>(params, num_work, max_rows, stream);
  else
    throw std::runtime_error("score_blocks: unsupported index key type");
}

} // namespace m3::cuda::detail
