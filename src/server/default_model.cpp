#include "server/default_model.h"

#include <filesystem>

#include "core/error.h"

#ifndef M3_DEFAULT_MODEL_SOURCE
#error "M3_DEFAULT_MODEL_SOURCE must name the repository's models/default directory"
#endif

namespace m3::server {

std::string default_model_dir() {
  const std::filesystem::path dir = M3_DEFAULT_MODEL_SOURCE;
  require(std::filesystem::exists(dir / "config.json"),
          "the embedded default model is missing (" + dir.string() +
              "); pass --model DIR or restore models/default");
  return dir.string();
}

} // namespace m3::server
