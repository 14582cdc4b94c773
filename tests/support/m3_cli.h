#pragma once
// Runs the built `m3` binary ($M3_BINARY, set by m3_test) the way a user would, capturing stdout,
// stderr and the exit code.
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace m3::test_support {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string read_file_text(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh directory under the system temp folder, removed with its contents on destruction.
class ScratchDir {
public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("m3_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir &) = delete;
  ScratchDir &operator=(const ScratchDir &) = delete;
  const std::filesystem::path &path() const { return path_; }
  // Writes text to a file in the directory and returns its path.
  std::filesystem::path write(const std::string &name, const std::string &text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return path_ / name;
  }

private:
  std::filesystem::path path_;
};

// `m3 <arguments>`; arguments are passed through the shell as written.
inline CliResult run_m3(const std::string &arguments) {
  const char *binary = std::getenv("M3_BINARY");
  const ScratchDir capture;
  const auto out = capture.path() / "out", err = capture.path() / "err";
  const std::string command = std::string("'") + (binary ? binary : "build/m3") + "' " + arguments +
                              " >'" + out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(command.c_str());
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_file_text(out);
  result.err = read_file_text(err);
  return result;
}

} // namespace m3::test_support
