#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "core/safetensors.h"
#include "m3_cli.h"
#include "safetensors_writer.h"

namespace m3 {
namespace {

using test_support::RawTensor;
using test_support::TensorMap;

RawTensor random_tensor(std::mt19937 &rng, const std::string &dtype, std::vector<int64_t> shape,
                        int element_size) {
  RawTensor t{dtype, shape, {}};
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  for (int64_t i = 0; i < n * element_size; ++i)
    t.bytes.push_back(char(rng()));
  return t;
}

TensorMap sample_tensors() {
  std::mt19937 rng(std::random_device{}());
  TensorMap tensors;
  tensors["a.weight"] = random_tensor(rng, "BF16", {3, 5}, 2);
  tensors["b.bias"] = random_tensor(rng, "F32", {7}, 4);
  tensors["c.weight"] = random_tensor(rng, "F8_E4M3", {2, 64}, 1);
  tensors["c.weight_scale_inv"] = random_tensor(rng, "U8", {2, 2}, 1);
  tensors["d.half"] = random_tensor(rng, "F16", {4, 1, 2}, 2);
  tensors["e.ids"] = random_tensor(rng, "I64", {3}, 8);
  tensors["f.scalar"] = random_tensor(rng, "F32", {}, 4);
  return tensors;
}

void expect_same_tensors(const SafetensorsArchive &archive, const TensorMap &written) {
  ASSERT_EQ(archive.tensors().size(), written.size());
  for (const auto &[name, tensor] : written) {
    const TensorInfo &info = archive.get(name);
    EXPECT_EQ(info.dtype, tensor.dtype) << name;
    EXPECT_EQ(info.shape, tensor.shape) << name;
    ASSERT_EQ(info.num_bytes, tensor.bytes.size()) << name;
    EXPECT_EQ(std::memcmp(info.data, tensor.bytes.data(), tensor.bytes.size()), 0) << name;
  }
}

// The error message of opening path, or "" when it opens.
std::string open_error(const std::string &path) {
  try {
    SafetensorsArchive archive(path);
  } catch (const Error &error) {
    return error.what();
  }
  return "";
}

std::string with_length_prefix(const std::string &header) {
  std::string out;
  for (int i = 0; i < 8; ++i)
    out.push_back(char((uint64_t(header.size()) >> (8 * i)) & 0xFF));
  return out + header;
}

TEST(Safetensors, SingleFileRoundTrip) {
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  const TensorMap tensors = sample_tensors();
  test_support::write_safetensors(dir + "/model.safetensors", tensors);
  SafetensorsArchive from_dir(dir);
  expect_same_tensors(from_dir, tensors);
  EXPECT_FALSE(from_dir.sharded());
  SafetensorsArchive from_file(dir + "/model.safetensors");
  expect_same_tensors(from_file, tensors);
  EXPECT_EQ(from_dir.find("missing"), nullptr);
  EXPECT_THROW(from_dir.get("missing"), Error);
  EXPECT_EQ(from_dir.get("d.half").numel(), 8);
  EXPECT_EQ(from_dir.get("f.scalar").numel(), 1);
}

TEST(Safetensors, ShardedIndexFindsEveryTensor) {
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  const TensorMap tensors = sample_tensors();
  test_support::write_sharded(dir, tensors, 3);
  SafetensorsArchive archive(dir);
  EXPECT_TRUE(archive.sharded());
  EXPECT_EQ(archive.files().size(), 3u);
  expect_same_tensors(archive, tensors);
}

TEST(Safetensors, UnindexedDirectoryOpensEveryFile) {
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  TensorMap tensors = sample_tensors();
  TensorMap first, second;
  for (const auto &[name, tensor] : tensors)
    (first.size() < 3 ? first : second)[name] = tensor;
  test_support::write_safetensors(dir + "/part-a.safetensors", first);
  test_support::write_safetensors(dir + "/part-b.safetensors", second);
  expect_same_tensors(SafetensorsArchive(dir), tensors);
}

class MalformedFile : public ::testing::Test {
protected:
  std::string write(const std::string &bytes) {
    const std::string path = dir_.path().string() + "/model.safetensors";
    test_support::write_text(path, bytes);
    return path;
  }
  test_support::ScratchDir dir_;
};

TEST_F(MalformedFile, HeaderLengthBeyondFile) {
  std::string bytes = test_support::safetensors_file(sample_tensors());
  bytes[5] = char(0x40); // header length ~ 2^45
  const std::string path = write(bytes);
  const std::string error = open_error(path);
  EXPECT_NE(error.find("header length"), std::string::npos) << error;
  EXPECT_NE(error.find(path), std::string::npos) << error;
}

TEST_F(MalformedFile, TooShortForAHeader) {
  EXPECT_NE(open_error(write("abc")).find("too short"), std::string::npos);
}

TEST_F(MalformedFile, HeaderIsNotJson) {
  const std::string error = open_error(write(with_length_prefix("{\"a\": [1, 2")));
  EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
}

TEST_F(MalformedFile, UnknownDtypeNamesTheTensor) {
  std::string header = test_support::safetensors_header({{"x.weight", {"BF16", {2}, "abcd"}}});
  header.replace(header.find("BF16"), 4, "BF17");
  const std::string error = open_error(write(with_length_prefix(header) + "abcd"));
  EXPECT_NE(error.find("x.weight"), std::string::npos) << error;
  EXPECT_NE(error.find("unknown dtype 'BF17'"), std::string::npos) << error;
}

TEST_F(MalformedFile, TruncatedData) {
  std::string bytes = test_support::safetensors_file(sample_tensors());
  bytes.resize(bytes.size() - 3);
  const std::string error = open_error(write(bytes));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
}

TEST_F(MalformedFile, StrayBytesAfterTheLastTensor) {
  const std::string error =
      open_error(write(test_support::safetensors_file(sample_tensors()) + "xx"));
  EXPECT_NE(error.find("stray bytes"), std::string::npos) << error;
}

TEST_F(MalformedFile, SizeDisagreesWithShape) {
  const std::string header = R"({"x": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})";
  const std::string error = open_error(write(with_length_prefix(header) + std::string(20, 'z')));
  EXPECT_NE(error.find("needs 24"), std::string::npos) << error;
}

TEST_F(MalformedFile, OverlappingOffsets) {
  const std::string header = R"({"x": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                             R"( "y": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}})";
  const std::string error = open_error(write(with_length_prefix(header) + std::string(6, 'z')));
  EXPECT_NE(error.find("overlaps"), std::string::npos) << error;
}

TEST_F(MalformedFile, GapBetweenTensors) {
  const std::string header = R"({"x": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},)"
                             R"( "y": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]}})";
  const std::string error = open_error(write(with_length_prefix(header) + std::string(6, 'z')));
  EXPECT_NE(error.find("gap"), std::string::npos) << error;
}

TEST_F(MalformedFile, NegativeShapeAndMissingOffsets) {
  std::string error = open_error(write(
      with_length_prefix(R"({"x": {"dtype": "U8", "shape": [-2], "data_offsets": [0, 0]}})")));
  EXPECT_NE(error.find("non-negative"), std::string::npos) << error;
  error = open_error(write(with_length_prefix(R"({"x": {"dtype": "U8", "shape": [0]}})")));
  EXPECT_NE(error.find("data_offsets"), std::string::npos) << error;
}

TEST(SafetensorsIndex, MissingShardFile) {
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  test_support::write_sharded(dir, sample_tensors(), 2);
  std::filesystem::remove(dir + "/model-00002-of-00002.safetensors");
  const std::string error = open_error(dir);
  EXPECT_NE(error.find("missing file model-00002-of-00002.safetensors"), std::string::npos)
      << error;
}

TEST(SafetensorsIndex, TensorNotInItsShard) {
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  test_support::write_sharded(dir, sample_tensors(), 1);
  test_support::write_text(dir + "/model.safetensors.index.json",
                           R"({"weight_map": {"a.weight": "model-00001-of-00001.safetensors",)"
                           R"( "ghost.weight": "model-00001-of-00001.safetensors"}})");
  const std::string error = open_error(dir);
  EXPECT_NE(error.find("ghost.weight"), std::string::npos) << error;
  EXPECT_NE(error.find("does not contain it"), std::string::npos) << error;
}

TEST(SafetensorsIndex, BadIndexJson) {
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  test_support::write_sharded(dir, sample_tensors(), 1);
  test_support::write_text(dir + "/model.safetensors.index.json", "{\"weight_map\": ");
  EXPECT_NE(open_error(dir).find("not valid JSON"), std::string::npos);
  test_support::write_text(dir + "/model.safetensors.index.json", "{\"metadata\": {}}");
  EXPECT_NE(open_error(dir).find("weight_map"), std::string::npos);
}

TEST(SafetensorsIndex, DuplicateTensorAcrossFiles) {
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  const TensorMap tensors = sample_tensors();
  test_support::write_safetensors(dir + "/a.safetensors", tensors);
  test_support::write_safetensors(dir + "/b.safetensors", tensors);
  EXPECT_NE(open_error(dir).find("appears in both"), std::string::npos);
}

TEST(SafetensorsIndex, EmptyOrMissingDirectory) {
  const test_support::ScratchDir scratch;
  const std::string dir = scratch.path().string();
  EXPECT_NE(open_error(dir).find("no .safetensors files"), std::string::npos);
  EXPECT_NE(open_error(dir + "/nope").find("does not exist"), std::string::npos);
}

} // namespace
} // namespace m3
