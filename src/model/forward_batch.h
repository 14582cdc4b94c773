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

// Input embeddings that replace the token embedding at some prompt positions (vision features).
// Only those rows are kept: at a real model's width a dense [prompt, hidden] copy would cost
// hundreds of MB per long request.
struct PromptEmbeddings {
  int64_t hidden = 0;
  std::vector<int32_t> positions;  // ascending prompt positions
  std::vector<float> rows;         // [positions.size(), hidden]
  bool empty() const { return positions.empty(); }
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

  // Rows first_row.. (count of them, at prompt positions first_position..) take the rows of
  // `prompt` at their positions. Call after every row is added; allocates input_embeddings on
  // the first such row. Inline: the runtime links no model code.
  void attach_embeddings(int32_t first_row, int32_t count, const PromptEmbeddings& prompt,
                         int32_t first_position) {
    const size_t hidden = size_t(prompt.hidden);
    auto it = std::lower_bound(prompt.positions.begin(), prompt.positions.end(), first_position);
    for (; it != prompt.positions.end() && *it < first_position + count; ++it) {
      if (input_embeddings.empty()) {
        input_embeddings.assign(size_t(num_rows()) * hidden, 0.0f);
        embedding_row_mask.assign(size_t(num_rows()), 0);
      }
      const size_t row = size_t(first_row + (*it - first_position));
      const size_t k = size_t(it - prompt.positions.begin());
      embedding_row_mask[row] = 1;
      std::copy_n(&prompt.rows[k * hidden], hidden, &input_embeddings[row * hidden]);
    }
  }
};

}  // namespace m3
