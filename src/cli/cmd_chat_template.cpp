// `m3 chat-template (--template FILE | --model DIR) --request FILE`: prints the prompt the chat
// template renders for an OpenAI chat request, byte-exact (no trailing newline added).
#include <cstdio>
#include <fstream>
#include <sstream>

#include "chat/chat_template.h"
#include "cli/command.h"
#include "core/error.h"

namespace {

std::string read_text(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  m3::require(in.good(), "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int run_chat_template(const std::vector<std::string> &argv) {
  m3::cli::Args args(argv, {"--template", "--model", "--request"});
  auto template_file = args.get("--template");
  auto model_dir = args.get("--model");
  m3::require(template_file.has_value() != model_dir.has_value(),
              "give exactly one of --template FILE or --model DIR");
  nlohmann::ordered_json request;
  std::string request_path = args.required("--request");
  try {
    request = nlohmann::ordered_json::parse(read_text(request_path));
  } catch (const nlohmann::ordered_json::parse_error &e) {
    m3::fail(request_path + " is not valid JSON: " + e.what());
  }
  m3::chat::ChatTemplate chat_template = template_file
                                             ? m3::chat::ChatTemplate(read_text(*template_file))
                                             : m3::chat::ChatTemplate::from_model_dir(*model_dir);
  std::string prompt = chat_template.render(request);
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  return 0;
}

const m3::cli::CommandRegistration
    kRegistration("chat-template", "render a chat request with a model's chat template",
                  run_chat_template);

} // namespace
