// Inverts the query-major selection [num_queries, num_kv_heads, 16] into a CSR over rows =
// (kv_head, global block) so the KV-block-major attention loads each selected block once:
// count -> one-CTA exclusive scan (row starts and per-row CTA starts, kK2qQueriesPerCta queries
// per CTA) -> scatter of query * 16 + slot. All on device; graph-capturable.
#include <algorithm>

#include "kernels/cuda/dependent_launch.cuh"

namespace m3::cuda::detail {
namespace {

constexpr int kScanThreads = 1024;

__device__ __forceinline__ int edge_row(const K2qParams &p, int64_t edge, int32_t block) {
  const int32_t query = int32_t(edge / (p.num_kv_heads * kTopkBlocks));
  const int kv_head = int(edge / kTopkBlocks) % p.num_kv_heads;
  return kv_head * p.total_blocks + p.block_offset[p.query_sequence[query]] + block;
}

// count_kernel follows a memset: launched normally (its begin_dependent_grid() is a no-op).
__global__ void count_kernel(K2qParams p) {
  begin_dependent_grid();
  const int64_t edges = int64_t(p.num_queries) * p.num_kv_heads * kTopkBlocks;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < edges;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int32_t block = p.selected[e];
    if (block >= 0)
      atomicAdd(&p.counts[edge_row(p, e, block)], 1);
  }
}

__global__ void __launch_bounds__(kScanThreads) scan_kernel(K2qParams p) {
  begin_dependent_grid();
  __shared__ int warp_rows[32], warp_ctas[32];
  const int num_rows = p.num_kv_heads * p.total_blocks;
  const int per_thread = (num_rows + kScanThreads - 1) / kScanThreads;
  const int begin = min(num_rows, int(threadIdx.x) * per_thread);
  const int end = min(num_rows, begin + per_thread);
  int rows = 0, ctas = 0;
  for (int r = begin; r < end; ++r) {
    rows += p.counts[r];
    ctas += (p.counts[r] + kK2qQueriesPerCta - 1) / kK2qQueriesPerCta;
  }
  // Block-wide exclusive scan of (rows, ctas).
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  int row_incl = rows, cta_incl = ctas;
  for (int offset = 1; offset < 32; offset <<= 1) {
    const int r = __shfl_up_sync(0xffffffffu, row_incl, offset);
    const int c = __shfl_up_sync(0xffffffffu, cta_incl, offset);
    if (lane >= offset)
      row_incl += r, cta_incl += c;
  }
  if (lane == 31)
    warp_rows[warp] = row_incl, warp_ctas[warp] = cta_incl;
  __syncthreads();
  if (warp == 0) {
    int r = warp_rows[lane], c = warp_ctas[lane];
    for (int offset = 1; offset < 32; offset <<= 1) {
      const int rr = __shfl_up_sync(0xffffffffu, r, offset);
      const int cc = __shfl_up_sync(0xffffffffu, c, offset);
      if (lane >= offset)
        r += rr, c += cc;
    }
    warp_rows[lane] = r, warp_ctas[lane] = c;
  }
  __syncthreads();
  int row_pos = row_incl - rows + (warp > 0 ? warp_rows[warp - 1] : 0);
  int cta_pos = cta_incl - ctas + (warp > 0 ? warp_ctas[warp - 1] : 0);
  for (int r = begin; r < end; ++r) {
    p.row_start[r] = row_pos;
    p.cursor[r] = row_pos;
    p.cta_start[r] = cta_pos;
    row_pos += p.counts[r];
    cta_pos += (p.counts[r] + kK2qQueriesPerCta - 1) / kK2qQueriesPerCta;
  }
  if (threadIdx.x == kScanThreads - 1) {
    p.row_start[num_rows] = warp_rows[31];
    p.cta_start[num_rows] = warp_ctas[31];
  }
}

__global__ void scatter_kernel(K2qParams p) {
  begin_dependent_grid();
  const int64_t edges = int64_t(p.num_queries) * p.num_kv_heads * kTopkBlocks;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < edges;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int32_t block = p.selected[e];
    if (block < 0)
      continue;
    const int slot = int(e % kTopkBlocks);
    const int32_t query = int32_t(e / (p.num_kv_heads * kTopkBlocks));
    p.entries[atomicAdd(&p.cursor[edge_row(p, e, block)], 1)] = query * kTopkBlocks + slot;
  }
}

} // namespace

void launch_k2q(const K2qParams &params, cudaStream_t stream) {
  const int num_rows = params.num_kv_heads * params.total_blocks;
  M3_CUDA_CHECK(cudaMemsetAsync(params.counts, 0, sizeof(int32_t) * num_rows, stream));
  const int64_t edges = int64_t(params.num_queries) * params.num_kv_heads * kTopkBlocks;
  const int grid = int(std::min<int64_t>((edges + 255) / 256, 4096));
  count_kernel<<<grid, 256, 0, stream>>>(params);
  M3_CUDA_CHECK_LAUNCH();
  launch_dependent(scan_kernel, 1, kScanThreads, 0, stream, params);
  launch_dependent(scatter_kernel, grid, 256, 0, stream, params);
}

} // namespace m3::cuda::detail
