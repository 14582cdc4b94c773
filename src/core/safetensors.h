#pragma once
// Read-only access to safetensors checkpoints: one file, a directory of *.safetensors files, or a
// sharded directory described by model.safetensors.index.json. Files are mmapped; opening reads
// and validates only the headers, never the tensor data, so a 400 GB checkpoint opens instantly.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace m3 {

std::string shape_string(const std::vector<int64_t> &shape); // "[200064, 6144]"

struct TensorInfo {
  std::string name;
  std::string dtype;          // safetensors dtype name as written ("BF16", "F8_E4M3", ...)
  std::vector<int64_t> shape; // empty for a scalar
  const void *data = nullptr; // into the mapping; valid while the archive lives
  uint64_t num_bytes = 0;
  const std::string *file = nullptr; // path of the file holding it

  int64_t numel() const;
  std::string shape_string() const { return m3::shape_string(shape); }
};

class SafetensorsArchive {
public:
  // path: a model directory or a single .safetensors file. Throws m3::Error naming the file
  // (and tensor) for anything malformed: bad header length or JSON, unknown dtype, offsets out of
  // order or out of range, size != prod(shape) * dtype size, truncated file, or an index that
  // names missing shards or tensors.
  explicit SafetensorsArchive(const std::string &path);
  ~SafetensorsArchive();
  SafetensorsArchive(const SafetensorsArchive &) = delete;
  SafetensorsArchive &operator=(const SafetensorsArchive &) = delete;

  const TensorInfo *find(const std::string &name) const; // nullptr when absent
  const TensorInfo &get(const std::string &name) const;  // throws m3::Error when absent
  const std::map<std::string, TensorInfo> &tensors() const { return tensors_; }
  const std::deque<std::string> &files() const { return file_paths_; }
  bool sharded() const { return sharded_; }

private:
  struct MappedFile {
    const uint8_t *base = nullptr;
    uint64_t size = 0;
    ~MappedFile();
  };
  // Maps one file, validates its header and adds its tensors.
  void add_file(const std::string &path);
  void open_indexed(const std::string &dir, const std::string &index_path);

  std::vector<std::unique_ptr<MappedFile>> mappings_;
  std::deque<std::string> file_paths_; // a deque keeps the addresses TensorInfo::file holds
  std::map<std::string, TensorInfo> tensors_;
  bool sharded_ = false;
};

// Bytes per element of a safetensors dtype name, or 0 when the name is not a safetensors dtype.
uint64_t safetensors_dtype_size(const std::string &dtype);

} // namespace m3
