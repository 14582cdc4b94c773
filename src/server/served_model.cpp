#include "server/served_model.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "model/minimax_m3.h"
#include "model/weights.h"

namespace m3::server {
namespace fs = std::filesystem;
namespace {

constexpr int32_t kDefaultContextCap = 8192;

// Reads every weight file once (into the page cache the mmapped checkpoint then uses), so the
// wait is visible as progress instead of as a slow first request.
// The marker token id the chat template / placeholder expansion relies on.
int32_t marker_id(const Tokenizer &tokenizer, const std::string &marker) {
  const std::optional<int32_t> id = tokenizer.token_to_id(marker);
  require(id.has_value(),
          "the checkpoint has a vision tower but its tokenizer has no '" + marker + "' token");
  return *id;
}

void read_weights(const std::string &dir, const std::function<void(int64_t, int64_t)> &progress) {
  std::vector<fs::path> files;
  int64_t total = 0;
  for (const auto &entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".safetensors") {
      files.push_back(entry.path());
      total += int64_t(entry.file_size());
    }
  std::sort(files.begin(), files.end());
  std::vector<char> buffer(8 << 20);
  int64_t done = 0;
  for (const auto &file : files) {
    std::ifstream in(file, std::ios::binary);
    while (in.read(buffer.data(), std::streamsize(buffer.size())) || in.gcount() > 0) {
      done += in.gcount();
      if (progress)
        progress(done, total);
    }
  }
  if (progress)
    progress(total, total);
}

} // namespace

ServedModel::ServedModel(const ServedModelOptions &options,
                         const std::function<void(int64_t, int64_t)> &progress)
    : created_(std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count()),
      tokenizer_(Tokenizer::from_file((fs::path(options.model_dir) / "tokenizer.json").string())) {
  const std::string &dir = options.model_dir;
  name_ = options.served_name.empty() ? fs::path(dir).filename().string() : options.served_name;
  chat_template_ = std::make_unique<chat::ChatTemplate>(chat::ChatTemplate::from_model_dir(dir));
  read_weights(dir, progress);
  model_ = std::make_unique<CpuModel>(load_checkpoint(dir));
  const ModelConfig &config = model_->config();
  require(int64_t(tokenizer_.vocab_size()) <= config.vocab_size,
          "tokenizer has " + std::to_string(tokenizer_.vocab_size()) +
              " tokens but the model only " + std::to_string(config.vocab_size));

  EngineConfig engine;
  engine.max_model_len =
      options.max_model_len > 0
          ? options.max_model_len
          : int32_t(std::min<int64_t>(config.max_position_embeddings, kDefaultContextCap));
  require(engine.max_model_len <= config.max_position_embeddings,
          "--max-model-len " + std::to_string(engine.max_model_len) +
              " exceeds the model's max_position_embeddings " +
              std::to_string(config.max_position_embeddings));
  engine.max_num_seqs = options.max_num_seqs;
  engine.max_batch_tokens = std::max(options.max_batch_tokens, options.max_num_seqs);
  engine.num_pages = options.num_pages;
  engine.enable_prefix_caching = options.enable_prefix_caching;
  engine.sampling_vocab_size = int64_t(tokenizer_.vocab_size()); // padding rows have no text
  engine_ = std::make_unique<Engine>(*model_, engine);

  if (auto end_of_turn = tokenizer_.token_to_id("[e~["))
    stop_token_ids_.push_back(*end_of_turn);

  if (vision::load_vision_config(dir)) {
    vision_tower_ = std::make_unique<vision::VisionTower>(vision::VisionTower::load(dir));
    const vision::VisionConfig &vision = vision_tower_->config();
    media_tokens_.image = marker_id(tokenizer_, "]<]image[>[");
    media_tokens_.video = marker_id(tokenizer_, "]<]video[>[");
    media_tokens_.start_image = marker_id(tokenizer_, "]<]start of image[>[");
    media_tokens_.end_image = marker_id(tokenizer_, "]<]end of image[>[");
    require(media_tokens_.image == vision.image_token_id &&
                media_tokens_.video == vision.video_token_id,
            "the tokenizer's image/video tokens (" + std::to_string(media_tokens_.image) + "/" +
                std::to_string(media_tokens_.video) + ") differ from config.json's (" +
                std::to_string(vision.image_token_id) + "/" +
                std::to_string(vision.video_token_id) + ")");
  }
}

ServedModel::~ServedModel() {
  if (engine_)
    engine_->stop();
}

} // namespace m3::server
