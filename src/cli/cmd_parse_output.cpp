// `m3 parse-output --request FILE --text FILE`: splits raw model output (the text after the
// generation prompt) into content, reasoning_content and tool_calls, using the request's tools and
// chat_template_kwargs.thinking_mode (default adaptive); tool_choice "none" leaves tool-call
// markup in content. Prints one JSON object.
#include <cstdio>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "chat/output_parser.h"
#include "cli/command.h"
#include "core/error.h"

namespace m3::cli {
namespace {

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "cannot open " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int run_parse_output(const std::vector<std::string> &argv) {
  Args args(argv, {"--request", "--text"});
  std::string request_path = args.required("--request");
  nlohmann::json request =
      nlohmann::json::parse(read_file(request_path), nullptr, /*allow_exceptions=*/false);
  require(request.is_object(), request_path + " is not a JSON object");
  nlohmann::json tools = request.value("tools", nlohmann::json());
  require(tools.is_null() || tools.is_array(), "request 'tools' must be an array");
  bool no_tools = request.value("tool_choice", nlohmann::json()) == "none";
  chat::ParsedOutput parsed = chat::parse_output(
      read_file(args.required("--text")), chat::thinking_mode_of_request(request), tools,
      no_tools ? chat::ToolCallParsing::kOff : chat::ToolCallParsing::kOn);
  std::string out =
      parsed.to_json().dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

CommandRegistration registration("parse-output",
                                 "split model output into content, reasoning and tool calls",
                                 run_parse_output);

} // namespace
} // namespace m3::cli
