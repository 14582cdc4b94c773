// The engine loop end to end with a model whose next token is a pure function of the whole
// context *as read back from the paged KV cache*: wrong page tables, bad prefix reuse or mixed-up
// batch rows change the output, and the expected output is computed directly from the tokens.
#include <gtest/gtest.h>

#include <future>
#include <random>
#include <thread>

#include "core/error.h"
#include "runtime/engine.h"

namespace m3 {
namespace {

constexpr int kVocab = 64;
constexpr int kBlock = 4;
constexpr int32_t kEos = 63;
constexpr int kHidden = 2;
constexpr float kEmbeddingOffset = 1000.0f; // cached value of a row fed by an input embedding

ModelConfig tiny_config() {
  ModelConfig config;
  config.vocab_size = kVocab;
  config.hidden_size = kHidden;
  config.num_layers = 1;
  config.num_heads = 1;
  config.num_kv_heads = 1;
  config.head_dim = 1;
  config.index_head_dim = 1;
  config.index_block_size = kBlock;
  config.attention_kinds = {AttentionKind::kFull};
  config.mlp_kinds = {MlpKind::kDense};
  config.eos_token_id = kEos;
  return config;
}

// Logits for the context: deterministic pseudo-random scores seeded by a hash of the tokens.
std::vector<float> context_logits(const std::vector<int32_t> &context) {
  uint64_t h = 1469598103934665603ull;
  for (int32_t t : context)
    h = (h ^ uint64_t(t)) * 1099511628211ull;
  std::mt19937_64 rng(h);
  std::vector<float> logits(kVocab);
  for (auto &v : logits)
    v = float(rng() % 1000) / 100.0f;
  logits[kEos] = -5.0f; // the tests decide when to stop
  return logits;
}

class ContextModel : public Model {
public:
  ContextModel() : config_(tiny_config()) {}
  const ModelConfig &config() const override { return config_; }
  std::vector<float> forward(const ForwardBatch &batch, KvCache &cache) override {
    std::vector<float> out;
    for (const SequenceInBatch &seq : batch.sequences) {
      for (int32_t j = 0; j < seq.num_new_tokens; ++j) {
        const int32_t pos = seq.num_cached_tokens + j, row = seq.first_row + j;
        const bool embedded = !batch.embedding_row_mask.empty() && batch.embedding_row_mask[row];
        cache.keys(0, seq.page_table.at(pos / kBlock))[pos % kBlock] =
            embedded ? kEmbeddingOffset + batch.input_embeddings[size_t(row) * kHidden]
                     : float(batch.token_ids[row]);
      }
    }
    for (int32_t row : batch.logit_rows) {
      const SequenceInBatch *owner = nullptr;
      for (const auto &seq : batch.sequences)
        if (row >= seq.first_row && row < seq.first_row + seq.num_new_tokens)
          owner = &seq;
      const int32_t last = owner->num_cached_tokens + (row - owner->first_row);
      std::vector<int32_t> context;
      for (int32_t pos = 0; pos <= last; ++pos)
        context.push_back(int32_t(cache.keys(0, owner->page_table.at(pos / kBlock))[pos % kBlock]));
      auto logits = context_logits(context);
      out.insert(out.end(), logits.begin(), logits.end());
    }
    max_rows = std::max(max_rows.load(), batch.num_rows());
    std::this_thread::sleep_for(step_delay);
    return out;
  }
  std::atomic<int32_t> max_rows{0};
  std::chrono::milliseconds step_delay{0};

private:
  ModelConfig config_;
};

std::vector<int32_t> greedy_reference(std::vector<int32_t> context, int n) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    auto logits = context_logits(context);
    int32_t next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    out.push_back(next);
    context.push_back(next);
  }
  return out;
}

std::vector<int32_t> random_prompt(std::mt19937 &rng, int length) {
  std::vector<int32_t> prompt(length);
  for (auto &t : prompt)
    t = int32_t(rng() % (kVocab - 1));
  return prompt;
}

struct Collected {
  std::vector<int32_t> tokens;
  FinishReason finish = FinishReason::kNone;
  int32_t cached = 0;
};

Collected collect(RequestStream &stream) {
  Collected out;
  for (;;) {
    auto event = stream.pop(std::chrono::seconds(20));
    if (!event)
      throw std::runtime_error("engine stalled");
    if (event->token >= 0)
      out.tokens.push_back(event->token);
    out.cached = event->cached_prompt_tokens;
    if (event->finish != FinishReason::kNone) {
      out.finish = event->finish;
      return out;
    }
  }
}

Request greedy(std::vector<int32_t> prompt, int max_tokens) {
  Request request;
  request.prompt = std::move(prompt);
  request.sampling.temperature = 0;
  request.sampling.max_tokens = max_tokens;
  return request;
}

TEST(Engine, GreedyOutputMatchesTheDirectReferenceAloneAndBatched) {
  std::mt19937 rng(std::random_device{}());
  ContextModel model;
  Engine engine(model, EngineConfig{256, 0, 8, 16, true});
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 12; ++i)
    prompts.push_back(random_prompt(rng, 1 + int(rng() % 30)));
  // Alone, one after another.
  for (auto &prompt : prompts) {
    Collected alone = collect(*engine.submit(greedy(prompt, 12)).stream);
    EXPECT_EQ(alone.tokens, greedy_reference(prompt, 12));
    EXPECT_EQ(alone.finish, FinishReason::kLength);
  }
  // All at once: batched decode steps mixed with chunked prefills.
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (auto &prompt : prompts)
    streams.push_back(engine.submit(greedy(prompt, 12)).stream);
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(collect(*streams[i]).tokens, greedy_reference(prompts[i], 12)) << "request " << i;
  EXPECT_GT(model.max_rows.load(), 1);
  EXPECT_LE(model.max_rows.load(), 16);
  EXPECT_EQ(engine.stats().num_pages_in_use, 0);
}

TEST(Engine, TinyCacheQueuesAndPreemptsButStaysCorrect) {
  std::mt19937 rng(std::random_device{}());
  ContextModel model;
  // 10 pages = 40 tokens: one 40-token sequence fits, eight of them do not.
  Engine engine(model, EngineConfig{40, 10, 8, 32, false});
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (int i = 0; i < 8; ++i) {
    prompts.push_back(random_prompt(rng, 5 + int(rng() % 10)));
    streams.push_back(engine.submit(greedy(prompts.back(), 20)).stream);
  }
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(collect(*streams[i]).tokens, greedy_reference(prompts[i], 20)) << "request " << i;
  EngineStats stats = engine.stats();
  EXPECT_GT(stats.num_preemptions, 0);
  EXPECT_EQ(stats.num_pages_in_use, 0);
}

TEST(Engine, PrefixCachingReusesPagesAndKeepsTheOutput) {
  std::mt19937 rng(std::random_device{}());
  ContextModel model;
  Engine engine(model, EngineConfig{256, 0, 4, 64, true});
  std::vector<int32_t> turn1 = random_prompt(rng, 17);
  Collected first = collect(*engine.submit(greedy(turn1, 6)).stream);
  std::vector<int32_t> turn2 = turn1;
  turn2.insert(turn2.end(), first.tokens.begin(), first.tokens.end());
  for (int i = 0; i < 7; ++i)
    turn2.push_back(int32_t(rng() % (kVocab - 1)));
  Collected second = collect(*engine.submit(greedy(turn2, 6)).stream);
  // Turn 1 put 17 prompt + 5 fed-back tokens in the cache: 5 full pages.
  EXPECT_EQ(second.cached, 5 * kBlock);
  EXPECT_EQ(second.tokens, greedy_reference(turn2, 6));
  EXPECT_GE(engine.stats().prefix_cache_hits, 16);
}

// A prompt whose positions [first, first + values.size()) are fed by embeddings (value, 0).
struct EmbeddedPrompt {
  std::vector<int32_t> tokens;
  std::shared_ptr<PromptEmbeddings> embeddings = std::make_shared<PromptEmbeddings>();
  std::vector<int32_t> context; // what the model sees: tokens, embedded rows as offset + value
};

EmbeddedPrompt embedded_prompt(const std::vector<int32_t> &tokens, int first,
                               const std::vector<int> &values) {
  EmbeddedPrompt p;
  p.tokens = tokens;
  p.embeddings->hidden = kHidden;
  p.context = tokens;
  for (size_t i = 0; i < values.size(); ++i) {
    p.embeddings->positions.push_back(int32_t(first + i));
    p.embeddings->rows.insert(p.embeddings->rows.end(), {float(values[i]), 0.0f});
    p.context[first + i] = int32_t(kEmbeddingOffset) + values[i];
  }
  return p;
}

TEST(Engine, InputEmbeddingsThroughChunkedPrefillAndPrefixCache) {
  std::mt19937 rng(std::random_device{}());
  ContextModel model;
  // 5-row steps: the 10 embedded rows (positions 5..14) are split over three chunks.
  Engine engine(model, EngineConfig{256, 0, 4, 5, true});
  std::vector<int32_t> tokens = random_prompt(rng, 23);
  std::fill(tokens.begin() + 5, tokens.begin() + 15, 7); // identical placeholder ids
  std::vector<int> image_a(10), image_b(10);
  for (int i = 0; i < 10; ++i) {
    image_a[i] = int(rng() % 900);
    image_b[i] = image_a[i] + 1 + int(rng() % 50);
  }
  auto run = [&](const EmbeddedPrompt &p) {
    Request request = greedy(p.tokens, 6);
    request.embeddings = p.embeddings;
    return collect(*engine.submit(std::move(request)).stream);
  };
  const EmbeddedPrompt a = embedded_prompt(tokens, 5, image_a);
  const EmbeddedPrompt b = embedded_prompt(tokens, 5, image_b);
  const Collected first = run(a);
  EXPECT_EQ(first.tokens, greedy_reference(a.context, 6));
  EXPECT_EQ(first.cached, 0);
  // Same ids, other image: only the page before the first embedded row may be reused.
  const Collected other = run(b);
  EXPECT_EQ(other.tokens, greedy_reference(b.context, 6));
  EXPECT_EQ(other.cached, kBlock);
  EXPECT_NE(greedy_reference(a.context, 6), greedy_reference(b.context, 6));
  // The same image again: every full prompt page (the last token is always computed).
  const Collected again = run(a);
  EXPECT_EQ(again.tokens, first.tokens);
  EXPECT_EQ(again.cached, 20);
}

TEST(Engine, RejectsEmbeddingsOfTheWrongShape) {
  ContextModel model;
  Engine engine(model, EngineConfig{256, 0, 4, 64, false});
  EmbeddedPrompt p = embedded_prompt({1, 2, 3, 4}, 3, {5});
  Request request = greedy({1, 2, 3}, 2); // the embedded position 3 is past the prompt
  request.embeddings = p.embeddings;
  EXPECT_THROW(engine.submit(std::move(request)), Error);
}

TEST(Engine, CancelReleasesPagesAndStopTokensFinish) {
  std::mt19937 rng(std::random_device{}());
  ContextModel model;
  model.step_delay = std::chrono::milliseconds(1); // so the cancel lands mid-generation
  Engine engine(model, EngineConfig{4096, 0, 4, 64, false});
  auto submitted = engine.submit(greedy(random_prompt(rng, 9), 4000));
  ASSERT_TRUE(submitted.stream->pop(std::chrono::seconds(10)).has_value());
  // Stats are refreshed at the end of each step, just after the token was pushed.
  for (int i = 0; i < 100 && engine.stats().num_pages_in_use == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_GT(engine.stats().num_pages_in_use, 0);
  engine.cancel(submitted.id);
  Collected rest = collect(*submitted.stream);
  EXPECT_EQ(rest.finish, FinishReason::kCancelled);
  for (int i = 0; i < 100 && engine.stats().num_pages_in_use != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(engine.stats().num_pages_in_use, 0);

  std::vector<int32_t> prompt = random_prompt(rng, 6);
  std::vector<int32_t> expected = greedy_reference(prompt, 5);
  Request request = greedy(prompt, 50);
  request.sampling.stop_token_ids = {expected[2]};
  Collected stopped = collect(*engine.submit(request).stream);
  const size_t first_stop =
      std::find(expected.begin(), expected.end(), expected[2]) - expected.begin();
  EXPECT_EQ(stopped.tokens,
            std::vector<int32_t>(expected.begin(), expected.begin() + first_stop + 1));
  EXPECT_EQ(stopped.finish, FinishReason::kStop);
}

TEST(Engine, NeverSamplesPastTheSamplingVocabulary) {
  std::mt19937 rng(std::random_device{}());
  ContextModel model;
  EngineConfig config{512, 0, 2, 8, false};
  config.sampling_vocab_size = 10; // e.g. padding rows past the tokenizer's vocabulary
  Engine engine(model, config);
  Request request = greedy(random_prompt(rng, 5), 200);
  request.sampling.temperature = 1.5f;
  request.sampling.ignore_eos = true;
  Collected out = collect(*engine.submit(request).stream);
  ASSERT_EQ(out.tokens.size(), 200u);
  for (int32_t t : out.tokens)
    EXPECT_LT(t, 10);
}

TEST(Engine, RejectsPromptsThatCannotRun) {
  ContextModel model;
  Engine engine(model, EngineConfig{32, 0, 2, 8, false});
  EXPECT_THROW(engine.submit(greedy({}, 4)), Error);
  EXPECT_THROW(engine.submit(greedy(std::vector<int32_t>(32, 1), 4)), Error);
  EXPECT_THROW(engine.submit(greedy({1, kVocab}, 4)), Error);
  engine.stop();
  EXPECT_THROW(engine.submit(greedy({1, 2}, 4)), Error);
}

} // namespace
} // namespace m3
