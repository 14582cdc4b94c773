#include <gtest/gtest.h>

#include "../support/m3_cli.h"

namespace m3 {
namespace {

using test_support::run_m3;

TEST(Cli, HelpListsTheCommandsFlagsAndExitsZero) {
  auto info = run_m3("info --help");
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("--model VALUE"), std::string::npos) << info.out;
  auto logits = run_m3("logits -h");
  EXPECT_EQ(logits.exit_code, 0) << logits.err;
  EXPECT_NE(logits.out.find("--prefill VALUE"), std::string::npos) << logits.out;
}

TEST(Cli, UnknownCommandOrFlagIsAnErrorWithUsage) {
  auto unknown = run_m3("no-such-command");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("usage: m3 <command>"), std::string::npos) << unknown.err;
  auto bad_flag = run_m3("info --no-such-flag");
  EXPECT_NE(bad_flag.exit_code, 0);
  EXPECT_NE(bad_flag.err.find("unknown argument '--no-such-flag'"), std::string::npos)
      << bad_flag.err;
}

}  // namespace
}  // namespace m3
