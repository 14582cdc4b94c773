#pragma once
// The embedded default model that `m3 serve` runs without --model: models/default in the
// repository, a small MiniMax-M3-architecture model (MSA + MoE + a small vision tower) trained by
// scripts/demo_model/ and stored as MXFP8 (see models/default/README.md).
#include <string>

namespace m3::server {

// The model directory; a clear error when the checkout lacks it.
std::string default_model_dir();

} // namespace m3::server
