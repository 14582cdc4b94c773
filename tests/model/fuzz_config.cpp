// libFuzzer target for config.json parsing: any bytes must parse to a config whose derived sizes
// are computable, or fail with m3::Error. Build with clang and -DM3_FUZZ=ON; seed it with
// tests/model/data/*/config.json and tests/fixtures/*/config.json.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    const m3::ModelConfig config =
        m3::parse_model_config(std::string(reinterpret_cast<const char *>(data), size));
    volatile int64_t sink = config.parameter_count() + config.kv_bytes_per_token();
    (void)sink;
  } catch (const m3::Error &) {
  }
  return 0;
}
