// MSA indexer, part 2: top-k selection per (query, index head) row. The local block qb is
// forced (last valid entry); the other min(16, qb + 1) - 1 entries are the highest-scoring
// historical blocks 0..qb-1, found by an exact radix select (8 bits a pass, stopping early once
// the boundary digit's bin is taken whole) over the order-preserving integer image of the fp32
// scores, with the candidates kept in registers.
// Historical entries come out in no particular order (msa-kernels.md §1.3); -1 pads the row.
#include "kernels/cuda/dependent_launch.cuh"

namespace m3::cuda::detail {
namespace {

// Larger float -> larger unsigned integer.
__device__ __forceinline__ uint32_t ordered_bits(float value) {
  const uint32_t bits = __float_as_uint(value);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

template <int kThreads> __global__ void __launch_bounds__(kThreads) topk_kernel(TopkParams p) {
  begin_dependent_grid();
  __shared__ int histogram[256];
  __shared__ uint32_t shared_prefix;
  __shared__ int shared_remaining, shared_done, count_above, count_tied;

  const int32_t row = blockIdx.x;
  const int32_t query = row / p.num_heads;
  const int32_t local_block = p.query_position[query] / kBlockSize;
  const int num_historical = min(kTopkBlocks - 1, local_block);
  int32_t *out = p.selected + size_t(row) * kTopkBlocks;

  if (local_block <= kTopkBlocks - 1) { // every historical block fits: no selection needed
    if (threadIdx.x < kTopkBlocks) {
      const int s = threadIdx.x;
      out[s] = s < local_block ? s : (s == local_block ? local_block : -1);
    }
    return;
  }

  const float *scores = p.block_scores + size_t(row) * p.score_stride;
  uint32_t keys[kTopkPerThread];
#pragma unroll
  for (int i = 0; i < kTopkPerThread; ++i) {
    const int block = threadIdx.x + i * kThreads;
    keys[i] = block < local_block ? ordered_bits(scores[block]) : 0u;
  }
  auto candidate = [&](int i) { return threadIdx.x + i * kThreads < local_block; };

  uint32_t prefix = 0, mask = 0;
  int remaining = num_historical; // how many of the still-matching keys to take
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int i = threadIdx.x; i < 256; i += kThreads)
      histogram[i] = 0;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < kTopkPerThread; ++i)
      if (candidate(i) && (keys[i] & mask) == prefix)
        atomicAdd(&histogram[(keys[i] >> shift) & 255], 1);
    __syncthreads();
    if (threadIdx.x < 32) {
      // Lane l owns bins 255 - 8l ... 248 - 8l (descending); find the bin holding the
      // remaining-th largest key.
      const int lane = threadIdx.x;
      int lane_sum = 0;
      for (int k = 0; k < 8; ++k)
        lane_sum += histogram[255 - 8 * lane - k];
      int inclusive = lane_sum;
      for (int offset = 1; offset < 32; offset <<= 1) {
        const int other = __shfl_up_sync(0xffffffffu, inclusive, offset);
        if (lane >= offset)
          inclusive += other;
      }
      const int before = inclusive - lane_sum;
      if (before < remaining && remaining <= inclusive) {
        int seen = before;
        for (int k = 0; k < 8; ++k) {
          const int bin = 255 - 8 * lane - k;
          if (seen + histogram[bin] >= remaining) {
            shared_prefix = prefix | (uint32_t(bin) << shift);
            shared_remaining = remaining - seen;
            shared_done = seen + histogram[bin] == remaining; // the whole bin is taken
            break;
          }
          seen += histogram[bin];
        }
      }
      if (lane == 0)
        count_above = count_tied = 0;
    }
    __syncthreads();
    prefix = shared_prefix;
    remaining = shared_remaining;
    mask |= 255u << shift;
    if (shared_done)
      break;
  }
  // Under `mask`, prefix is now the digits of the num_historical-th largest key: take every key
  // above it and `remaining` keys equal to it.
  const int num_above = num_historical - remaining;
#pragma unroll
  for (int i = 0; i < kTopkPerThread; ++i) {
    if (!candidate(i))
      continue;
    const int block = threadIdx.x + i * kThreads;
    const uint32_t digits = keys[i] & mask;
    if (digits > prefix) {
      out[atomicAdd(&count_above, 1)] = block;
    } else if (digits == prefix) {
      const int tie = atomicAdd(&count_tied, 1);
      if (tie < remaining)
        out[num_above + tie] = block;
    }
  }
  if (threadIdx.x == 0)
    out[num_historical] = local_block; // num_historical = 15 here
}

template <int kThreads> void launch_threads(const TopkParams &params, cudaStream_t stream) {
  launch_dependent(topk_kernel<kThreads>, params.num_rows, kThreads, 0, stream, params);
}

} // namespace

void launch_topk(const TopkParams &params, int32_t max_candidates, cudaStream_t stream) {
  if (params.num_rows == 0)
    return;
  if (max_candidates <= 128 * kTopkPerThread)
    launch_threads<128>(params, stream);
  else if (max_candidates <= 256 * kTopkPerThread)
    launch_threads<256>(params, stream);
  else if (max_candidates <= 512 * kTopkPerThread)
    launch_threads<512>(params, stream);
  else if (max_candidates <= 1024 * kTopkPerThread)
    launch_threads<1024>(params, stream);
  else
    throw std::runtime_error("topk: more than 8192 candidate blocks (context > 1M tokens)");
}

} // namespace m3::cuda::detail
