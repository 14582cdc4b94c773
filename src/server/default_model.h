#pragma once
// The embedded default model that `m3 serve` runs without --model: a small MiniMax-M3-shaped
// model (MSA + MoE) with random weights, a byte-level BPE tokenizer with the M3 special tokens
// and the built-in M3 chat template. models/default/ in the repository is its single home:
// config.json and tokenizer.json live there; the weights are generated deterministically from
// the config into a cache directory on first use.
#include <string>

namespace m3::server {

// A model directory (config.json, tokenizer.json, model.safetensors) ready to load. The cache
// is $M3_CACHE_DIR, else $XDG_CACHE_HOME/m3, else ~/.cache/m3; a directory per config hash.
std::string prepare_default_model();

// Writes deterministic random weights for the config in model_dir/config.json into
// model_dir/model.safetensors (float32, text-only tensor names).
void write_random_weights(const std::string &model_dir);

} // namespace m3::server
