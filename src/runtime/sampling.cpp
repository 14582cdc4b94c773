#include "runtime/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace m3 {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void apply_penalties(std::vector<float> &logits, const SampleInput &input) {
  const SamplingParams &p = *input.params;
  if (p.repetition_penalty != 1.0f) {
    std::vector<uint8_t> seen(logits.size(), 0);
    for (int32_t t : input.prompt)
      seen[t] = 1;
    for (const auto &[t, count] : *input.output_counts)
      seen[t] = 1;
    for (size_t t = 0; t < logits.size(); ++t)
      if (seen[t])
        logits[t] =
            logits[t] > 0 ? logits[t] / p.repetition_penalty : logits[t] * p.repetition_penalty;
  }
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f)
    for (const auto &[t, count] : *input.output_counts)
      logits[t] -= p.presence_penalty + p.frequency_penalty * float(count);
}

// log_softmax of the raw logits: the chosen token's logprob and the top alternatives.
void fill_logprobs(std::span<const float> logits, int32_t top_n, SampleResult &result) {
  float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float v : logits)
    sum += std::exp(double(v) - max_logit);
  const float log_norm = max_logit + float(std::log(sum));
  result.logprob = logits[result.token] - log_norm;
  if (top_n <= 0)
    return;
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  top_n = std::min<int32_t>(top_n, int32_t(ids.size()));
  std::partial_sort(ids.begin(), ids.begin() + top_n, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  for (int32_t i = 0; i < top_n; ++i)
    result.top_logprobs.push_back({ids[i], logits[ids[i]] - log_norm});
}

} // namespace

SampleResult sample_token(const SampleInput &input, std::mt19937_64 &rng) {
  const SamplingParams &p = *input.params;
  std::vector<float> logits(input.logits.begin(), input.logits.end());
  if (input.allowed) {
    bool any = false;
    for (size_t t = 0; t < logits.size(); ++t) {
      if (!(*input.allowed)[t])
        logits[t] = kNegInf;
      else
        any = true;
    }
    if (!any)
      throw std::logic_error("token constraint allows no token");
  }
  apply_penalties(logits, input);

  SampleResult result;
  if (p.temperature <= 0.0f) {
    result.token = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  } else {
    // Candidates sorted by logit, then truncated by top-k, min-p and top-p.
    std::vector<int32_t> ids;
    ids.reserve(logits.size());
    for (size_t t = 0; t < logits.size(); ++t)
      if (logits[t] != kNegInf)
        ids.push_back(int32_t(t));
    auto by_logit = [&](int32_t a, int32_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    };
    size_t keep = ids.size();
    if (p.top_k > 0 && size_t(p.top_k) < keep) {
      keep = size_t(p.top_k);
      std::partial_sort(ids.begin(), ids.begin() + keep, ids.end(), by_logit);
      ids.resize(keep);
    } else {
      std::sort(ids.begin(), ids.end(), by_logit);
    }
    std::vector<double> probs(ids.size());
    const double top = logits[ids[0]] / p.temperature;
    double sum = 0;
    for (size_t i = 0; i < ids.size(); ++i)
      sum += probs[i] = std::exp(logits[ids[i]] / p.temperature - top);
    for (double &prob : probs)
      prob /= sum;
    if (p.min_p > 0.0f) {
      const double floor = p.min_p * probs[0];
      while (keep > 1 && probs[keep - 1] < floor)
        --keep;
    }
    if (p.top_p < 1.0f) {
      double cumulative = 0;
      size_t i = 0;
      for (; i < keep; ++i) {
        cumulative += probs[i];
        if (cumulative >= p.top_p)
          break;
      }
      keep = std::min(keep, i + 1);
    }
    double mass = 0;
    for (size_t i = 0; i < keep; ++i)
      mass += probs[i];
    double draw = std::uniform_real_distribution<double>(0.0, mass)(rng);
    size_t chosen = 0;
    for (; chosen + 1 < keep; ++chosen) {
      draw -= probs[chosen];
      if (draw < 0)
        break;
    }
    result.token = ids[chosen];
  }
  if (p.top_logprobs >= 0)
    fill_logprobs(input.logits, p.top_logprobs, result);
  return result;
}

} // namespace m3
