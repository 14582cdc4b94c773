// `m3 logits --model DIR --ids FILE --out FILE [--prefill N] [--image FILE]... [--video FILE]...`:
// raw little-endian float32 logits [T, vocab] of every position, from the exact CPU forward.
// Images and videos (a file, or F1,F2,... frame images) fill the ids' placeholder tokens in order.
#include <cstdio>
#include <fstream>

#include "cli/command.h"
#include "core/error.h"
#include "model/minimax_m3.h"
#include "model/sequence_runner.h"
#include "model/token_ids_file.h"
#include "vision/multimodal.h"

namespace m3::cli {
namespace {

int run_logits(const std::vector<std::string> &argv) {
  const Args args(argv, {"--model", "--ids", "--out", "--prefill", "--image", "--video"});
  const std::vector<int32_t> ids = read_token_ids(args.required("--ids"));
  const std::string out_path = args.required("--out");
  const long long prefill = args.get_int("--prefill", 0);
  require(!args.has("--prefill") || (prefill >= 1 && prefill <= (long long)ids.size()),
          "--prefill must be between 1 and the number of ids (" + std::to_string(ids.size()) + ")");
  const std::string model_dir = args.required("--model");
  CpuModel model(load_checkpoint(model_dir));
  validate_token_ids(model.config(), ids);
  const PromptEmbeddings media = vision::media_embeddings_from_files(
      model_dir, ids, args.all("--image"), args.all("--video"));
  SequenceTiming timing;
  const std::vector<float> logits =
      sequence_logits(model, ids, int32_t(prefill), &timing, media.empty() ? nullptr : &media);

  std::ofstream out(out_path, std::ios::binary);
  require(bool(out), "cannot write " + out_path);
  out.write(reinterpret_cast<const char *>(logits.data()), std::streamsize(logits.size() * 4));
  require(bool(out), "failed writing " + out_path);
  std::fprintf(stderr, "wrote %zu x %lld float32 logits to %s\n", ids.size(),
               (long long)model.config().vocab_size, out_path.c_str());
  std::fprintf(stderr, "prefill %d tokens %.3f s (%.1f tok/s)", timing.prefill_tokens,
               timing.prefill_seconds, timing.prefill_tokens / timing.prefill_seconds);
  if (timing.decode_tokens > 0)
    std::fprintf(stderr, ", decode %d tokens %.3f s (%.1f tok/s)", timing.decode_tokens,
                 timing.decode_seconds, timing.decode_tokens / timing.decode_seconds);
  std::fprintf(stderr, "\n");
  return 0;
}

const CommandRegistration kRegistration(
    "logits",
    "float32 logits of every position: --model DIR --ids FILE --out FILE [--prefill N] "
    "[--image FILE]... [--video FILE|F1,F2,...]...",
    run_logits);

} // namespace
} // namespace m3::cli
