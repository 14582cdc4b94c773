#pragma once
// Picks the next token from one row of logits: constraint mask, repetition/presence/frequency
// penalties, temperature (0 = greedy), top-k, top-p, min-p, then a draw from the request's RNG.
// Logprobs are reported from the model's raw distribution (as vLLM does by default).
#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

#include "runtime/request.h"

namespace m3 {

struct SampleInput {
  std::span<const float> logits; // [vocab]
  const SamplingParams *params = nullptr;
  std::span<const int32_t> prompt;
  const std::unordered_map<int32_t, int32_t> *output_counts = nullptr;
  const std::vector<uint8_t> *allowed = nullptr; // null = every token allowed
};

struct SampleResult {
  int32_t token = -1;
  float logprob = 0;
  std::vector<TokenLogprob> top_logprobs;
};

SampleResult sample_token(const SampleInput &input, std::mt19937_64 &rng);

} // namespace m3
