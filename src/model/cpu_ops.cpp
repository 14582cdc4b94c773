#include "model/cpu_ops.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"

namespace m3::cpu {

namespace {

// Weight rows converted together; x rows are reused across the tile while they sit in cache.
constexpr int64_t kRowTile = 8;

} // namespace

// Eight independent partial sums let the compiler vectorise without reassociating a single sum.
float dot(const float *a, const float *b, int64_t n) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int lane = 0; lane < 8; ++lane)
      partial[lane] += a[i + lane] * b[i + lane];
  float sum = ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
              ((partial[4] + partial[5]) + (partial[6] + partial[7]));
  for (; i < n; ++i)
    sum += a[i] * b[i];
  return sum;
}

void matmul(const float *x, int64_t rows, const Weight &weight, float *y) {
  const int64_t n = weight.rows, k = weight.cols;
  const int64_t num_tiles = (n + kRowTile - 1) / kRowTile;
  parallel_for_if_worth(num_tiles, rows * n * k, [&](int64_t tile_begin, int64_t tile_end) {
    std::vector<float> tile(kRowTile * k);
    for (int64_t t = tile_begin; t < tile_end; ++t) {
      const int64_t first = t * kRowTile, count = std::min(kRowTile, n - first);
      for (int64_t j = 0; j < count; ++j)
        weight.row_to_f32(first + j, &tile[j * k]);
      for (int64_t r = 0; r < rows; ++r) {
        const float *xr = x + r * k;
        float *yr = y + r * n + first;
        for (int64_t j = 0; j < count; ++j)
          yr[j] = dot(xr, &tile[j * k], k);
      }
    }
  });
}

std::vector<float> matmul(const std::vector<float> &x, int64_t rows, const Weight &weight) {
  require(int64_t(x.size()) == rows * weight.cols, "matmul: input width does not match weight");
  std::vector<float> y(size_t(rows * weight.rows));
  matmul(x.data(), rows, weight, y.data());
  return y;
}

void gemma_rmsnorm(float *x, int64_t num_rows, int64_t width, const std::vector<float> &weight,
                   float eps) {
  for (int64_t r = 0; r < num_rows; ++r) {
    float *row = x + r * width;
    double sum_squares = 0;
    for (int64_t c = 0; c < width; ++c)
      sum_squares += double(row[c]) * row[c];
    const float inv_rms = float(1.0 / std::sqrt(sum_squares / double(width) + double(eps)));
    for (int64_t c = 0; c < width; ++c)
      row[c] = row[c] * inv_rms * (1.0f + weight[c]);
  }
}

void rope_neox(float *x, int64_t rows, int num_heads, int head_dim, int rotary_dim, double theta,
               const int32_t *positions) {
  const int half = rotary_dim / 2;
  // Frequencies and angles in float32, as transformers computes its cos/sin tables.
  std::vector<float> inv_freq(half), cos_table(half), sin_table(half);
  for (int i = 0; i < half; ++i)
    inv_freq[i] = 1.0f / std::pow(float(theta), float(2 * i) / float(rotary_dim));
  for (int64_t r = 0; r < rows; ++r) {
    for (int i = 0; i < half; ++i) {
      const float angle = inv_freq[i] * float(positions[r]);
      cos_table[i] = float(std::cos(double(angle)));
      sin_table[i] = float(std::sin(double(angle)));
    }
    rotate_half_pairs(x + r * num_heads * head_dim, num_heads, head_dim, half, cos_table.data(),
                      sin_table.data());
  }
}

void rotate_half_pairs(float *x, int num_heads, int head_dim, int half, const float *cos,
                       const float *sin) {
  for (int h = 0; h < num_heads; ++h) {
    float *head = x + int64_t(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      const float a = head[i], b = head[i + half];
      head[i] = a * cos[i] - b * sin[i];
      head[i + half] = b * cos[i] + a * sin[i];
    }
  }
}

float SwigluOai::operator()(float gate, float up) const {
  const float g = std::min(gate, limit);
  const float u = std::clamp(up, -limit, limit);
  return g / (1.0f + std::exp(-alpha * g)) * (u + beta);
}

std::vector<float> gated_mlp(const std::vector<float> &x, int64_t rows,
                             const ExpertWeights &weights, const SwigluOai &activation) {
  std::vector<float> gate = matmul(x, rows, weights.gate);
  const std::vector<float> up = matmul(x, rows, weights.up);
  for (size_t i = 0; i < gate.size(); ++i)
    gate[i] = activation(gate[i], up[i]);
  return matmul(gate, rows, weights.down);
}

} // namespace m3::cpu
