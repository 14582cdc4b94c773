#pragma once
// Single-sequence drivers over the Model interface, used by `m3 logits`, `m3 generate`, tests
// and benchmarks: one prefill step, then one token per step through the same paged cache.
#include <cstdint>
#include <vector>

#include "model/model.h"

namespace m3 {

// A page table for num_blocks blocks over pages 0..num_blocks-1 in a fixed scrambled order, so
// callers exercise non-contiguous paging.
std::vector<int32_t> scrambled_page_table(int32_t num_blocks);

// Wall-clock split of a sequence_logits run (for `m3 logits` and benchmarks).
struct SequenceTiming {
  int32_t prefill_tokens = 0;
  double prefill_seconds = 0;
  int32_t decode_tokens = 0;
  double decode_seconds = 0;
};

// Logits [ids.size(), vocab] of every position. The first `prefill` tokens (all of them when
// prefill <= 0 or >= ids.size()) go through one forward step, the rest one per step.
// embeddings (optional): vision features for some prompt positions.
std::vector<float> sequence_logits(Model &model, const std::vector<int32_t> &ids, int32_t prefill,
                                   SequenceTiming *timing = nullptr,
                                   const PromptEmbeddings *embeddings = nullptr);

// Greedy continuation: the prompt in one step, then one token per step. Stops after
// max_new_tokens, or after emitting eos_token_id when stop_at_eos (and the config has one).
std::vector<int32_t> greedy_generate(Model &model, const std::vector<int32_t> &prompt,
                                     int32_t max_new_tokens, bool stop_at_eos,
                                     const PromptEmbeddings *embeddings = nullptr);

// Checks ids are non-empty and inside the model's vocabulary; throws m3::Error otherwise.
void validate_token_ids(const ModelConfig &config, const std::vector<int32_t> &ids);

} // namespace m3
