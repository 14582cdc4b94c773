#pragma once
// The exact float32 CPU forward of the MiniMax-M3 text model over the paged KV cache (shared
// m3-model.md §3-§5). It is the reference every other backend is checked against.
#include <vector>

#include "model/model.h"
#include "model/weights.h"

namespace m3 {

class CpuModel : public Model {
public:
  explicit CpuModel(Checkpoint checkpoint);

  const ModelConfig &config() const override { return checkpoint_.config; }
  std::vector<float> forward(const ForwardBatch &batch, KvCache &cache) override;

private:
  // Adds the attention output of layer `layer` for the rows of `batch` to hidden; writes the
  // rows' K, V (and index K in sparse layers) into the cache first.
  void attention(int layer, const ForwardBatch &batch, KvCache &cache,
                 std::vector<float> &hidden) const;
  void feed_forward(int layer, int64_t rows, std::vector<float> &hidden) const;
  std::vector<float> embed(const ForwardBatch &batch) const;
  void check_batch(const ForwardBatch &batch, const KvCache &cache) const;

  Checkpoint checkpoint_;
};

} // namespace m3
