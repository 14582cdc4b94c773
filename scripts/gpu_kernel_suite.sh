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

# Without CMake's project dependencies (the GPU image may lack the tokenizer's and runtime's
# packages) the suite still builds: kernels, CPU reference and test straight through nvcc/g++.
direct_build() {
  local dir=build-gpu-direct cuda=/usr/local/cuda
  mkdir -p "$dir"
  local objects=()
  for f in src/kernels/cuda/*.cu; do
    nvcc -std=c++17 -O3 -lineinfo -gencode=arch=compute_90a,code=sm_90a -Xcompiler -fPIC -Isrc \
      -c "$f" -o "$dir/$(basename "$f").o" &
    objects+=("$dir/$(basename "$f").o")
  done
  wait
  local cxx=(g++ -std=c++20 -O2 -fPIC -Isrc -I"$cuda/include")
  "${cxx[@]}" -shared src/kernels/cuda/msa_capi.cpp "${objects[@]}" -L"$cuda/lib64" \
    -lcudart_static -ldl -lrt -pthread -o "$dir/libm3_kernels_capi.so"
  "${cxx[@]}" tests/kernels/cuda/test_msa_cuda.cpp src/kernels/cpu/*.cpp src/core/dtype.cpp \
    src/core/parallel.cpp "${objects[@]}" -L"$cuda/lib64" -lgtest_main -lgtest -lcudart_static \
    -ldl -lrt -pthread -o "$dir/test_msa_cuda"
  echo "$dir"
}

if [ -z "$bin" ]; then
  if cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DM3_CUDA=ON >/dev/null; then
    cmake --build build-gpu -j "$(nproc)" --target test_msa_cuda m3_kernels_capi
    test_bin=build-gpu/tests/kernels/cuda/test_msa_cuda
    lib=build-gpu/src/kernels/cuda/libm3_kernels_capi.so
  else
    echo "cmake configure failed (missing project packages?): building the suite directly"
    bin=$(direct_build | tail -1)
    test_bin="$bin/test_msa_cuda"
    lib="$bin/libm3_kernels_capi.so"
  fi
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
