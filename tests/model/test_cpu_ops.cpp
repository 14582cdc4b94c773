// The CPU ops of the M3 forward against naive formulas written here in double precision.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "model/cpu_ops.h"
#include "model/moe.h"
#include "random_data.h"
#include "random_model.h"

namespace {

using m3::test_support::fresh_rng;
using m3::test_support::random_vector;

using namespace m3;

Weight f32_weight(const std::vector<float> &data, int64_t rows, int64_t cols) {
  Weight w;
  w.dtype = DType::kF32;
  w.data = data.data();
  w.rows = rows;
  w.cols = cols;
  return w;
}

TEST(CpuOps, MatmulOverBf16WeightsMatchesNaive) {
  auto rng = fresh_rng();
  const int64_t rows = 5, n = 37, k = 70; // n not a multiple of the row tile
  const auto x = random_vector(rng, rows * k);
  std::vector<uint16_t> bits(n * k);
  for (auto &b : bits)
    b = f32_to_bf16(random_vector(rng, 1)[0]);
  Weight w;
  w.dtype = DType::kBF16;
  w.data = bits.data();
  w.rows = n;
  w.cols = k;
  const auto y = cpu::matmul(x, rows, w);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double expected = 0;
      for (int64_t c = 0; c < k; ++c)
        expected += double(x[r * k + c]) * bf16_to_f32(bits[j * k + c]);
      ASSERT_NEAR(y[r * n + j], expected, 1e-4 * (1 + std::abs(expected)));
    }
}

TEST(CpuOps, GemmaRmsNormScalesByOnePlusWeight) {
  auto rng = fresh_rng();
  const int64_t rows = 3, width = 24;
  auto x = random_vector(rng, rows * width, 3.0f);
  const auto w = random_vector(rng, width, 0.5f);
  const auto original = x;
  cpu::gemma_rmsnorm(x.data(), rows, width, w, 1e-6f);
  for (int64_t r = 0; r < rows; ++r) {
    double mean_square = 0;
    for (int64_t c = 0; c < width; ++c)
      mean_square += std::pow(original[r * width + c], 2);
    mean_square /= width;
    for (int64_t c = 0; c < width; ++c) {
      const double expected = original[r * width + c] / std::sqrt(mean_square + 1e-6) * (1 + w[c]);
      ASSERT_NEAR(x[r * width + c], expected, 1e-5 * (1 + std::abs(expected)));
    }
  }
}

TEST(CpuOps, PartialNeoxRopeRotatesPairsAndKeepsTheRest) {
  auto rng = fresh_rng();
  const int heads = 3, head_dim = 12, rotary_dim = 8;
  const double theta = 5e6;
  const std::vector<int32_t> positions = {0, 1, 17, 1000};
  const int64_t rows = int64_t(positions.size());
  auto x = random_vector(rng, rows * heads * head_dim);
  const auto original = x;
  cpu::rope_neox(x.data(), rows, heads, head_dim, rotary_dim, theta, positions.data());
  for (int64_t r = 0; r < rows; ++r)
    for (int h = 0; h < heads; ++h) {
      const float *in = &original[(r * heads + h) * head_dim];
      const float *out = &x[(r * heads + h) * head_dim];
      for (int i = 0; i < rotary_dim / 2; ++i) {
        const double angle = positions[r] * std::pow(theta, -2.0 * i / rotary_dim);
        const double a = in[i], b = in[i + rotary_dim / 2];
        ASSERT_NEAR(out[i], a * std::cos(angle) - b * std::sin(angle), 1e-4);
        ASSERT_NEAR(out[i + rotary_dim / 2], b * std::cos(angle) + a * std::sin(angle), 1e-4);
      }
      for (int c = rotary_dim; c < head_dim; ++c)
        ASSERT_EQ(out[c], in[c]);
    }
}

TEST(CpuOps, SwigluOaiClampsGateAboveAndUpBothSides) {
  const cpu::SwigluOai act{1.702f, 7.0f, 1.0f};
  auto naive = [](double g, double u) {
    g = std::min(g, 7.0);
    u = std::max(-7.0, std::min(u, 7.0));
    return g / (1 + std::exp(-1.702 * g)) * (u + 1);
  };
  auto rng = fresh_rng();
  std::uniform_real_distribution<float> wide(-12.0f, 12.0f);
  for (int i = 0; i < 200; ++i) {
    const float g = wide(rng), u = wide(rng);
    ASSERT_NEAR(act(g, u), naive(g, u), 1e-5 * (1 + std::abs(naive(g, u)))) << g << " " << u;
  }
  EXPECT_NEAR(act(9.0f, 9.0f), naive(7.0, 7.0), 1e-5);     // both clamps engaged
  EXPECT_NEAR(act(-9.0f, -9.0f), naive(-9.0, -7.0), 1e-5); // gate unclamped below
}

// Routing: sigmoid scores, biased top-k choice, weights from the unbiased scores.
TEST(CpuOps, MoeBiasChangesChoiceNotWeights) {
  auto rng = fresh_rng();
  ModelConfig config = test_model::small_config();
  const int experts = config.num_experts, top_k = config.num_experts_per_token;
  const int64_t rows = 6, hidden = config.hidden_size;
  const auto router = random_vector(rng, experts * hidden, 0.5f);
  auto bias = random_vector(rng, experts, 0.3f);
  const auto x = random_vector(rng, rows * hidden);
  bias[experts - 1] = 100.0f; // always chosen, whatever its score
  LayerWeights layer;
  layer.router = f32_weight(router, experts, hidden);
  layer.router_bias = f32_weight(bias, 1, experts);
  const auto routing = cpu::route_tokens(x, rows, layer, config);
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> score(experts);
    std::vector<int> order(experts);
    for (int e = 0; e < experts; ++e) {
      double logit = 0;
      for (int64_t c = 0; c < hidden; ++c)
        logit += double(x[r * hidden + c]) * router[e * hidden + c];
      score[e] = 1 / (1 + std::exp(-logit));
      order[e] = e;
    }
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return score[a] + bias[a] > score[b] + bias[b]; });
    double total = 0;
    for (int j = 0; j < top_k; ++j)
      total += score[order[j]];
    EXPECT_EQ(routing.experts[r * top_k], experts - 1);
    for (int j = 0; j < top_k; ++j) {
      ASSERT_EQ(routing.experts[r * top_k + j], order[j]);
      ASSERT_NEAR(routing.weights[r * top_k + j], score[order[j]] / total, 1e-5);
    }
  }
}

// The whole block: routed experts weighted, scaled by routed_scaling_factor, plus the shared one.
TEST(CpuOps, MoeBlockMatchesNaiveSum) {
  ModelConfig config = test_model::small_config();
  const unsigned seed = std::random_device{}();
  test_model::RandomModel model(config, seed);
  const LayerWeights &layer = model.checkpoint.weights.layers[1];
  auto rng = fresh_rng();
  const int64_t rows = 7, hidden = config.hidden_size;
  const auto x = random_vector(rng, rows * hidden);
  const auto y = cpu::moe_forward(x, rows, layer, config);
  const auto routing = cpu::route_tokens(x, rows, layer, config);
  auto naive_mlp = [&](const ExpertWeights &e, const float *in, std::vector<double> &out) {
    const auto gate = e.gate.to_f32(), up = e.up.to_f32(), down = e.down.to_f32();
    const int64_t inter = e.gate.rows;
    std::vector<double> act(inter);
    for (int64_t i = 0; i < inter; ++i) {
      double g = 0, u = 0;
      for (int64_t c = 0; c < hidden; ++c) {
        g += gate[i * hidden + c] * double(in[c]);
        u += up[i * hidden + c] * double(in[c]);
      }
      g = std::min(g, 7.0);
      u = std::clamp(u, -7.0, 7.0);
      act[i] = g / (1 + std::exp(-1.702 * g)) * (u + 1);
    }
    out.assign(hidden, 0.0);
    for (int64_t c = 0; c < hidden; ++c)
      for (int64_t i = 0; i < inter; ++i)
        out[c] += down[c * inter + i] * act[i];
  };
  std::vector<double> expert_out, shared_out;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> expected(hidden, 0.0);
    for (int j = 0; j < routing.top_k; ++j) {
      naive_mlp(layer.experts[routing.experts[r * routing.top_k + j]], &x[r * hidden], expert_out);
      for (int64_t c = 0; c < hidden; ++c)
        expected[c] += 2.0 * routing.weights[r * routing.top_k + j] * expert_out[c];
    }
    naive_mlp(layer.shared_expert, &x[r * hidden], shared_out);
    for (int64_t c = 0; c < hidden; ++c)
      ASSERT_NEAR(y[r * hidden + c], expected[c] + shared_out[c],
                  1e-4 * (1 + std::abs(expected[c])));
  }
}

} // namespace
