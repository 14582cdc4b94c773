// `m3 generate --model DIR --ids FILE --max-tokens N --temperature 0 [--ignore-eos]
// [--image FILE]... [--video FILE]...`: greedy continuation (prompt once, then one token per
// step); prints the generated ids. Images and videos fill the ids' placeholder tokens in order.
#include <cstdio>

#include "cli/command.h"
#include "core/error.h"
#include "model/minimax_m3.h"
#include "model/sequence_runner.h"
#include "model/token_ids_file.h"
#include "vision/multimodal.h"

namespace m3::cli {
namespace {

int run_generate(const std::vector<std::string> &argv) {
  const Args args(argv, {"--model", "--ids", "--max-tokens", "--temperature", "--image", "--video"},
                  {"--ignore-eos"});
  const std::vector<int32_t> prompt = read_token_ids(args.required("--ids"));
  const long long max_tokens = args.get_int("--max-tokens", -1);
  require(max_tokens >= 1, "--max-tokens N (N >= 1) is required");
  require(args.get_double("--temperature", 0.0) == 0.0,
          "only greedy decoding (--temperature 0) is supported by the CPU reference");
  const std::string model_dir = args.required("--model");
  CpuModel model(load_checkpoint(model_dir));
  validate_token_ids(model.config(), prompt);
  const PromptEmbeddings media = vision::media_embeddings_from_files(
      model_dir, prompt, args.all("--image"), args.all("--video"));
  const std::vector<int32_t> generated =
      greedy_generate(model, prompt, int32_t(max_tokens), !args.has("--ignore-eos"),
                      media.empty() ? nullptr : &media);
  for (size_t i = 0; i < generated.size(); ++i)
    std::printf("%s%d", i ? " " : "", generated[i]);
  std::printf("\n");
  return 0;
}

const CommandRegistration kRegistration(
    "generate",
    "greedy continuation ids: --model DIR --ids FILE --max-tokens N --temperature 0 "
    "[--ignore-eos] [--image FILE]... [--video FILE|F1,F2,...]...",
    run_generate);

} // namespace
} // namespace m3::cli
