// libFuzzer target for the safetensors header parser and validator: any byte string, opened as
// a .safetensors file, must either load or fail with m3::Error (never crash, hang or read out of
// bounds). Build with clang: cmake -DCMAKE_CXX_COMPILER=clang++ -DM3_FUZZ=ON, then run
// build/tests/core/fuzz_safetensors [corpus_dir].
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // An in-memory file, reached by path, so the real open/mmap path is what gets fuzzed.
  static const int fd = memfd_create("fuzz.safetensors", 0);
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != ssize_t(size))
    return 0;
  try {
    m3::SafetensorsArchive archive("/proc/self/fd/" + std::to_string(fd));
    for (const auto &[name, tensor] : archive.tensors()) {
      // Touch the first and last byte of every tensor: they must lie inside the mapping.
      if (tensor.num_bytes > 0) {
        volatile uint8_t first = static_cast<const uint8_t *>(tensor.data)[0];
        volatile uint8_t last = static_cast<const uint8_t *>(tensor.data)[tensor.num_bytes - 1];
        (void)first;
        (void)last;
      }
    }
  } catch (const m3::Error &) {
  }
  return 0;
}
