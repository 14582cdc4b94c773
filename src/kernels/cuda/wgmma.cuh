#pragma once
// Warpgroup-level tensor-core primitives (sm_90a wgmma): shared-memory matrix descriptors for
// 128-byte-swizzled tiles and the m64n128k16 bf16 MMA with A in registers. A warpgroup = 4
// consecutive warps starting at a warp index divisible by 4; warp w owns rows 16w..16w+15 of the
// 64-row A and D tiles, in the same per-warp fragment layout as mma.sync m16n8k16 (D: n-tile j of
// 8 columns in d[j][0..3]).
#include <cstdint>

namespace m3::cuda::detail {

// Canonical 128-byte-swizzle tile of `rows` rows x 128 bf16 columns as wgmma reads it: two slabs of
// 64 columns ([rows, 128 B] each, one after the other); 16-byte chunk c of a row sits at chunk
// c ^ (row % 8) of that row's 128 bytes. Tiles must start 1024-byte aligned.
__device__ __forceinline__ uint32_t sw128_offset(int row, int chunk, int rows) {
  return (chunk >> 3) * rows * 128 + row * 128 + (((chunk & 7) ^ (row & 7)) << 4);
}

// Descriptor of a 128-byte-swizzled operand at shared address `address`: lbo / sbo are the byte
// strides between 64-element atoms along the leading dimension and between 8-row groups.
__device__ __forceinline__ uint64_t sw128_descriptor(uint32_t address, uint32_t lbo, uint32_t sbo) {
  return uint64_t((address & 0x3ffff) >> 4) | (uint64_t(lbo >> 4) << 16) |
         (uint64_t(sbo >> 4) << 32) | (uint64_t(1) << 62);
}

__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_wait_all() {
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
}
// Orders this thread's generic-proxy shared-memory writes (stores, cp.async) before later
// async-proxy reads (wgmma operands); each writing thread issues it before the barrier.
__device__ __forceinline__ void fence_proxy_async_shared() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// Keeps the computation of these A fragments before this point, so that ptxas does not interleave
// it with the wgmma group that reads them (it would then serialize the group).
__device__ __forceinline__ void pin_registers(uint32_t (&a)[8][4]) {
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
      asm volatile("" : "+r"(a[i][j])::"memory");
}

// The same for wgmma accumulators: placed after a wait (and before an issue), it keeps every read
// of them after the wait (and every write before the issue).
__device__ __forceinline__ void pin_accumulators(float (&d)[16][4]) {
#pragma unroll
  for (int i = 0; i < 16; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
      asm volatile("" : "+f"(d[i][j])::"memory");
}

// The 64 fp32 accumulator operands of an m64n128 wgmma, d[16][4] (asm output list), with
// constraint `mode`: "+f" when the wgmma accumulates into them, "=f" when it overwrites them (their
// old values are dead before it, which frees their registers).
#define M3_WGMMA_N128_OPERANDS(mode, d)                                                            \
  mode(d[0][0]), mode(d[0][1]), mode(d[0][2]), mode(d[0][3]), mode(d[1][0]), mode(d[1][1]),        \
      mode(d[1][2]), mode(d[1][3]), mode(d[2][0]), mode(d[2][1]), mode(d[2][2]), mode(d[2][3]),    \
      mode(d[3][0]), mode(d[3][1]), mode(d[3][2]), mode(d[3][3]), mode(d[4][0]), mode(d[4][1]),    \
      mode(d[4][2]), mode(d[4][3]), mode(d[5][0]), mode(d[5][1]), mode(d[5][2]), mode(d[5][3]),    \
      mode(d[6][0]), mode(d[6][1]), mode(d[6][2]), mode(d[6][3]), mode(d[7][0]), mode(d[7][1]),    \
      mode(d[7][2]), mode(d[7][3]), mode(d[8][0]), mode(d[8][1]), mode(d[8][2]), mode(d[8][3]),    \
      mode(d[9][0]), mode(d[9][1]), mode(d[9][2]), mode(d[9][3]), mode(d[10][0]), mode(d[10][1]),  \
      mode(d[10][2]), mode(d[10][3]), mode(d[11][0]), mode(d[11][1]), mode(d[11][2]),              \
      mode(d[11][3]), mode(d[12][0]), mode(d[12][1]), mode(d[12][2]), mode(d[12][3]),              \
      mode(d[13][0]), mode(d[13][1]), mode(d[13][2]), mode(d[13][3]), mode(d[14][0]),              \
      mode(d[14][1]), mode(d[14][2]), mode(d[14][3]), mode(d[15][0]), mode(d[15][1]),              \
      mode(d[15][2]), mode(d[15][3])

#define M3_WGMMA_N128_ACCUMULATORS(d) M3_WGMMA_N128_OPERANDS("+f", d)

// The register list of those operands, %0 .. %63, in the instruction text.
#define M3_WGMMA_N128_D_LIST                                                                       \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                        \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "               \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "               \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"

// D[64x128] (+)= A[64x16] * B[16x128]: bf16 in, fp32 accumulators. A in registers (this warp's 16
// rows), B by descriptor; kTransposeB = 0 for a K-major B (rows = the 128 N indices, 16 K values
// contiguous), 1 for an MN-major B (rows = the 16 K indices, N contiguous). accumulate = 0
// overwrites D.
template <int kTransposeB>
__device__ __forceinline__ void wgmma_m64n128k16(float (&d)[16][4], const uint32_t (&a)[4],
                                                 uint64_t b, int accumulate) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " M3_WGMMA_N128_D_LIST ", "
               "{%64, %65, %66, %67}, %68, p, 1, 1, %70;\n}\n"
               : M3_WGMMA_N128_ACCUMULATORS(d)
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate),
                 "n"(kTransposeB));
}

// D[64x128] = A[64x16] * B[16x128] as wgmma_m64n128k16 with accumulate = 0, D's old values unused.
template <int kTransposeB>
__device__ __forceinline__ void wgmma_m64n128k16_overwrite(float (&d)[16][4],
                                                           const uint32_t (&a)[4], uint64_t b) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " M3_WGMMA_N128_D_LIST ", "
               "{%64, %65, %66, %67}, %68, p, 1, 1, %70;\n}\n"
               : M3_WGMMA_N128_OPERANDS("=f", d)
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(0), "n"(kTransposeB));
}

// D[64x128] (+)= A[64x16] * B[16x128] with both operands in shared memory: A K-major by
// descriptor (rows = the 64 M indices, 16 K values contiguous), B as in wgmma_m64n128k16.
template <int kTransposeB>
__device__ __forceinline__ void wgmma_m64n128k16_ss(float (&d)[16][4], uint64_t a, uint64_t b,
                                                    int accumulate) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " M3_WGMMA_N128_D_LIST ", "
               "%64, %65, p, 1, 1, 0, %67;\n}\n"
               : M3_WGMMA_N128_ACCUMULATORS(d)
               : "l"(a), "l"(b), "r"(accumulate), "n"(kTransposeB));
}

// D[64x128] = A[64x16] * B[16x128] as wgmma_m64n128k16_ss with accumulate = 0, D's old values
// unused.
template <int kTransposeB>
__device__ __forceinline__ void wgmma_m64n128k16_ss_overwrite(float (&d)[16][4], uint64_t a,
                                                              uint64_t b) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " M3_WGMMA_N128_D_LIST ", "
               "%64, %65, p, 1, 1, 0, %67;\n}\n"
               : M3_WGMMA_N128_OPERANDS("=f", d)
               : "l"(a), "l"(b), "r"(0), "n"(kTransposeB));
}

// D[64x128] (+)= A[64x32] * B[32x128]: e4m3 in, fp32 accumulators; A in registers (4 e4m3 per
// register, the mma.sync m16n8k32 layout per warp), B K-major by descriptor.
__device__ __forceinline__ void wgmma_m64n128k32_e4m3(float (&d)[16][4], const uint32_t (&a)[4],
                                                      uint64_t b, int accumulate) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 " M3_WGMMA_N128_D_LIST ", "
               "{%64, %65, %66, %67}, %68, p, 1, 1;\n}\n"
               : M3_WGMMA_N128_ACCUMULATORS(d)
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate));
}

} // namespace m3::cuda::detail
