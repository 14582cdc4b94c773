#!/usr/bin/env bash
# Builds and runs the CUDA kernel suite on a GPU machine in one command: the correctness tests
# (tests/kernels/cuda, against the CPU reference) and then the benchmark (bench/kernels).
#   scripts/gpu_kernel_suite.sh [--bin DIR] [--skip-bench] [--quick]
# --bin DIR uses prebuilt test_msa_cuda and libm3_kernels_capi.so from DIR instead of building.
# Logs and the benchmark table go to $OUT when set (the GPU machine's return folder), else ./.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="" bench=1 quick=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --skip-bench) bench=0; shift ;;
    --quick) quick="--quick"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
out="${OUT:-.}"
if [ -z "$bin" ]; then
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DM3_CUDA=ON >/dev/null
  cmake --build build-gpu -j "$(nproc)" --target test_msa_cuda m3_kernels_capi
  bin=build-gpu
  test_bin="$bin/tests/kernels/cuda/test_msa_cuda"
  lib="$bin/src/kernels/cuda/libm3_kernels_capi.so"
else
  test_bin="$bin/test_msa_cuda"
  lib="$bin/libm3_kernels_capi.so"
fi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader
echo "== correctness: $test_bin"
"$test_bin" 2>&1 | tee "$out/kernel_tests.log"
if [ "$bench" = 1 ]; then
  echo "== benchmark"
  PYTHONUNBUFFERED=1 python3 bench/kernels/bench_msa.py "$lib" $quick --out "$out/bench_table.md" \
    2>&1 | tee "$out/bench.log"
fi
