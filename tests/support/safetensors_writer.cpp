#include "safetensors_writer.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace m3::test_support {

namespace fs = std::filesystem;
using nlohmann::json;

std::string safetensors_header(const TensorMap &tensors) {
  json header = json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const auto &[name, tensor] : tensors) {
    header[name] = {{"dtype", tensor.dtype},
                    {"shape", tensor.shape},
                    {"data_offsets", {offset, offset + tensor.bytes.size()}}};
    offset += tensor.bytes.size();
  }
  return header.dump();
}

std::string safetensors_file(const TensorMap &tensors) {
  const std::string header = safetensors_header(tensors);
  std::string out;
  for (int i = 0; i < 8; ++i)
    out.push_back(char((uint64_t(header.size()) >> (8 * i)) & 0xFF));
  out += header;
  for (const auto &[name, tensor] : tensors)
    out += tensor.bytes;
  return out;
}

void write_safetensors(const std::string &path, const TensorMap &tensors) {
  write_text(path, safetensors_file(tensors));
}

void write_sharded(const std::string &dir, const TensorMap &tensors, int num_shards) {
  std::vector<TensorMap> shards(num_shards);
  json weight_map = json::object();
  int next = 0;
  auto shard_name = [&](int i) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", i + 1, num_shards);
    return std::string(name);
  };
  for (const auto &[name, tensor] : tensors) {
    shards[next].emplace(name, tensor);
    weight_map[name] = shard_name(next);
    next = (next + 1) % num_shards;
  }
  for (int i = 0; i < num_shards; ++i)
    write_safetensors(dir + "/" + shard_name(i), shards[i]);
  json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}};
  write_text(dir + "/model.safetensors.index.json", index.dump(2));
}

void write_text(const std::string &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw std::runtime_error("cannot write " + path);
  out.write(text.data(), std::streamsize(text.size()));
}

} // namespace m3::test_support
