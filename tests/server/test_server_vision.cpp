// Images and videos through the real `m3 serve` on the tiny VL fixture (tests/fixtures/vision,
// transformers 5.17 references). The model directory gets a generated tokenizer in which "<N>"
// is token N (so a prompt spells the fixture's ids exactly), "]<]image[>[" / "]<]video[>[" are the
// fixture's placeholder ids, printable ASCII is one token per byte (video timestamps), and a chat
// template that only concatenates the message parts. Checked: the served first-token logprobs
// against transformers' logits, the served greedy ids against `m3 generate --image/--video` (the
// CLI runs the prompt in one step, the server in 7-row chunks that split the images), the prefix
// cache keyed on the image content, limits and corrupt media as 400s with the server staying up.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "../vision/corrupt_media.h"
#include "../vision/fixture_files.h"
#include "../vision/video_writer.h"
#include "server_process.h"

namespace m3::test_support {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

const fs::path kFixture = fs::absolute(m3::test::vision_fixtures() / "m3_vl_tiny_release");
constexpr int kVocab = 512, kStart = 3, kEnd = 4, kImage = 510, kVideo = 511;
constexpr int kPrintableId = 256; // byte b (0x20..0x7e) is token kPrintableId + b

std::string token_text(int id) {
  switch (id) {
  case kStart:
    return "]<]start of image[>[";
  case kEnd:
    return "]<]end of image[>[";
  case kImage:
    return "]<]image[>[";
  case kVideo:
    return "]<]video[>[";
  }
  return "<" + std::to_string(id) + ">";
}

// Byte-level BPE without merges over printable ASCII (space is GPT-2's "Ġ"), with every id also
// an added token spelled token_text(id) (added tokens win when decoding).
json tokenizer_json() {
  json vocab = json::object();
  for (int b = 0x20; b < 0x7f; ++b)
    vocab[b == ' ' ? "\xc4\xa0" : std::string(1, char(b))] = kPrintableId + b;
  json added = json::array();
  for (int id = 0; id < kVocab; ++id)
    added.push_back({{"id", id},
                     {"content", token_text(id)},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  const json byte_level = {{"type", "ByteLevel"},
                           {"add_prefix_space", false},
                           {"trim_offsets", true},
                           {"use_regex", true}};
  return {{"version", "1.0"},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", byte_level},
          {"post_processor", nullptr},
          {"decoder", byte_level},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", vocab},
            {"merges", json::array()}}}};
}

const char *kTemplate =
    "{%- for m in messages -%}{%- if m.content is string -%}{{ m.content }}{%- else -%}"
    "{%- for p in m.content -%}{%- if p.type == 'text' -%}{{ p.text }}"
    "{%- elif p.type == 'image' -%}]<]image[>[{%- elif p.type == 'video' -%}]<]video[>["
    "{%- endif -%}{%- endfor -%}{%- endif -%}{%- endfor -%}";

void write_text(const fs::path &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The fixture's weights under the generated tokenizer and template; without_vision drops
// vision_config (a text-only model over the same text weights).
fs::path model_dir(const std::string &name, bool without_vision = false) {
  const fs::path dir =
      fs::temp_directory_path() / ("m3_vision_serve_" + std::to_string(getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::create_symlink(kFixture / "model.safetensors", dir / "model.safetensors");
  json config = json::parse(m3::test::read_bytes(kFixture / "config.json"));
  if (without_vision)
    config.erase("vision_config");
  write_text(dir / "config.json", config.dump(2));
  write_text(dir / "tokenizer.json", tokenizer_json().dump());
  write_text(dir / "chat_template.jinja", kTemplate);
  return dir;
}

std::string spell(const std::vector<int32_t> &ids) {
  std::string text;
  for (int32_t id : ids)
    text += token_text(id);
  return text;
}

std::vector<int32_t> ascii_ids(const std::string &text) {
  std::vector<int32_t> ids;
  for (char c : text)
    ids.push_back(kPrintableId + c);
  return ids;
}

std::string data_url(const std::string &mime, const std::vector<uint8_t> &bytes) {
  return "data:" + mime + ";base64," + m3::test::base64(bytes);
}

std::string png_url(const std::string &file) {
  return data_url("image/png", m3::test::read_bytes(kFixture / file));
}

json text_part(const std::string &text) { return {{"type", "text"}, {"text", text}}; }
json image_part(const std::string &url) {
  return {{"type", "image_url"}, {"image_url", {{"url", url}}}};
}
json video_part(const std::string &url) {
  return {{"type", "video_url"}, {"video_url", {{"url", url}}}};
}

std::vector<int32_t> fixture_ids() {
  std::ifstream in(kFixture / "ids.txt");
  std::vector<int32_t> ids;
  for (int32_t id; in >> id;)
    ids.push_back(id);
  return ids;
}

struct Served {
  int status = 0;
  json body;
  std::vector<int32_t> tokens; // generated ids, from the logprobs entries
};

class ServerVision : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(model_dir("vl"));
    // 7-row steps: the 12 + 2 rows of the first image span three prefill chunks.
    server_ = new ServerProcess({"--model", dir_->string(), "--max-num-batched-tokens", "7",
                                 "--max-num-seqs", "2", "--max-images-per-request", "3"},
                                ServedModel::kDefault);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    fs::remove_all(*dir_);
    delete dir_;
  }
  static ServerProcess *server_;
  static fs::path *dir_;

  static Served chat(const ServerProcess &server, const json &content, int max_tokens = 8) {
    const json body = {
        {"model", server.model()},  {"messages", {{{"role", "user"}, {"content", content}}}},
        {"max_tokens", max_tokens}, {"temperature", 0},
        {"ignore_eos", true},       {"logprobs", true},
        {"top_logprobs", 5}};
    httplib::Client client("127.0.0.1", server.port());
    client.set_read_timeout(300);
    auto res = client.Post("/v1/chat/completions", body.dump(), "application/json");
    Served out;
    if (!res)
      return out;
    out.status = res->status;
    out.body = json::parse(res->body, nullptr, false);
    if (out.status == 200)
      for (const auto &entry : out.body["choices"][0]["logprobs"]["content"])
        out.tokens.push_back(token_id(entry["token"].get<std::string>()));
    return out;
  }
  static int32_t token_id(const std::string &text) {
    std::smatch match;
    static const std::regex number("<([0-9]+)>");
    if (std::regex_match(text, match, number))
      return std::stoi(match[1]);
    for (int id : {kStart, kEnd, kImage, kVideo})
      if (text == token_text(id))
        return id;
    return -1;
  }
  // `m3 generate` on the expanded ids with the same media files.
  static std::vector<int32_t> cli_greedy(const std::vector<int32_t> &ids, const std::string &media,
                                         int max_tokens = 8) {
    const fs::path ids_file =
        fs::temp_directory_path() / ("m3_vision_serve_ids_" + std::to_string(getpid()) + ".txt");
    std::ofstream(ids_file) << spell_numbers(ids);
    const std::string command = std::string(std::getenv("M3_BINARY")) + " generate --model " +
                                dir_->string() + " --ids " + ids_file.string() +
                                " --temperature 0 --ignore-eos --max-tokens " +
                                std::to_string(max_tokens) + " " + media;
    auto [status, output] = run_command(command);
    fs::remove(ids_file);
    EXPECT_EQ(status, 0) << command << "\n" << output;
    std::vector<int32_t> out;
    std::istringstream in(output);
    for (int32_t id; in >> id;)
      out.push_back(id);
    return out;
  }
  static std::string spell_numbers(const std::vector<int32_t> &ids) {
    std::string text;
    for (int32_t id : ids)
      text += std::to_string(id) + " ";
    return text;
  }
};
ServerProcess *ServerVision::server_ = nullptr;
fs::path *ServerVision::dir_ = nullptr;

TEST_F(ServerVision, ImagesMatchTransformersAndTheCli) {
  // The fixture prompt up to its video: text, image0 (12 tokens), text, image1 (8 tokens), text.
  const std::vector<int32_t> ids = fixture_ids();
  const size_t video_at = size_t(std::find(ids.begin(), ids.end(), kVideo) - ids.begin()) - 1;
  const std::vector<int32_t> prefix(ids.begin(), ids.begin() + video_at);
  json content = json::array();
  std::vector<int32_t> text;
  int image = 0;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] == kStart) {
      content.push_back(text_part(spell(text)));
      text.clear();
      content.push_back(image_part(png_url("image" + std::to_string(image++) + ".png")));
      while (prefix[i] != kEnd)
        ++i;
      continue;
    }
    text.push_back(prefix[i]);
  }
  content.push_back(text_part(spell(text)));
  ASSERT_EQ(image, 2);

  const Served served = chat(*server_, content);
  ASSERT_EQ(served.status, 200) << served.body.dump();
  EXPECT_EQ(served.body["usage"]["prompt_tokens"], int(prefix.size()))
      << "usage counts the expanded image tokens";

  // First token: transformers' logits at the last prompt position (causal: the later video of
  // the fixture prompt does not change them).
  const std::vector<float> logits = m3::test::read_floats(kFixture / "logits.f32");
  const float *row = &logits[(prefix.size() - 1) * kVocab];
  double max = row[0], mean = 0, sq = 0, sum = 0;
  for (int v = 0; v < kVocab; ++v) {
    max = std::max<double>(max, row[v]);
    mean += row[v] / kVocab;
  }
  for (int v = 0; v < kVocab; ++v) {
    sum += std::exp(row[v] - max);
    sq += (row[v] - mean) * (row[v] - mean) / kVocab;
  }
  const double log_z = max + std::log(sum), tolerance = 2e-3 * std::sqrt(sq);
  const json &first = served.body["choices"][0]["logprobs"]["content"][0];
  ASSERT_EQ(first["top_logprobs"].size(), 5u);
  const int argmax = int(std::max_element(row, row + kVocab) - row);
  EXPECT_EQ(served.tokens.at(0), argmax);
  for (const auto &alt : first["top_logprobs"]) {
    const int id = token_id(alt["token"]);
    ASSERT_GE(id, 0) << alt.dump();
    EXPECT_NEAR(alt["logprob"].get<double>(), row[id] - log_z, tolerance) << "token " << id;
  }

  const std::string media = "--image " + (kFixture / "image0.png").string() + " --image " +
                            (kFixture / "image1.png").string();
  EXPECT_EQ(served.tokens, cli_greedy(prefix, media));
}

TEST_F(ServerVision, PrefixCacheIsKeyedOnTheImage) {
  // Two 56x84 pictures (6 tokens each) behind the same ids; KV pages hold 16 tokens.
  std::mt19937 rng(std::random_device{}());
  std::vector<int32_t> before(20), after(30);
  for (auto *run : {&before, &after})
    for (auto &id : *run)
      id = int32_t(5 + rng() % 500);
  auto content = [&](const std::string &image) {
    return json::array(
        {text_part(spell(before)), image_part(png_url(image)), text_part(spell(after))});
  };
  const Served a = chat(*server_, content("video0_f0.png"), 4);
  const Served b = chat(*server_, content("video0_f1.png"), 4);
  const Served again = chat(*server_, content("video0_f0.png"), 4);
  ASSERT_EQ(a.status, 200) << a.body.dump();
  ASSERT_EQ(b.status, 200) << b.body.dump();
  ASSERT_EQ(again.status, 200) << again.body.dump();
  const int prompt = 20 + 8 + 30;
  EXPECT_EQ(a.body["usage"]["prompt_tokens"], prompt);
  // Only the page before the image may be shared by different pictures.
  EXPECT_EQ(b.body["usage"]["prompt_tokens_details"]["cached_tokens"], 16);
  EXPECT_NE(a.body["choices"][0]["logprobs"]["content"][0]["top_logprobs"],
            b.body["choices"][0]["logprobs"]["content"][0]["top_logprobs"])
      << "a different image must change the logits";
  EXPECT_EQ(again.body["usage"]["prompt_tokens_details"]["cached_tokens"], (prompt - 1) / 16 * 16);
  EXPECT_EQ(again.tokens, a.tokens);
  EXPECT_EQ(again.body["choices"][0]["logprobs"], a.body["choices"][0]["logprobs"]);
}

TEST_F(ServerVision, VideoMatchesTheCli) {
  const fs::path video =
      fs::temp_directory_path() / ("m3_vision_serve_" + std::to_string(getpid()) + ".mp4");
  ASSERT_TRUE(m3::test::write_video(video.string(), "mpeg4"));
  const std::vector<uint8_t> bytes = m3::test::read_bytes(video);
  std::mt19937 rng(std::random_device{}());
  std::vector<int32_t> before(9), after(5);
  for (auto *run : {&before, &after})
    for (auto &id : *run)
      id = int32_t(5 + rng() % 500);
  const json content =
      json::array({text_part(spell(before)), video_part(data_url("video/mp4", bytes)),
                   text_part(spell(after))});
  const Served served = chat(*server_, content);
  ASSERT_EQ(served.status, 200) << served.body.dump();

  // 4 s at 4 fps sampled at 1 fps: frames 0, 5, 10, 15 -> two temporal groups starting at 0.0 s
  // and 2.5 s; 96x64 frames resize to 84x56 -> 6 merged tokens per group.
  std::vector<int32_t> ids = before;
  for (const char *stamp : {"]<]0.0 seconds[>[", "]<]2.5 seconds[>["}) {
    const std::vector<int32_t> text = ascii_ids(stamp);
    ids.insert(ids.end(), text.begin(), text.end());
    ids.push_back(kStart);
    ids.insert(ids.end(), 6, kVideo);
    ids.push_back(kEnd);
  }
  ids.insert(ids.end(), after.begin(), after.end());
  EXPECT_EQ(served.body["usage"]["prompt_tokens"], int(ids.size()));
  EXPECT_EQ(served.tokens, cli_greedy(ids, "--video " + video.string()));
  fs::remove(video);
}

TEST_F(ServerVision, LimitsAndBadMediaAre400s) {
  auto expect_400 = [&](const json &content, const std::string &message_part) {
    const Served served = chat(*server_, content, 1);
    EXPECT_EQ(served.status, 400) << served.body.dump();
    const std::string message = served.body["error"]["message"];
    EXPECT_NE(message.find(message_part), std::string::npos) << message;
  };
  const std::string image = png_url("image1.png");
  expect_400(
      json::array({image_part(image), image_part(image), image_part(image), image_part(image)}),
      "too many images");
  expect_400(json::array({image_part("http://127.0.0.1:1/cat.png")}),
             "remote media URLs are not allowed");
  expect_400(json::array({image_part(image), text_part("]<]image[>[")}), "placeholders");
  // Media in a system message are accepted like in user and tool messages.
  const json body = {{"model", server_->model()},
                     {"messages",
                      {{{"role", "system"}, {"content", json::array({image_part(image)})}},
                       {{"role", "user"}, {"content", "<7><8>"}}}},
                     {"max_tokens", 1}};
  httplib::Client client("127.0.0.1", server_->port());
  auto res = client.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST(ServerVisionLimits, BytesPixelsAndVideoCountFlags) {
  const fs::path dir = model_dir("limits");
  {
    ServerProcess server({"--model", dir.string(), "--max-media-bytes", "20000",
                          "--max-image-pixels", "5000", "--max-videos-per-request", "0"},
                         ServedModel::kDefault);
    auto status_of = [&](const json &part, const std::string &message_part) {
      const json body = {{"model", server.model()},
                         {"messages", {{{"role", "user"}, {"content", json::array({part})}}}},
                         {"max_tokens", 1}};
      httplib::Client client("127.0.0.1", server.port());
      auto res = client.Post("/v1/chat/completions", body.dump(), "application/json");
      if (!res)
        return 0;
      EXPECT_NE(res->body.find(message_part), std::string::npos) << res->body;
      return res->status;
    };
    // 12 KB, 84x56 = 4704 pixels: inside both limits.
    EXPECT_EQ(status_of(image_part(png_url("video0_f0.png")), "chat.completion"), 200);
    // 24 KB: over the byte limit; 18 KB but 100x70 = 7000 pixels: over the pixel limit.
    EXPECT_EQ(status_of(image_part(png_url("image0.png")), "over the limit of 20000 bytes"), 400);
    EXPECT_EQ(status_of(image_part(png_url("image1.png")), "over the limit"), 400);
    EXPECT_EQ(status_of(video_part(data_url("video/mp4", {0, 0, 0, 0, 'f', 't', 'y', 'p'})),
                        "too many videos"),
              400);
    EXPECT_TRUE(server.running());
  }
  fs::remove_all(dir);
}

// Damaged PNG / JPEG / GIF / WebP / MP4 data URLs (corrupt_media.h): every answer is a 200 (the
// damage still decodes) or a 400, and the server keeps serving.
TEST_F(ServerVision, CorruptMediaNeverCrashTheServer) {
  const fs::path preprocess = m3::test::vision_fixtures() / "preprocess";
  const fs::path video =
      fs::temp_directory_path() / ("m3_vision_fuzz_" + std::to_string(getpid()) + ".mp4");
  ASSERT_TRUE(m3::test::write_video(video.string(), "mpeg4"));
  const std::vector<std::pair<std::string, std::vector<uint8_t>>> sources = {
      {"image/png", m3::test::read_bytes(kFixture / "image1.png")},
      {"image/jpeg", m3::test::read_bytes(preprocess / "decode.jpg")},
      {"image/gif", m3::test::read_bytes(preprocess / "decode.anim.gif")},
      {"image/webp", m3::test::read_bytes(preprocess / "decode.lossless.webp")},
      {"video/mp4", m3::test::read_bytes(video)}};
  fs::remove(video);
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  int rejected = 0;
  for (const auto &[mime, bytes] : sources) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      const bool is_video = mime.rfind("video/", 0) == 0;
      const std::string url = data_url(mime, m3::test::corrupt_copy(bytes, rng));
      const Served served =
          chat(*server_, json::array({is_video ? video_part(url) : image_part(url)}), 1);
      ASSERT_TRUE(served.status == 200 || served.status == 400)
          << mime << " seed " << seed << " attempt " << attempt << ": status " << served.status
          << " " << served.body.dump();
      rejected += served.status == 400;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_TRUE(server_->running());
  httplib::Client client("127.0.0.1", server_->port());
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST(ServerVisionTextOnly, ImagesAreRefusedByAModelWithoutVisionTower) {
  const fs::path dir = model_dir("text", /*without_vision=*/true);
  {
    ServerProcess server({"--model", dir.string()}, ServedModel::kDefault);
    const json body = {
        {"model", server.model()},
        {"messages",
         {{{"role", "user"}, {"content", json::array({image_part(png_url("image1.png"))})}}}},
        {"max_tokens", 1}};
    httplib::Client client("127.0.0.1", server.port());
    auto res = client.Post("/v1/chat/completions", body.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << res->body;
    EXPECT_NE(res->body.find("this model does not accept images"), std::string::npos) << res->body;
  }
  fs::remove_all(dir);
}

// The embedded default model has a small vision tower: an image and a video request are answered
// with plain text, and the media add their expanded tokens to the prompt count.
TEST(ServerVisionDefaultModel, AnswersAnImageAndAVideoRequest) {
  const ServerProcess server({}, ServedModel::kDefault);
  auto ask = [&](const json &content) {
    const json body = {{"model", server.model()},
                       {"messages", {{{"role", "user"}, {"content", content}}}},
                       {"max_tokens", 40},
                       {"temperature", 0}};
    httplib::Client client("127.0.0.1", server.port());
    client.set_read_timeout(300);
    auto res = client.Post("/v1/chat/completions", body.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
    return res && res->status == 200 ? json::parse(res->body) : json::object();
  };
  const json text = ask("Describe the image.");
  const json image =
      ask(json::array({image_part(png_url("image0.png")), text_part("Describe the image.")}));
  const fs::path video =
      fs::temp_directory_path() / ("m3_vision_default_" + std::to_string(getpid()) + ".mp4");
  ASSERT_TRUE(m3::test::write_video(video.string(), "mpeg4"));
  const json clip = ask(json::array({video_part(data_url("video/mp4", m3::test::read_bytes(video))),
                                     text_part("Describe the video.")}));
  fs::remove(video);
  for (const json *answer : {&image, &clip}) {
    ASSERT_TRUE(answer->contains("choices"));
    const std::string content = (*answer)["choices"][0]["message"]["content"];
    EXPECT_FALSE(content.empty());
    EXPECT_EQ(content.find("]<]"), std::string::npos) << content;
    EXPECT_EQ((*answer)["choices"][0]["finish_reason"], "stop") << answer->dump();
  }
  // 84x112 -> 6x8 patches -> 12 tokens, plus the start and end markers.
  EXPECT_EQ(image["usage"]["prompt_tokens"].get<int>(),
            text["usage"]["prompt_tokens"].get<int>() + 14);
  EXPECT_GT(clip["usage"]["prompt_tokens"].get<int>(),
            text["usage"]["prompt_tokens"].get<int>() + 12);
}

} // namespace
} // namespace m3::test_support
