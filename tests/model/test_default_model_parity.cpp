// The shipped default model (models/default, MXFP8) against transformers: the fixture in
// tests/fixtures/default_model was written by scripts/demo_model/train.py right after training,
// from transformers' fp32 eager forward of the exported weights (dequantized). `m3 logits` must
// match the recorded rows within 1e-3 of the row std with the same argmax (one prefill, and
// prefill + decode steps past the MSA selection threshold), the image prompt must match through
// the vision tower, and `m3 generate` must reproduce the greedy continuation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "m3_cli.h"

namespace {

namespace fs = std::filesystem;
using m3::test_support::read_file_text;
using m3::test_support::run_m3;
using m3::test_support::ScratchDir;

const fs::path kFixture = "tests/fixtures/default_model";
const std::string kModel = "models/default";

nlohmann::json reference() {
  return nlohmann::json::parse(read_file_text(kFixture / "reference.json"));
}

std::vector<float> floats(const fs::path &path) {
  const std::string bytes = read_file_text(path);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

// Compares the recorded rows of `expected` ([rows, vocab]) with the same positions of `actual`
// ([tokens, vocab]); returns the worst max|diff| / std(reference row).
double worst_row_error(const std::vector<float> &expected, const std::vector<float> &actual,
                       const std::vector<int> &rows, size_t vocab, const std::string &label) {
  double worst = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    const float *want = expected.data() + r * vocab;
    const float *got = actual.data() + size_t(rows[r]) * vocab;
    double mean = 0, var = 0, diff = 0;
    size_t want_top = 0, got_top = 0;
    for (size_t v = 0; v < vocab; ++v) {
      mean += want[v];
      diff = std::max(diff, double(std::fabs(want[v] - got[v])));
      want_top = want[v] > want[want_top] ? v : want_top;
      got_top = got[v] > got[got_top] ? v : got_top;
    }
    mean /= double(vocab);
    for (size_t v = 0; v < vocab; ++v)
      var += (want[v] - mean) * (want[v] - mean);
    worst = std::max(worst, diff / std::sqrt(var / double(vocab)));
    EXPECT_EQ(got_top, want_top) << label << ": argmax differs at position " << rows[r];
  }
  return worst;
}

void expect_logits_match(const std::string &prompt, const std::string &extra_flags) {
  const nlohmann::json entry = reference()["prompts"][prompt];
  const size_t vocab = reference()["vocab"].get<size_t>();
  const ScratchDir scratch;
  const fs::path out = scratch.path() / "logits.f32";
  const auto result =
      run_m3("logits --model " + kModel + " --ids " + (kFixture / (prompt + ".ids.txt")).string() +
             " --out " + out.string() + " " + extra_flags);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<float> actual = floats(out);
  ASSERT_EQ(actual.size(), entry["tokens"].get<size_t>() * vocab);
  const std::vector<float> expected = floats(kFixture / (prompt + ".logits.f32"));
  const auto rows = entry["rows"].get<std::vector<int>>();
  ASSERT_EQ(expected.size(), rows.size() * vocab);
  const double worst = worst_row_error(expected, actual, rows, vocab, prompt + " " + extra_flags);
  EXPECT_LE(worst, reference()["tolerance"]["max_abs_diff_over_row_std"].get<double>())
      << prompt << " " << extra_flags;
}

TEST(DefaultModelParity, ToolChatPromptPastTheSelectionThreshold) {
  ASSERT_GT(reference()["prompts"]["chat_tool"]["tokens"].get<int>(), 4 * 64);
  expect_logits_match("chat_tool", "");
}

TEST(DefaultModelParity, HeldOutTextWithPrefillThenDecodeSteps) {
  expect_logits_match("held_out_text", "");
  expect_logits_match("held_out_text", "--prefill 250"); // decode steps cross 256 tokens
}

TEST(DefaultModelParity, ImageThroughTheVisionTower) {
  expect_logits_match("image", "--image " + (kFixture / "image.png").string());
}

TEST(DefaultModelParity, GreedyContinuationOfTheToolChat) {
  const auto expected = reference()["prompts"]["chat_tool"]["greedy_ids"].get<std::vector<int>>();
  const auto result =
      run_m3("generate --model " + kModel + " --ids " + (kFixture / "chat_tool.ids.txt").string() +
             " --max-tokens " + std::to_string(expected.size()) + " --temperature 0 --ignore-eos");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream ids(result.out);
  std::vector<int> got{std::istream_iterator<int>(ids), std::istream_iterator<int>()};
  EXPECT_EQ(got, expected);
}

} // namespace
