#include "model/forward_batch.h"

namespace m3 {

int ForwardBatch::add_sequence(const std::vector<int32_t> &new_tokens, int32_t num_cached_tokens,
                               std::vector<int32_t> page_table, bool want_all_logits) {
  SequenceInBatch sequence;
  sequence.first_row = num_rows();
  sequence.num_new_tokens = int32_t(new_tokens.size());
  sequence.num_cached_tokens = num_cached_tokens;
  sequence.page_table = std::move(page_table);
  for (int32_t i = 0; i < int32_t(new_tokens.size()); ++i) {
    token_ids.push_back(new_tokens[i]);
    positions.push_back(num_cached_tokens + i);
  }
  // Generation only needs the last row's logits; scoring wants every row.
  if (want_all_logits) {
    for (int32_t row = sequence.first_row; row < num_rows(); ++row)
      logit_rows.push_back(row);
  } else if (!new_tokens.empty()) {
    logit_rows.push_back(num_rows() - 1);
  }
  sequences.push_back(std::move(sequence));
  return int(sequences.size()) - 1;
}

} // namespace m3
