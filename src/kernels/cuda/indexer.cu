// MSA indexer, part 1: block scores. For every (query, index head) row and logical block b of its
// work item, score[row, b] = max over the block's keys j <= position of <index_q[row], index_k[j]>
// (fp32 accumulation). Tensor cores: a warp multiplies 16 rows by 8 keys at a time; bf16 keys go
// through ldmatrix; with e4m3 keys the query is rounded to e4m3 too (RNE, saturating: MSA's
// "Q8KV8" indexer) and both feed the fp8 MMA. Index-K blocks stream through a 3-stage cp.async
// pipeline; the CTA holds up to 128 rows (32 queries x 4 heads) so prefill reuses each block.
#include <cuda_fp8.h>

#include "kernels/cuda/kernels.h"
#include "kernels/cuda/mma.cuh"

namespace m3::cuda::detail {
namespace {

constexpr int kStages = 3;
constexpr int kWarps = kScoreThreads / 32;

template <IndexKeyType kType> struct KeyTraits;
template <> struct KeyTraits<IndexKeyType::kBF16> {
  static constexpr int kRowBytes = kIndexHeadDim * 2;
};
template <> struct KeyTraits<IndexKeyType::kFP8E4M3> {
  static constexpr int kRowBytes = kIndexHeadDim;
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

template <IndexKeyType kType>
__global__ void __launch_bounds__(kScoreThreads, 2) score_blocks_kernel(ScoreParams p) {
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

  // Query fragments for rows group*16 + g and + 8 (rows past the item are zero and unwritten).
  int position[2] = {-1, -1};
  uint32_t a[8][4];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = group * 16 + g + half * 8;
    const bool valid = active && row < rows;
    const int query = w.query_begin + row / p.num_heads;
    const __nv_bfloat16 *q =
        p.index_q + (size_t(query) * p.num_heads + row % p.num_heads) * kIndexHeadDim;
    if (valid)
      position[half] = p.query_position[query];
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

template <IndexKeyType kType>
void launch_typed(const ScoreParams &params, int num_work, cudaStream_t stream) {
  const int smem = kStages * kBlockSize * KeyTraits<kType>::kRowBytes + kWarps * 16 * 4;
  M3_CUDA_CHECK(cudaFuncSetAttribute(score_blocks_kernel<kType>,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  score_blocks_kernel<kType><<<num_work, kScoreThreads, smem, stream>>>(params);
  M3_CUDA_CHECK_LAUNCH();
}

} // namespace

void launch_score_blocks(const ScoreParams &params, IndexKeyType type, int num_work,
                         cudaStream_t stream) {
  if (num_work == 0)
    return;
  if (type == IndexKeyType::kBF16)
    launch_typed<IndexKeyType::kBF16>(params, num_work, stream);
  else if (type == IndexKeyType::kFP8E4M3)
    launch_typed<IndexKeyType::kFP8E4M3>(params, num_work, stream);
  else
    throw std::runtime_error("score_blocks: unsupported index key type");
}

} // namespace m3::cuda::detail
