#pragma once
// Helpers for the chat tests that compare with Python Jinja2 via tests/chat/render_oracle.py.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace m3::chat_test {

inline std::string read_text(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_text(const std::filesystem::path &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Runs render_oracle.py with `arguments` (everything but --out); returns its JSON lines, or an
// empty list after printing the command when it fails.
inline std::vector<nlohmann::ordered_json> run_oracle(const std::string &arguments) {
  static int calls = 0;
  auto out = std::filesystem::temp_directory_path() /
             ("m3_oracle_" + std::to_string(::getpid()) + "_" + std::to_string(calls++) + ".jsonl");
  std::string command =
      "python3 tests/chat/render_oracle.py " + arguments + " --out '" + out.string() + "'";
  std::vector<nlohmann::ordered_json> records;
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "oracle failed: %s\n", command.c_str());
    return records;
  }
  std::istringstream lines(read_text(out));
  std::filesystem::remove(out);
  for (std::string line; std::getline(lines, line);)
    records.push_back(nlohmann::ordered_json::parse(line));
  return records;
}

} // namespace m3::chat_test
