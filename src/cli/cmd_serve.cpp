// `m3 serve`: the OpenAI-compatible server. Without --model it serves the embedded default model.
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "cli/command.h"
#include "core/error.h"
#include "server/default_model.h"
#include "server/http_server.h"
#include "server/served_model.h"

namespace m3::cli {
namespace {

const char *kHelp = R"(usage: m3 serve [flags]
  --model DIR                 M3 checkpoint directory (config.json, *.safetensors,
                              tokenizer.json, chat template); default: the embedded model
  --served-model-name NAME    name clients use in "model" (default: directory name)
  --host HOST                 listen address (default 127.0.0.1)
  --port PORT                 listen port (default 8000; 0 = any free port)
  --api-key KEY               require "Authorization: Bearer KEY" on /v1/*
  --max-model-len N           tokens per sequence, prompt + output (default min(model, 8192))
  --max-num-seqs N            sequences in the running batch (default 32)
  --max-num-batched-tokens N  tokens per engine step (default 512)
  --num-kv-pages N            KV-cache pages (default: max-num-seqs full-length sequences)
  --enable-prefix-caching     reuse KV pages of shared prompt prefixes (default on)
  --no-enable-prefix-caching  turn prefix caching off
  --reasoning-parser NAME     minimax_m3 (default) or none
  --tool-call-parser NAME     minimax_m3 (default) or none
  --max-waiting-requests N    queued requests before 429 (default 256)
  --max-body-bytes N          request body limit, larger gets 413 (default 8388608)
  --allow-remote-media        fetch http(s) image/video URLs (default: data URLs only)
  --max-images-per-request N  image parts per request (default 32)
  --max-videos-per-request N  video parts per request (default 4)
  --max-media-bytes N         encoded size of one image or video (default 67108864)
  --max-image-pixels N        decoded width x height of one image or video frame (default 2^26)
  --max-video-frames N        frames sampled from one video at most (default 768)
  --http-threads N            HTTP worker threads; each open stream holds one (default 128)
  --shutdown-grace-seconds N  on SIGTERM/SIGINT, time to let requests finish (default 10)
)";

void print_progress(int64_t done, int64_t total) {
  static int last_percent = -1;
  const int percent = total > 0 ? int(done * 100 / total) : 100;
  if (percent == last_percent)
    return;
  last_percent = percent;
  const int width = 30, filled = percent * width / 100;
  std::fprintf(stderr, "\rm3 serve: loading weights [%s%s] %3d%% (%.1f/%.1f MB)",
               std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), percent,
               done / 1e6, total / 1e6);
  if (percent == 100)
    std::fprintf(stderr, "\n");
}

std::string parser_flag(const Args &args, const std::string &flag) {
  const std::string value = args.get(flag).value_or("minimax_m3");
  require(value == "minimax_m3" || value == "none",
          flag + " must be minimax_m3 or none, got '" + value + "'");
  return value;
}

int positive_int(const Args &args, const std::string &flag, long long fallback, long long min = 1) {
  const long long value = args.get_int(flag, fallback);
  require(value >= min && value <= 1 << 30, flag + " must be between " + std::to_string(min) +
                                                " and 2^30, got " + std::to_string(value));
  return int(value);
}

int serve(const std::vector<std::string> &argv) {
  for (const auto &arg : argv)
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
  Args args(argv,
            {"--model",
             "--served-model-name",
             "--host",
             "--port",
             "--api-key",
             "--max-model-len",
             "--max-num-seqs",
             "--max-num-batched-tokens",
             "--num-kv-pages",
             "--reasoning-parser",
             "--tool-call-parser",
             "--max-waiting-requests",
             "--max-body-bytes",
             "--http-threads",
             "--shutdown-grace-seconds",
             "--max-images-per-request",
             "--max-videos-per-request",
             "--max-media-bytes",
             "--max-image-pixels",
             "--max-video-frames"},
            {"--enable-prefix-caching", "--no-enable-prefix-caching", "--allow-remote-media"});
  const std::string reasoning = parser_flag(args, "--reasoning-parser");
  const std::string tools = parser_flag(args, "--tool-call-parser");
  require(tools == "none" || reasoning == "minimax_m3",
          "--tool-call-parser minimax_m3 needs --reasoning-parser minimax_m3");
  require(!(args.has("--enable-prefix-caching") && args.has("--no-enable-prefix-caching")),
          "--enable-prefix-caching and --no-enable-prefix-caching contradict each other");

  server::ServedModelOptions model_options;
  if (auto dir = args.get("--model")) {
    model_options.model_dir = *dir;
  } else {
    model_options.model_dir = server::default_model_dir();
    model_options.served_name = "m3-default";
  }
  if (auto name = args.get("--served-model-name"))
    model_options.served_name = *name;
  model_options.max_model_len = positive_int(args, "--max-model-len", 0, 0);
  model_options.max_num_seqs = positive_int(args, "--max-num-seqs", 32);
  model_options.max_batch_tokens = positive_int(args, "--max-num-batched-tokens", 512);
  model_options.num_pages = positive_int(args, "--num-kv-pages", 0, 0);
  model_options.enable_prefix_caching = !args.has("--no-enable-prefix-caching");

  server::HttpOptions http_options;
  http_options.host = args.get("--host").value_or("127.0.0.1");
  http_options.port = positive_int(args, "--port", 8000, 0);
  require(http_options.port <= 65535, "--port must be at most 65535");
  http_options.api_key = args.get("--api-key").value_or("");
  http_options.max_body_bytes = size_t(positive_int(args, "--max-body-bytes", 8 << 20));
  http_options.threads = positive_int(args, "--http-threads", 128);
  const int grace_seconds = positive_int(args, "--shutdown-grace-seconds", 10, 0);

  // Signals go to one waiting thread (blocked everywhere else); a closed client must not kill
  // the process through SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::fprintf(stderr, "m3 serve: model %s\n", model_options.model_dir.c_str());
  server::ServedModel model(model_options, print_progress);
  server::ServerContext ctx{model};
  ctx.policy.allow_remote_images = args.has("--allow-remote-media");
  ctx.media.allow_remote = ctx.policy.allow_remote_images;
  vision::MediaLimits &limits = ctx.media.limits;
  limits.max_images = positive_int(args, "--max-images-per-request", limits.max_images, 0);
  limits.max_videos = positive_int(args, "--max-videos-per-request", limits.max_videos, 0);
  limits.max_bytes = size_t(positive_int(args, "--max-media-bytes", int(limits.max_bytes)));
  limits.max_pixels = positive_int(args, "--max-image-pixels", limits.max_pixels);
  ctx.media.max_video_frames =
      positive_int(args, "--max-video-frames", ctx.media.max_video_frames, 2);
  ctx.reasoning_parser = reasoning == "minimax_m3";
  ctx.tool_call_parser = tools == "minimax_m3";
  ctx.max_waiting_requests = positive_int(args, "--max-waiting-requests", 256);
  server::HttpServer http(ctx, http_options);
  const int port = http.bind();

  std::thread signal_waiter([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    std::fprintf(stderr, "m3 serve: %s received, draining (up to %d s)\n",
                 signal_number == SIGTERM ? "SIGTERM" : "SIGINT", grace_seconds);
    ctx.draining = true;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      EngineStats stats = model.engine().stats();
      if (stats.num_running == 0 && stats.num_waiting == 0)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    model.engine().stop(); // cancels whatever is still in flight
    http.stop();
  });
  std::fprintf(stderr, "m3 serve: serving '%s' from %s (max_model_len %d) on http://%s:%d\n",
               model.name().c_str(), model_options.model_dir.c_str(), model.max_model_len(),
               http_options.host.c_str(), port);
  http.serve();
  // serve() also returns if listening fails; wake the waiter so it can finish (no-op after a
  // real signal, which it has already taken).
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  std::fprintf(stderr, "m3 serve: stopped\n");
  return 0;
}

CommandRegistration registration("serve", "OpenAI-compatible HTTP server (default: embedded model)",
                                 serve);

} // namespace
} // namespace m3::cli
