#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/text_file.h"

namespace m3 {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// safetensors refuses headers above 100 MB; a bigger one is corruption, not a checkpoint.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct ParsedEntry {
  std::string name;
  uint64_t begin = 0;
  uint64_t end = 0;
};

std::vector<int64_t> parse_shape(const json &value, const std::string &where) {
  require(value.is_array(), where + ": 'shape' must be an array of integers");
  std::vector<int64_t> shape;
  for (const auto &dim : value) {
    require(dim.is_number_unsigned() || (dim.is_number_integer() && dim.get<int64_t>() >= 0),
            where + ": 'shape' must hold non-negative integers");
    shape.push_back(dim.get<int64_t>());
  }
  return shape;
}

} // namespace

uint64_t safetensors_dtype_size(const std::string &dtype) {
  static const std::map<std::string, uint64_t> kSizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},     {"U32", 4},
      {"F32", 4},  {"I64", 8}, {"U64", 8}, {"F64", 8}};
  auto it = kSizes.find(dtype);
  return it == kSizes.end() ? 0 : it->second;
}

int64_t TensorInfo::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

std::string shape_string(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

SafetensorsArchive::MappedFile::~MappedFile() {
  if (base != nullptr)
    munmap(const_cast<uint8_t *>(base), size);
}

SafetensorsArchive::SafetensorsArchive(const std::string &path) {
  std::error_code error;
  if (fs::is_regular_file(path, error)) {
    add_file(path);
    return;
  }
  require(fs::is_directory(path, error), "model path '" + path + "' does not exist");
  const std::string index_path = (fs::path(path) / "model.safetensors.index.json").string();
  if (fs::exists(index_path, error)) {
    open_indexed(path, index_path);
    return;
  }
  std::vector<std::string> files;
  for (const auto &entry : fs::directory_iterator(path, error))
    if (entry.is_regular_file() && entry.path().extension() == ".safetensors")
      files.push_back(entry.path().string());
  require(!files.empty(), "no .safetensors files (and no model.safetensors.index.json) in " + path);
  std::sort(files.begin(), files.end());
  for (const auto &file : files)
    add_file(file);
}

SafetensorsArchive::~SafetensorsArchive() = default;

void SafetensorsArchive::open_indexed(const std::string &dir, const std::string &index_path) {
  sharded_ = true;
  json index;
  try {
    index = json::parse(read_text_file(index_path));
  } catch (const json::exception &parse_error) {
    fail(index_path + ": not valid JSON (" + parse_error.what() + ")");
  }
  require(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(),
          index_path + ": missing the 'weight_map' object");
  std::map<std::string, std::vector<std::string>> names_by_shard;
  for (const auto &[name, shard] : index["weight_map"].items()) {
    require(shard.is_string(), index_path + ": weight_map entry '" + name + "' is not a file name");
    names_by_shard[shard.get<std::string>()].push_back(name);
  }
  require(!names_by_shard.empty(), index_path + ": 'weight_map' is empty");
  for (const auto &[shard, names] : names_by_shard) {
    const std::string shard_path = (fs::path(dir) / shard).string();
    std::error_code error;
    require(fs::is_regular_file(shard_path, error),
            index_path + ": tensor " + names.front() + " is mapped to missing file " + shard);
    add_file(shard_path);
    for (const auto &name : names) {
      const TensorInfo *tensor = find(name);
      require(tensor != nullptr && *tensor->file == shard_path,
              index_path + ": tensor " + name + " is mapped to " + shard +
                  (tensor ? " but is stored in " + *tensor->file : " which does not contain it"));
    }
  }
}

void SafetensorsArchive::add_file(const std::string &path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  require(fd >= 0, "cannot open " + path + ": " + std::strerror(errno));
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    close(fd);
    fail("cannot stat " + path);
  }
  const uint64_t file_size = uint64_t(info.st_size);
  if (file_size < 8) {
    close(fd);
    fail(path + ": too short for a safetensors header (" + std::to_string(file_size) + " bytes)");
  }
  void *base = mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  require(base != MAP_FAILED, "cannot mmap " + path + ": " + std::strerror(errno));
  mappings_.push_back(std::make_unique<MappedFile>());
  mappings_.back()->base = static_cast<const uint8_t *>(base);
  mappings_.back()->size = file_size;
  file_paths_.push_back(path);
  const std::string *file_name = &file_paths_.back();
  const uint8_t *bytes = mappings_.back()->base;

  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i)
    header_size = (header_size << 8) | bytes[i];
  require(header_size <= file_size - 8, path + ": header length " + std::to_string(header_size) +
                                            " exceeds the file size " + std::to_string(file_size));
  require(header_size <= kMaxHeaderBytes,
          path + ": header length " + std::to_string(header_size) + " is implausibly large");
  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + header_size);
  } catch (const json::exception &parse_error) {
    fail(path + ": header is not valid JSON (" + parse_error.what() + ")");
  }
  require(header.is_object(), path + ": header is not a JSON object");

  const uint8_t *data_start = bytes + 8 + header_size;
  const uint64_t data_size = file_size - 8 - header_size;
  std::vector<ParsedEntry> entries;
  for (const auto &[name, value] : header.items()) {
    if (name == "__metadata__")
      continue;
    const std::string where = path + ": tensor " + name;
    require(value.is_object(), where + ": entry is not an object");
    require(value.contains("dtype") && value["dtype"].is_string(), where + ": missing 'dtype'");
    require(value.contains("shape"), where + ": missing 'shape'");
    require(value.contains("data_offsets") && value["data_offsets"].is_array() &&
                value["data_offsets"].size() == 2 &&
                value["data_offsets"][0].is_number_unsigned() &&
                value["data_offsets"][1].is_number_unsigned(),
            where + ": 'data_offsets' must be two non-negative integers");
    TensorInfo tensor;
    tensor.name = name;
    tensor.dtype = value["dtype"].get<std::string>();
    tensor.shape = parse_shape(value["shape"], where);
    tensor.file = file_name;
    const uint64_t element_size = safetensors_dtype_size(tensor.dtype);
    require(element_size != 0, where + ": unknown dtype '" + tensor.dtype + "'");
    uint64_t expected = element_size;
    for (int64_t dim : tensor.shape)
      require(!__builtin_mul_overflow(expected, uint64_t(dim), &expected),
              where + ": shape " + tensor.shape_string() + " overflows");
    const uint64_t begin = value["data_offsets"][0].get<uint64_t>();
    const uint64_t end = value["data_offsets"][1].get<uint64_t>();
    require(begin <= end, where + ": data_offsets [" + std::to_string(begin) + ", " +
                              std::to_string(end) + "] are reversed");
    require(end - begin == expected,
            where + ": data_offsets span " + std::to_string(end - begin) + " bytes but " +
                tensor.dtype + " " + tensor.shape_string() + " needs " + std::to_string(expected));
    require(end <= data_size, path + " is truncated: tensor " + name + " ends at byte " +
                                  std::to_string(end) + " of the data but only " +
                                  std::to_string(data_size) + " bytes follow the header");
    tensor.data = data_start + begin;
    tensor.num_bytes = expected;
    entries.push_back({name, begin, end});
    auto [it, inserted] = tensors_.emplace(name, std::move(tensor));
    require(inserted, "tensor " + name + " appears in both " + *it->second.file + " and " + path);
  }
  // The data section is the tensors back to back, in offset order, with nothing left over.
  std::sort(entries.begin(), entries.end(),
            [](const ParsedEntry &a, const ParsedEntry &b) { return a.begin < b.begin; });
  uint64_t expected_begin = 0;
  for (const auto &entry : entries) {
    require(entry.begin == expected_begin,
            path + ": tensor " + entry.name + " starts at byte " + std::to_string(entry.begin) +
                " of the data, expected " + std::to_string(expected_begin) +
                (entry.begin < expected_begin ? " (overlaps the previous tensor)" : " (gap)"));
    expected_begin = entry.end;
  }
  require(expected_begin == data_size, path + ": " + std::to_string(data_size - expected_begin) +
                                           " stray bytes after the last tensor");
}

const TensorInfo *SafetensorsArchive::find(const std::string &name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const TensorInfo &SafetensorsArchive::get(const std::string &name) const {
  const TensorInfo *tensor = find(name);
  require(tensor != nullptr, "checkpoint has no tensor " + name);
  return *tensor;
}

} // namespace m3
