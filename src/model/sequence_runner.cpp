#include "model/sequence_runner.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <string>

#include "core/error.h"

namespace m3 {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_between(Clock::time_point begin, Clock::time_point end) {
  return std::chrono::duration<double>(end - begin).count();
}

// One sequence's cache: enough scrambled pages for capacity tokens.
struct SequenceCache {
  SequenceCache(const Model &model, int32_t capacity)
      : cache(model.config(), blocks_for(model.config(), capacity)),
        page_table(scrambled_page_table(cache.num_pages())) {}

  static int32_t blocks_for(const ModelConfig &config, int32_t tokens) {
    const int block = kv_page_size(config);
    return std::max<int32_t>(1, (tokens + block - 1) / block);
  }

  // Runs new_tokens after `cached` tokens; returns logits of every new row or only the last.
  std::vector<float> step(Model &model, const std::vector<int32_t> &new_tokens, int32_t cached,
                          bool all_logits, const PromptEmbeddings *embeddings = nullptr) {
    ForwardBatch batch;
    batch.add_sequence(new_tokens, cached, page_table, all_logits);
    if (embeddings)
      batch.attach_embeddings(0, batch.num_rows(), *embeddings, cached);
    return model.forward(batch, cache);
  }

  KvCache cache;
  std::vector<int32_t> page_table;
};

} // namespace

std::vector<int32_t> scrambled_page_table(int32_t num_blocks) {
  std::vector<int32_t> pages(num_blocks);
  std::iota(pages.begin(), pages.end(), 0);
  std::shuffle(pages.begin(), pages.end(), std::mt19937(20260601));
  return pages;
}

void validate_token_ids(const ModelConfig &config, const std::vector<int32_t> &ids) {
  require(!ids.empty(), "no token ids given");
  for (size_t i = 0; i < ids.size(); ++i)
    require(ids[i] >= 0 && ids[i] < config.vocab_size,
            "token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                " is outside the vocabulary (size " + std::to_string(config.vocab_size) + ")");
}

std::vector<float> sequence_logits(Model &model, const std::vector<int32_t> &ids, int32_t prefill,
                                   SequenceTiming *timing, const PromptEmbeddings *embeddings) {
  validate_token_ids(model.config(), ids);
  const int32_t total = int32_t(ids.size());
  if (prefill <= 0 || prefill > total)
    prefill = total;
  SequenceCache sequence(model, total);
  const auto start = Clock::now();
  std::vector<float> logits =
      sequence.step(model, std::vector<int32_t>(ids.begin(), ids.begin() + prefill), 0, true,
                    embeddings);
  const auto prefill_done = Clock::now();
  for (int32_t position = prefill; position < total; ++position) {
    const std::vector<float> row =
        sequence.step(model, {ids[position]}, position, true, embeddings);
    logits.insert(logits.end(), row.begin(), row.end());
  }
  if (timing)
    *timing = {prefill, seconds_between(start, prefill_done), total - prefill,
               seconds_between(prefill_done, Clock::now())};
  return logits;
}

std::vector<int32_t> greedy_generate(Model &model, const std::vector<int32_t> &prompt,
                                     int32_t max_new_tokens, bool stop_at_eos,
                                     const PromptEmbeddings *embeddings) {
  validate_token_ids(model.config(), prompt);
  const int64_t eos = model.config().eos_token_id;
  SequenceCache sequence(model, int32_t(prompt.size()) + max_new_tokens);
  std::vector<int32_t> generated;
  std::vector<int32_t> step_tokens = prompt;
  int32_t cached = 0;
  while (int32_t(generated.size()) < max_new_tokens) {
    const std::vector<float> logits =
        sequence.step(model, step_tokens, cached, false, embeddings);
    const int32_t next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    generated.push_back(next);
    if (stop_at_eos && eos >= 0 && next == eos)
      break;
    cached += int32_t(step_tokens.size());
    step_tokens = {next};
  }
  return generated;
}

} // namespace m3
