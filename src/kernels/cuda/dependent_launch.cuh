#pragma once
// Programmatic dependent launch (sm_90): a kernel launched with launch_dependent() may be scheduled
// while the previous kernel of its stream is still running, which hides the launch gap between
// the small kernels of a decode step. Every kernel of this directory starts with
// begin_dependent_grid(): it waits until the previous grid has completed and its memory is
// visible (a no-op for a normal launch), then lets the next grid be scheduled.
#include <cuda_runtime.h>

#include <utility>

#include "kernels/cuda/kernels.h"

namespace m3::cuda::detail {

__device__ __forceinline__ void begin_dependent_grid() {
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
}

template <typename... Params, typename... Args>
void launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem,
                      cudaStream_t stream, Args &&...args) {
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = 1;
  M3_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
}

} // namespace m3::cuda::detail
