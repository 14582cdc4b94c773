#pragma once
// Starts the real `m3 serve` ($M3_BINARY) on a free port the way a user would, waits until it
// serves, and stops it (SIGTERM, then SIGKILL) at the end. Server logs go to a file. The model is
// the tests' tiny random-weight model (random_model.h) unless the arguments name one, or the
// embedded default model (no --model) when asked for.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "random_model.h"

namespace m3::test_support {

enum class ServedModel { kRandom, kDefault };

class ServerProcess {
public:
  explicit ServerProcess(std::vector<std::string> extra_args = {},
                         ServedModel model = ServedModel::kRandom) {
    static int counter = 0;
    log_path_ = std::filesystem::temp_directory_path() /
                ("m3_serve_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + ".log");
    const char *binary = std::getenv("M3_BINARY");
    if (!binary)
      throw std::runtime_error("M3_BINARY is not set");
    std::vector<std::string> args = {binary, "serve", "--port", "0"};
    if (model == ServedModel::kRandom)
      args.insert(args.end(),
                  {"--model", prepare_random_model(), "--served-model-name", "m3-test"});
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid_ = fork();
    if (pid_ == 0) {
      FILE *log = std::fopen(log_path_.c_str(), "w");
      dup2(fileno(log), 2);
      dup2(fileno(log), 1);
      std::vector<char *> argv;
      for (auto &a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const std::regex serving("serving '([^']+)' .* on http://[0-9.]+:([0-9]+)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch match;
      const std::string text = log();
      if (std::regex_search(text, match, serving)) {
        model_ = match[1];
        port_ = std::stoi(match[2]);
        return;
      }
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("m3 serve exited during startup:\n" + text);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("m3 serve did not start:\n" + log());
  }
  ~ServerProcess() {
    if (pid_ > 0)
      stop(SIGKILL);
    std::filesystem::remove(log_path_);
  }
  ServerProcess(const ServerProcess &) = delete;
  ServerProcess &operator=(const ServerProcess &) = delete;

  int port() const { return port_; }
  const std::string &model() const { return model_; }
  pid_t pid() const { return pid_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const {
    std::ifstream in(log_path_);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  bool running() {
    int status;
    return pid_ > 0 && waitpid(pid_, &status, WNOHANG) == 0;
  }
  // Sends the signal and waits up to timeout; returns the exit status (-1 if killed by a signal
  // or still running, in which case it is killed).
  int stop(int signal_number = SIGTERM, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    if (pid_ <= 0)
      return -1;
    kill(pid_, signal_number);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

private:
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string model_;
};

// Runs a command (sh -c) and returns its exit status and combined output.
inline std::pair<int, std::string> run_command(const std::string &command) {
  std::string output;
  FILE *pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe)
    return {-1, "popen failed"};
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0)
    output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

} // namespace m3::test_support
