// Encode throughput on one core: `bench_tokenizer_encode TOKENIZER_JSON FILE...`.
// Prints MB/s for a cold pass (fresh tokenizer, empty piece cache) and a warm second pass, over
// the thread's CPU time (a shared, busy machine inflates wall time) and over wall time.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

static double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s tokenizer.json file...\n", argv[0]);
    return 2;
  }
  std::vector<std::string> texts;
  size_t bytes = 0;
  for (int i = 2; i < argc; ++i) {
    std::ifstream file(argv[i], std::ios::binary);
    texts.emplace_back(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    bytes += texts.back().size();
  }
  const auto load_start = std::chrono::steady_clock::now();
  const m3::Tokenizer tokenizer = m3::Tokenizer::from_file(argv[1]);
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  std::printf("load: %.3f s, input: %.2f MB in %zu files\n", load_s, bytes / 1e6, texts.size());
  for (const char *pass : {"cold", "warm"}) {
    size_t tokens = 0;
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = thread_cpu_seconds();
    for (const std::string &text : texts)
      tokens += tokenizer.encode(text).size();
    const double cpu = thread_cpu_seconds() - cpu_start;
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %.2f MB/s, %.2f M tokens/s on CPU time (%zu tokens, %.3f s CPU); "
                "%.2f MB/s on wall time\n",
                pass, bytes / 1e6 / cpu, tokens / 1e6 / cpu, tokens, cpu, bytes / 1e6 / wall);
  }
}
