#pragma once
// What the runtime hands to a backend for one forward step (shared contract, design.md §0).
// The batch is ragged: each sequence contributes num_new_tokens query rows that continue after
// its num_cached_tokens already in the paged KV cache.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace m3 {

struct SequenceInBatch {
  int32_t first_row = 0;          // index of this sequence's first row in token_ids
  int32_t num_new_tokens = 0;     // query rows this step
  int32_t num_cached_tokens = 0;  // tokens already in the cache = position of the first new row
  // Physical page of each logical block (block b holds absolute positions
  // [b * block_size, (b + 1) * block_size)); covers num_cached_tokens + num_new_tokens.
  std::vector<int32_t> page_table;
};

// Input embeddings of a prompt's positions that replace the token embedding (vision features):
// values [mask.size(), hidden], used where mask[position] != 0.
struct PromptEmbeddings {
  int64_t hidden = 0;
  std::vector<float> values;
  std::vector<uint8_t> mask;
  bool empty() const { return mask.empty(); }
};

struct ForwardBatch {
  std::vector<int32_t> token_ids;          // [num_rows]
  std::vector<int32_t> positions;          // [num_rows] absolute positions
  std::vector<SequenceInBatch> sequences;  // in row order
  std::vector<int32_t> logit_rows;         // rows whose logits are wanted, in output order
  // Optional input embeddings [num_rows, hidden] replacing token embeddings where
  // embedding_row_mask[row] != 0 (vision features); empty = token embeddings only.
  std::vector<float> input_embeddings;
  std::vector<uint8_t> embedding_row_mask;

  int32_t num_rows() const { return int32_t(token_ids.size()); }
  // Appends one sequence's rows (positions num_cached_tokens...) and returns its index.
  int add_sequence(const std::vector<int32_t>& new_tokens, int32_t num_cached_tokens,
                   std::vector<int32_t> page_table, bool want_all_logits);

  // Rows first_row.. (count of them, at prompt positions first_position..) take the values of
  // `prompt` where its mask is set. Call after every row is added; allocates input_embeddings
  // on the first masked row. Inline: the runtime links no model code.
  void attach_embeddings(int32_t first_row, int32_t count, const PromptEmbeddings& prompt,
                         int32_t first_position) {
    const int64_t hidden = prompt.hidden;
    for (int32_t i = 0; i < count; ++i) {
      const size_t position = size_t(first_position + i);
      if (position >= prompt.mask.size() || !prompt.mask[position]) continue;
      if (input_embeddings.empty()) {
        input_embeddings.assign(size_t(num_rows()) * size_t(hidden), 0.0f);
        embedding_row_mask.assign(size_t(num_rows()), 0);
      }
      const size_t row = size_t(first_row + i);
      embedding_row_mask[row] = 1;
      std::copy_n(&prompt.values[position * size_t(hidden)], hidden,
                  &input_embeddings[row * size_t(hidden)]);
    }
  }
};

}  // namespace m3
