#pragma once
// Test-side safetensors writing: tensors as raw bytes, single files, sharded directories with an
// index. Written from the format spec, not
// from the loader, so the loader's tests do not check it against itself.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace m3::test_support {

struct RawTensor {
  std::string dtype; // safetensors name: "BF16", "F8_E4M3", ...
  std::vector<int64_t> shape;
  std::string bytes; // little-endian elements, row-major
};

using TensorMap = std::map<std::string, RawTensor>;

// The header JSON (tensors back to back in name order) without the 8-byte length prefix.
std::string safetensors_header(const TensorMap &tensors);
// Header length, header and data: a complete .safetensors file.
std::string safetensors_file(const TensorMap &tensors);
void write_safetensors(const std::string &path, const TensorMap &tensors);
// Splits tensors round-robin over num_shards files model-0000i-of-0000n.safetensors and writes
// model.safetensors.index.json mapping each tensor to its shard.
void write_sharded(const std::string &dir, const TensorMap &tensors, int num_shards);

void write_text(const std::string &path, const std::string &text);

} // namespace m3::test_support
