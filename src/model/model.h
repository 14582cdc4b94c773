#pragma once
// The backend-neutral model interface the runtime drives.
#include <vector>

#include "model/config.h"
#include "model/forward_batch.h"
#include "model/kv_cache.h"

namespace m3 {

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelConfig& config() const = 0;
  // Runs one step: writes K/V/index-K of every row into the cache at its position and returns
  // the logits of batch.logit_rows as [logit_rows.size(), vocab_size].
  virtual std::vector<float> forward(const ForwardBatch& batch, KvCache& cache) = 0;
};

}  // namespace m3
