// Output-parser throughput (bench/RESULTS.md): a long M3 turn (reasoning, prose, a tool-call block
// with nested arguments and a large string argument) parsed in token-sized pieces, as the server
// streams it, and in one piece. Usage: bench_parse_output [megabytes, default 8]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/markers.h"
#include "chat/output_parser.h"

namespace {

using m3::chat::kToolNamespace;

std::string make_turn(size_t target_bytes, std::mt19937 &rng) {
  const std::string t(kToolNamespace);
  auto words = [&](size_t bytes) {
    static const char *kWords[] = {"the ", "model ", "calls ", "a < b ", "&& ",
                                   "]",    "\n",     "数据 ",  "🙂 ",  "value "};
    std::string out;
    while (out.size() < bytes)
      out += kWords[rng() % 10];
    return out;
  };
  std::string turn = "<mm:think>" + words(target_bytes / 8) + "</mm:think>" +
                     words(target_bytes / 8) + t + "<tool_call>\n";
  while (turn.size() < target_bytes) {
    turn += t + "<invoke name=\"edit\">" + t + "<path>src/main.cpp" + t + "</path>" + t +
            "<lines>" + t + "<item>" + std::to_string(rng() % 1000) + t + "</item>" + t + "<item>" +
            std::to_string(rng() % 1000) + t + "</item>" + t + "</lines>" + t + "<opts>" + t +
            "<dry_run>false" + t + "</dry_run>" + t + "</opts>" + t + "<content>" +
            words(target_bytes / 16) + t + "</content>" + t + "</invoke>\n";
  }
  return turn + t + "</tool_call>";
}

} // namespace

int main(int argc, char **argv) {
  size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 8;
  std::mt19937 rng(std::random_device{}());
  std::string turn = make_turn(megabytes << 20, rng);
  nlohmann::json tools = nlohmann::json::parse(R"([{"type": "function", "function": {
    "name": "edit", "parameters": {"type": "object", "properties": {
      "path": {"type": "string"}, "content": {"type": "string"},
      "lines": {"type": "array", "items": {"type": "integer"}},
      "opts": {"type": "object", "properties": {"dry_run": {"type": "boolean"}}}}}}}])");
  auto seconds_since = [](auto start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  for (size_t piece : {4, 1 << 30}) {
    auto start = std::chrono::steady_clock::now();
    m3::chat::OutputParser parser(m3::chat::ThinkingMode::kAdaptive, tools);
    for (size_t at = 0; at < turn.size(); at += piece)
      parser.feed(std::string_view(turn).substr(at, piece));
    parser.finish();
    double seconds = seconds_since(start);
    std::printf("%-18s %8.1f MB in %7.3f s = %7.1f MB/s (%zu calls)\n",
                piece == 4 ? "4-byte pieces" : "one piece", turn.size() / 1e6, seconds,
                turn.size() / 1e6 / seconds, parser.parsed().tool_calls.size());
  }
}
