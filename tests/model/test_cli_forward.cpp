// `m3 logits` and `m3 generate` through the real binary: output layout and one clear error line
// (non-zero exit) for every user mistake. Values are checked against transformers by
// test_parity; here only the contract around them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <vector>

#include "m3_cli.h"

namespace {

using m3::test_support::CliResult;
using m3::test_support::run_m3;
using m3::test_support::ScratchDir;

const std::string kModel = "tests/fixtures/m3_legacy_vl_bf16"; // vocab 512
constexpr long kVocab = 512;

void expect_one_error_line(const CliResult &result, const std::string &command,
                           const std::string &needle) {
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.err.find("m3 " + command + ": error: "), 0u) << result.err;
  EXPECT_NE(result.err.find(needle), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_TRUE(result.out.empty()) << result.out;
}

TEST(CliForward, LogitsWritesOneFloatRowPerId) {
  const ScratchDir dir;
  const auto ids = dir.write("ids.txt", "3 17\n511 0\t42  ");
  const auto out = dir.path() / "logits.f32";
  const CliResult result = run_m3("logits --model " + kModel + " --ids '" + ids.string() +
                                  "' --out '" + out.string() + "' --prefill 2");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string bytes = m3::test_support::read_file_text(out);
  ASSERT_EQ(bytes.size(), 5 * kVocab * sizeof(float));
  std::vector<float> logits(5 * kVocab);
  std::memcpy(logits.data(), bytes.data(), bytes.size());
  for (float x : logits)
    ASSERT_TRUE(std::isfinite(x));
}

TEST(CliForward, LogitsRejectsBadIdFiles) {
  const ScratchDir dir;
  const auto out = "' --out '" + (dir.path() / "logits.f32").string() + "'";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1 2 512", "outside the vocabulary"},  {"", "no token ids"},
      {"1 two 3", "'two' is not a token id"}, {"4 -3", "'-3' is not a token id"},
      {"1 99999999999", "is not a token id"},
  };
  for (const auto &[text, needle] : cases) {
    SCOPED_TRACE("ids '" + text + "'");
    const auto ids = dir.write("ids.txt", text);
    expect_one_error_line(run_m3("logits --model " + kModel + " --ids '" + ids.string() + out),
                          "logits", needle);
  }
  expect_one_error_line(
      run_m3("logits --model " + kModel + " --ids '" + (dir.path() / "missing.txt").string() + out),
      "logits", "cannot read token ids");
}

TEST(CliForward, LogitsRejectsPrefillOutsideTheSequence) {
  const ScratchDir dir;
  const auto ids = dir.write("ids.txt", "1 2 3");
  const std::string base = "logits --model " + kModel + " --ids '" + ids.string() + "' --out '" +
                           (dir.path() / "logits.f32").string() + "'";
  for (const std::string prefill : {"0", "4", "-1", "x"}) {
    SCOPED_TRACE("--prefill " + prefill);
    expect_one_error_line(run_m3(base + " --prefill " + prefill), "logits", "--prefill");
  }
}

TEST(CliForward, GeneratePrintsOnlyIdsAndRejectsSampling) {
  const ScratchDir dir;
  const auto ids = dir.write("ids.txt", "5 6 7 8");
  const std::string base = "generate --model " + kModel + " --ids '" + ids.string() + "'";
  const CliResult ok = run_m3(base + " --max-tokens 3 --temperature 0 --ignore-eos");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  std::istringstream printed(ok.out);
  long id = 0, count = 0;
  while (printed >> id) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, kVocab);
    ++count;
  }
  EXPECT_EQ(count, 3);
  EXPECT_TRUE(printed.eof()) << "stdout holds something other than ids: " << ok.out;

  expect_one_error_line(run_m3(base + " --max-tokens 3 --temperature 0.7"), "generate",
                        "--temperature 0");
  expect_one_error_line(run_m3(base + " --temperature 0"), "generate", "--max-tokens");
  expect_one_error_line(run_m3(base + " --max-tokens 3 --top-p 1"), "generate", "unknown argument");
}

} // namespace
