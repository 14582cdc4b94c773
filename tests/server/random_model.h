#pragma once
// A tiny random-weight model in the M3 architecture for the server tests: the config of
// tests/server/random_model/ with the shipped model's tokenizer and chat template. Its output is
// noise that rarely ends by itself, which the load, disconnect and batching tests rely on, and it
// is much faster than the trained default model.
#include <string>

namespace m3::test_support {

// A model directory (config.json, tokenizer files, model.safetensors) in the system temp folder,
// one per content hash of its sources; generated on first use. Run from the repository root.
std::string prepare_random_model();

// Writes deterministic random weights for the config in model_dir/config.json into
// model_dir/model.safetensors (float32, text-only tensor names).
void write_random_weights(const std::string &model_dir);

} // namespace m3::test_support
