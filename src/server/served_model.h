#pragma once
// Everything one served model needs: checkpoint, tokenizer, chat template and the engine that
// owns the model. Built once at startup; shared read-only by the HTTP threads (the engine is
// thread-safe through submit/cancel).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "model/model.h"
#include "runtime/engine.h"
#include "tokenizer/tokenizer.h"
#include "vision/multimodal.h"

namespace m3::server {

struct ServedModelOptions {
  std::string model_dir;
  std::string served_name;   // empty: the directory name
  int32_t max_model_len = 0; // 0: min(max_position_embeddings, 8192)
  int32_t max_num_seqs = 32;
  int32_t max_batch_tokens = 512;
  int32_t num_pages = 0; // 0: enough for max_num_seqs sequences of max_model_len
  bool enable_prefix_caching = true;
};

class ServedModel {
public:
  // progress(done_bytes, total_bytes) is called while the weight files are read in.
  ServedModel(const ServedModelOptions &options,
              const std::function<void(int64_t, int64_t)> &progress = {});
  ~ServedModel();

  const std::string &name() const { return name_; }
  int64_t created() const { return created_; }
  int32_t max_model_len() const { return engine_->config().max_model_len; }
  Engine &engine() { return *engine_; }
  const Tokenizer &tokenizer() const { return tokenizer_; }
  const chat::ChatTemplate &chat_template() const { return *chat_template_; }
  // Token ids that end a generation besides the model's eos ([e~[ for M3).
  const std::vector<int32_t> &stop_token_ids() const { return stop_token_ids_; }
  // The vision tower, or null when the checkpoint has none (text-only model).
  const vision::VisionTower *vision_tower() const { return vision_tower_.get(); }
  const vision::MediaTokens &media_tokens() const { return media_tokens_; }

private:
  std::string name_;
  int64_t created_;
  Tokenizer tokenizer_;
  std::unique_ptr<chat::ChatTemplate> chat_template_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Engine> engine_;
  std::vector<int32_t> stop_token_ids_;
  std::unique_ptr<vision::VisionTower> vision_tower_;
  vision::MediaTokens media_tokens_;
};

} // namespace m3::server
