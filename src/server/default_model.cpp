#include "server/default_model.h"

#include <filesystem>
#include <vector>

#include "core/error.h"

#ifndef M3_DEFAULT_MODEL_SOURCE
#error "M3_DEFAULT_MODEL_SOURCE must name the repository's models/default directory"
#endif

namespace m3::server {
namespace fs = std::filesystem;

std::string default_model_dir() {
  // An installed m3 (`cmake --install`: PREFIX/bin/m3 + PREFIX/share/m3/models/default) must not
  // depend on the checkout it was built from; a build-tree m3 uses the checkout's copy.
  std::vector<fs::path> candidates;
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error)
    candidates.push_back(exe.parent_path().parent_path() / "share/m3/models/default");
  candidates.emplace_back(M3_DEFAULT_MODEL_SOURCE);
  std::string tried;
  for (const fs::path &dir : candidates) {
    if (fs::exists(dir / "config.json"))
      return dir.string();
    tried += (tried.empty() ? "" : ", ") + dir.string();
  }
  fail("the embedded default model is missing (looked in " + tried +
       "); pass --model DIR, reinstall, or restore models/default");
}

} // namespace m3::server
