// Sampling against direct formulas: greedy, softmax frequencies, top-k/top-p/min-p supports,
// penalties, constraint masks and logprobs.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "runtime/sampling.h"

namespace m3 {
namespace {

struct Fixture {
  std::vector<float> logits;
  SamplingParams params;
  std::vector<int32_t> prompt;
  std::unordered_map<int32_t, int32_t> counts;

  SampleResult draw(std::mt19937_64 &rng, const std::vector<uint8_t> *allowed = nullptr) {
    SampleInput input;
    input.logits = logits;
    input.params = &params;
    input.prompt = prompt;
    input.output_counts = &counts;
    input.allowed = allowed;
    return sample_token(input, rng);
  }
};

std::vector<float> random_logits(std::mt19937_64 &rng, int vocab, float scale = 2.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> logits(vocab);
  for (auto &v : logits)
    v = dist(rng);
  return logits;
}

std::vector<double> softmax(const std::vector<float> &logits, double temperature) {
  double max = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i)
    sum += p[i] = std::exp((logits[i] - max) / temperature);
  for (auto &v : p)
    v /= sum;
  return p;
}

TEST(Sampling, GreedyIsArgmaxAndLogprobsAreLogSoftmax) {
  std::mt19937_64 rng(std::random_device{}());
  Fixture f;
  f.logits = random_logits(rng, 50);
  f.params.temperature = 0;
  f.params.top_logprobs = 3;
  SampleResult r = f.draw(rng);
  const int32_t argmax =
      int32_t(std::max_element(f.logits.begin(), f.logits.end()) - f.logits.begin());
  EXPECT_EQ(r.token, argmax);
  auto p = softmax(f.logits, 1.0);
  EXPECT_NEAR(r.logprob, std::log(p[argmax]), 1e-4);
  ASSERT_EQ(r.top_logprobs.size(), 3u);
  EXPECT_EQ(r.top_logprobs[0].token, argmax);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(r.top_logprobs[i].logprob, std::log(p[r.top_logprobs[i].token]), 1e-4);
    if (i > 0) {
      EXPECT_LE(r.top_logprobs[i].logprob, r.top_logprobs[i - 1].logprob);
    }
  }
}

TEST(Sampling, FrequenciesFollowTheTemperedSoftmax) {
  std::mt19937_64 rng(std::random_device{}());
  Fixture f;
  f.logits = random_logits(rng, 6, 1.0f);
  f.params.temperature = 0.7f;
  const int draws = 40000;
  std::vector<int> hits(6, 0);
  for (int i = 0; i < draws; ++i)
    ++hits[f.draw(rng).token];
  auto p = softmax(f.logits, 0.7);
  for (int t = 0; t < 6; ++t) {
    const double sigma = std::sqrt(p[t] * (1 - p[t]) / draws);
    EXPECT_NEAR(double(hits[t]) / draws, p[t], 5 * sigma + 1e-4) << "token " << t;
  }
}

TEST(Sampling, TruncationsKeepExactlyTheirSupport) {
  std::mt19937_64 rng(std::random_device{}());
  Fixture f;
  f.logits = random_logits(rng, 40);
  std::vector<int32_t> order(40);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return f.logits[a] > f.logits[b]; });
  auto p = softmax(f.logits, 1.0);

  auto support = [&](int draws) {
    std::set<int32_t> seen;
    for (int i = 0; i < draws; ++i)
      seen.insert(f.draw(rng).token);
    return seen;
  };
  f.params.top_k = 3;
  EXPECT_EQ(support(3000), (std::set<int32_t>{order[0], order[1], order[2]}));
  f.params.top_k = 0;
  // top_p: the smallest prefix of the sorted distribution whose mass reaches top_p.
  double mass = 0;
  size_t nucleus = 0;
  while (mass < 0.6)
    mass += p[order[nucleus++]];
  f.params.top_p = 0.6f;
  std::set<int32_t> expected(order.begin(), order.begin() + nucleus);
  for (int32_t t : support(20000))
    EXPECT_TRUE(expected.count(t)) << "token outside nucleus " << t;
  f.params.top_p = 1.0f;
  f.params.min_p = 0.3f;
  for (int32_t t : support(5000))
    EXPECT_GE(p[t], 0.3 * p[order[0]] - 1e-9);
}

TEST(Sampling, PenaltiesAndMasksChangeTheGreedyChoice) {
  std::mt19937_64 rng(std::random_device{}());
  Fixture f;
  f.logits = {1.0f, 3.0f, 2.5f, -1.0f};
  f.params.temperature = 0;
  EXPECT_EQ(f.draw(rng).token, 1);
  f.counts[1] = 2;
  f.params.frequency_penalty = 0.3f; // 3.0 - 0.6 = 2.4 < 2.5
  EXPECT_EQ(f.draw(rng).token, 2);
  f.params.frequency_penalty = 0;
  f.params.presence_penalty = 0.4f; // 2.6 > 2.5
  EXPECT_EQ(f.draw(rng).token, 1);
  f.params.presence_penalty = 0;
  f.counts.clear();
  f.prompt = {1};
  f.params.repetition_penalty = 1.5f; // 3.0 / 1.5 = 2.0 < 2.5
  EXPECT_EQ(f.draw(rng).token, 2);
  std::vector<uint8_t> allowed = {0, 0, 0, 1};
  f.params.temperature = 1.0f;
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(f.draw(rng, &allowed).token, 3);
}

TEST(Sampling, SameSeedSameDraws) {
  std::mt19937_64 rng(std::random_device{}());
  Fixture f;
  f.logits = random_logits(rng, 100, 0.5f);
  const uint64_t seed = rng();
  std::mt19937_64 a(seed), b(seed);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(f.draw(a).token, f.draw(b).token);
}

} // namespace
} // namespace m3
