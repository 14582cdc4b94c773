// The server hook: OpenAI chat messages with image parts (data URLs in user, system and tool
// messages) and a templated prompt with one placeholder per part must give exactly the fixture's
// expanded ids and transformers' logits; remote URLs are refused unless allowed, then fetched
// (from a local HTTP server here) with the size limit applied.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "core/error.h"
#include "fixture_files.h"
#include "model/minimax_m3.h"
#include "model/sequence_runner.h"
#include "model/token_ids_file.h"
#include "vision/request_media.h"

namespace m3::vision {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

const fs::path kModel = m3::test::vision_fixtures() / "m3_vl_tiny_release";

std::string data_url(const fs::path &file) {
  return "data:image/png;base64," + m3::test::base64(m3::test::read_bytes(file));
}

ordered_json image_part(const std::string &url) {
  return {{"type", "image_url"}, {"image_url", {{"url", url}}}};
}

TEST(RequestMedia, ChatMessagesGiveTheFixturePromptAndLogits) {
  const auto meta = m3::test::read_json(kModel / "meta.json");
  const std::vector<int32_t> expected_ids = read_token_ids((kModel / "ids.txt").string());
  // The fixture's two images as parts of a system and a tool message (order = prompt order).
  ordered_json messages = ordered_json::array();
  messages.push_back(
      {{"role", "system"},
       {"content", ordered_json::array({{{"type", "text"}, {"text", "look"}},
                                        image_part(data_url(kModel / "image0.png"))})}});
  messages.push_back({{"role", "user"}, {"content", "plain text has no media"}});
  messages.push_back(
      {{"role", "tool"},
       {"content", ordered_json::array({image_part(data_url(kModel / "image1.png"))})}});
  std::vector<MediaInput> media = load_message_media(messages, MediaPolicy{});
  ASSERT_EQ(media.size(), 2u);
  // The video comes as already sampled frames (the fixture has no fps), after the images.
  std::vector<RgbImage> frames;
  for (const auto &f : meta["media"][2]["files"])
    frames.push_back(decode_image(m3::test::read_bytes(kModel / f.get<std::string>())));
  MediaInput video;
  video.kind = MediaKind::kVideo;
  video.patches = preprocess_video(frames);
  media.push_back(std::move(video));

  // What the chat template renders: one placeholder per part, no start/end markers yet.
  const auto &tokens_json = meta["token_ids"];
  MediaTokens tokens;
  tokens.image = tokens_json["image"], tokens.video = tokens_json["video"];
  tokens.start_image = tokens_json["start"], tokens.end_image = tokens_json["end"];
  std::vector<int32_t> collapsed;
  size_t item = 0;
  for (size_t i = 0; i < expected_ids.size();) {
    if (expected_ids[i] != tokens.start_image) {
      collapsed.push_back(expected_ids[i++]);
      continue;
    }
    const auto &m = meta["media"][item++];
    const bool image = m["kind"] == "image";
    const int groups = image ? 1 : m["grid_thw"][0].get<int>();
    const int per_group = image ? m["tokens"].get<int>() : m["tokens_per_group"].get<int>();
    i += size_t(groups) * (per_group + 2); // start + placeholders + end, per group
    collapsed.push_back(image ? tokens.image : tokens.video);
  }
  ASSERT_EQ(std::count(collapsed.begin(), collapsed.end(), tokens.image), 2);
  ASSERT_EQ(std::count(collapsed.begin(), collapsed.end(), tokens.video), 1);

  const VisionTower tower = VisionTower::load(kModel.string());
  const MultimodalPrompt prompt = build_multimodal_prompt(
      collapsed, media, tower, tokens, [](const std::string &) { return std::vector<int32_t>{}; });
  ASSERT_EQ(prompt.ids, expected_ids);

  CpuModel model(load_checkpoint(kModel.string()));
  const std::vector<float> logits =
      sequence_logits(model, prompt.ids, 0, nullptr, &prompt.embeddings);
  const std::vector<float> expected = m3::test::read_floats(kModel / "logits.f32");
  ASSERT_EQ(logits.size(), expected.size());
  const int64_t vocab = model.config().vocab_size;
  for (size_t r = 0; r < expected_ids.size(); ++r) {
    const float *g = &logits[r * vocab], *e = &expected[r * vocab];
    double mean = 0, var = 0, diff = 0;
    for (int64_t i = 0; i < vocab; ++i)
      mean += e[i] / vocab;
    for (int64_t i = 0; i < vocab; ++i) {
      var += (e[i] - mean) * (e[i] - mean) / (vocab - 1);
      diff = std::max(diff, double(std::fabs(g[i] - e[i])));
    }
    ASSERT_LE(diff / std::sqrt(var), 1e-3) << "position " << r;
  }

  // Wrong counts and orders are errors.
  std::vector<MediaInput> fewer(media.begin(), media.end() - 1);
  EXPECT_THROW(build_multimodal_prompt(collapsed, fewer, tower, tokens,
                                       [](const std::string &) { return std::vector<int32_t>{}; }),
               m3::Error);
  std::vector<MediaInput> swapped = {media[2], media[0], media[1]};
  EXPECT_THROW(build_multimodal_prompt(collapsed, swapped, tower, tokens,
                                       [](const std::string &) { return std::vector<int32_t>{}; }),
               m3::Error);
}

TEST(RequestMedia, BadPartsAreErrors) {
  const MediaPolicy policy;
  auto one = [](const std::string &url) {
    return ordered_json::array(
        {{{"role", "user"}, {"content", ordered_json::array({image_part(url)})}}});
  };
  EXPECT_THROW(load_message_media(one("data:image/png;base64,AAAA"), policy), m3::Error);
  EXPECT_THROW(load_message_media(one("data:image/png;base64,@@"), policy), m3::Error);
  EXPECT_THROW(load_message_media(one("ftp://example.com/a.png"), policy), m3::Error);
  try {
    load_message_media(one("https://example.com/a.png"), policy);
    FAIL() << "remote URL accepted";
  } catch (const m3::Error &e) {
    EXPECT_NE(std::string(e.what()).find("remote media URLs are disabled"), std::string::npos);
  }
  MediaPolicy one_image = policy;
  one_image.limits.max_images = 1;
  const std::string url = data_url(kModel / "image0.png");
  ordered_json two = ordered_json::array(
      {{{"role", "user"}, {"content", ordered_json::array({image_part(url), image_part(url)})}}});
  EXPECT_THROW(load_message_media(two, one_image), m3::Error);
}

TEST(RequestMedia, RemoteUrlsAreFetchedWhenAllowed) {
  const std::vector<uint8_t> png = m3::test::read_bytes(kModel / "image0.png");
  httplib::Server server;
  server.Get("/image.png", [&](const httplib::Request &, httplib::Response &res) {
    res.set_content(std::string(png.begin(), png.end()), "image/png");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  MediaPolicy policy;
  policy.allow_remote = true;
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(fetch_media_url(base + "/image.png", policy), png);
  EXPECT_THROW(fetch_media_url(base + "/missing.png", policy), m3::Error);
  policy.limits.max_bytes = png.size() / 2;
  EXPECT_THROW(fetch_media_url(base + "/image.png", policy), m3::Error);
  server.stop();
  thread.join();
}

} // namespace
} // namespace m3::vision
