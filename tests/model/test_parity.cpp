// Parity of the `m3` CLI with HF transformers on the reference fixtures in tests/fixtures/<name>/
// (written by scripts/gen_golden.py on the GPU machine: random small MiniMax-M3 checkpoints,
// float32 eager-attention logits of every position and greedy continuations).
//
// For every fixture: `m3 logits` (one prefill, and prefill + one-token decode steps at each of
// meta.json's prefill_splits) must give, at every position, max|diff| / std(reference row) <= 1e-3
// and the same argmax; `m3 generate --temperature 0` must give the same greedy ids.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kMaxDiffOverRowStd = 1e-3;

fs::path fixture_root() {
  const fs::path next_to_source = fs::path(__FILE__).parent_path().parent_path() / "fixtures";
  return fs::exists(next_to_source) ? next_to_source : fs::path("tests/fixtures");
}

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  if (!fs::exists(fixture_root()))
    return names;
  for (const auto &entry : fs::directory_iterator(fixture_root())) {
    if (entry.is_directory() && fs::exists(entry.path() / "meta.json")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_text(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

json read_json(const fs::path &path) { return json::parse(read_text(path)); }

std::vector<long> parse_ids(const std::string &text) {
  std::istringstream in(text);
  std::vector<long> ids;
  long id = 0;
  while (in >> id)
    ids.push_back(id);
  return ids;
}

std::vector<float> read_floats(const fs::path &path) {
  const std::string bytes = read_text(path);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::copy(bytes.data(), bytes.data() + values.size() * sizeof(float),
            reinterpret_cast<char *>(values.data()));
  return values;
}

std::string quoted(const fs::path &path) { return "'" + path.string() + "'"; }

struct CommandResult {
  int exit_code = 0;
  std::string out;
  std::string err;
};

// Runs a shell command; stdout and stderr are kept apart (generate prints only ids on stdout).
CommandResult run(const std::string &command, const fs::path &scratch) {
  const fs::path out = scratch / "stdout.txt";
  const fs::path err = scratch / "stderr.txt";
  const int status = std::system((command + " >" + quoted(out) + " 2>" + quoted(err)).c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_text(out);
  result.err = read_text(err);
  return result;
}

std::string m3_binary() {
  const char *binary = std::getenv("M3_BINARY");
  return binary != nullptr ? binary : "build/m3";
}

// MSA geometry from config.json in either style (legacy sparse_attention_config or index_*),
// flat or nested under text_config.
std::pair<long, long> block_and_top_k(const json &config) {
  const json &text = config.contains("text_config") ? config.at("text_config") : config;
  if (text.contains("sparse_attention_config")) {
    const json &sparse = text.at("sparse_attention_config");
    return {sparse.at("sparse_block_size").get<long>(),
            sparse.at("sparse_topk_blocks").get<long>()};
  }
  return {text.at("index_block_size").get<long>(), text.at("index_topk_blocks").get<long>()};
}

struct RowComparison {
  double worst_ratio = 0.0; // max over rows of max|diff| / std(reference row)
  long worst_row = -1;
  long argmax_mismatches = 0;
  long first_argmax_mismatch = -1;
};

RowComparison compare_rows(const std::vector<float> &reference, const std::vector<float> &actual,
                           long vocab) {
  RowComparison result;
  const long rows = static_cast<long>(reference.size()) / vocab;
  for (long r = 0; r < rows; ++r) {
    const float *ref = reference.data() + r * vocab;
    const float *got = actual.data() + r * vocab;
    double mean = 0.0;
    for (long v = 0; v < vocab; ++v)
      mean += ref[v];
    mean /= static_cast<double>(vocab);
    double variance = 0.0, max_diff = 0.0;
    for (long v = 0; v < vocab; ++v) {
      variance += (ref[v] - mean) * (ref[v] - mean);
      const double diff = std::fabs(static_cast<double>(got[v]) - ref[v]);
      max_diff = std::isnan(diff) ? INFINITY : std::max(max_diff, diff);
    }
    const double ratio = max_diff / std::sqrt(variance / static_cast<double>(vocab));
    if (ratio > result.worst_ratio || std::isnan(ratio)) {
      result.worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
      result.worst_row = r;
    }
    if (std::max_element(ref, ref + vocab) - ref != std::max_element(got, got + vocab) - got) {
      if (result.argmax_mismatches++ == 0)
        result.first_argmax_mismatch = r;
    }
  }
  return result;
}

class ParityTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    dir_ = fixture_root() / GetParam();
    meta_ = read_json(dir_ / "meta.json");
    ids_ = parse_ids(read_text(dir_ / "ids.txt"));
    ASSERT_FALSE(ids_.empty()) << dir_ / "ids.txt";
    reference_ = read_floats(dir_ / "logits.f32");
    scratch_ = fs::temp_directory_path() /
               ("m3_parity_" + GetParam() + "_" + std::to_string(static_cast<long>(getpid())));
    fs::create_directories(scratch_);
  }
  void TearDown() override { fs::remove_all(scratch_); }

  long vocab() const { return static_cast<long>(reference_.size() / ids_.size()); }

  // `m3 logits` over ids.txt (optionally --prefill N) compared with logits.f32 row by row.
  void expect_logits_match(const std::string &extra_flags) {
    const fs::path out = scratch_ / "logits.f32";
    const std::string command = m3_binary() + " logits --model " + quoted(dir_) + " --ids " +
                                quoted(dir_ / "ids.txt") + " --out " + quoted(out) + extra_flags;
    const CommandResult result = run(command, scratch_);
    ASSERT_EQ(result.exit_code, 0) << command << "\n" << result.err;
    const std::vector<float> actual = read_floats(out);
    ASSERT_EQ(actual.size(), reference_.size())
        << "m3 logits wrote " << actual.size() << " floats, expected [T=" << ids_.size()
        << ", vocab=" << vocab() << "]";
    const RowComparison cmp = compare_rows(reference_, actual, vocab());
    std::printf("%s%s: max|diff|/std(row) = %.3g (position %ld), argmax mismatches %ld\n",
                GetParam().c_str(), extra_flags.c_str(), cmp.worst_ratio, cmp.worst_row,
                cmp.argmax_mismatches);
    EXPECT_LE(cmp.worst_ratio, kMaxDiffOverRowStd)
        << GetParam() << extra_flags << ": worst position " << cmp.worst_row
        << " has max|diff|/std(row) = " << cmp.worst_ratio;
    EXPECT_EQ(cmp.argmax_mismatches, 0)
        << GetParam() << extra_flags << ": argmax differs at " << cmp.argmax_mismatches
        << " positions, first at " << cmp.first_argmax_mismatch;
  }

  fs::path dir_;
  json meta_;
  std::vector<long> ids_;
  std::vector<float> reference_;
  fs::path scratch_;
};

TEST_P(ParityTest, FixtureExercisesBlockSelection) {
  const auto [block, top_k] = block_and_top_k(read_json(dir_ / "config.json"));
  EXPECT_EQ(block, meta_.at("block_size").get<long>());
  EXPECT_EQ(top_k, meta_.at("top_k").get<long>());
  ASSERT_EQ(static_cast<long>(ids_.size()), meta_.at("T").get<long>());
  ASSERT_GT(static_cast<long>(ids_.size()), top_k * block)
      << GetParam() << ": T=" << ids_.size()
      << " does not exceed top_k x block_size = " << top_k * block
      << ", so the sparse selection is never exercised";
  ASSERT_EQ(reference_.size() % ids_.size(), 0u) << "logits.f32 is not [T, vocab]";
}

TEST_P(ParityTest, LogitsOnePrefill) { expect_logits_match(""); }

TEST_P(ParityTest, LogitsPrefillThenDecode) {
  const long block = meta_.at("block_size").get<long>();
  const auto splits = meta_.at("prefill_splits").get<std::vector<long>>();
  ASSERT_FALSE(splits.empty());
  for (const long split : splits) {
    ASSERT_GT(split, 0);
    ASSERT_LT(split, static_cast<long>(ids_.size()));
    ASSERT_NE(split % block, 0) << "a split on a block boundary misses the partial-block case";
    expect_logits_match(" --prefill " + std::to_string(split));
  }
}

TEST_P(ParityTest, GreedyGenerate) {
  const std::vector<long> expected = parse_ids(read_text(dir_ / "greedy_ids.txt"));
  ASSERT_FALSE(expected.empty());
  const std::string command = m3_binary() + " generate --model " + quoted(dir_) + " --ids " +
                              quoted(dir_ / "greedy_prompt.txt") + " --max-tokens " +
                              std::to_string(expected.size()) + " --temperature 0";
  const CommandResult result = run(command, scratch_);
  ASSERT_EQ(result.exit_code, 0) << command << "\n" << result.err;
  EXPECT_EQ(parse_ids(result.out), expected) << command;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ParityTest, ::testing::ValuesIn(fixture_names()),
                         [](const ::testing::TestParamInfo<std::string> &info) {
                           return info.param;
                         });

// The committed set must cover the matrix; an empty or partial set fails, never skips.
TEST(ParityFixtures, CoverDtypesConfigStylesAndSharding) {
  const std::vector<std::string> names = fixture_names();
  ASSERT_FALSE(names.empty()) << "no fixtures under " << fixture_root();
  std::set<std::string> dtypes, styles;
  std::set<bool> sharded;
  for (const std::string &name : names) {
    const json meta = read_json(fixture_root() / name / "meta.json");
    dtypes.insert(meta.at("dtype").get<std::string>());
    styles.insert(meta.at("style").get<std::string>());
    sharded.insert(meta.at("sharded").get<bool>());
  }
  EXPECT_TRUE(dtypes.count("bf16") && dtypes.count("mxfp8")) << "need BF16 and MXFP8 fixtures";
  EXPECT_TRUE(styles.count("legacy_vl")) << "need a legacy-config fixture";
  EXPECT_TRUE(styles.count("transformers_text") || styles.count("hf_saved"))
      << "need a transformers-style config fixture";
  EXPECT_EQ(sharded.size(), 2u) << "need sharded and single-file fixtures";
}

} // namespace
