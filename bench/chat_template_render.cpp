// Chat-template render speed: `bench_chat_template [TEMPLATE.jinja]` renders a 20-turn agent
// conversation (system prompt, 4 tools with nested schemas, reasoning and a tool call with its
// result in every turn) repeatedly on one core and prints renders/s. Without an argument it uses
// the built-in M3 template. Rates are over the thread's CPU time (the dev box is shared) and wall
// time.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include "chat/chat_template.h"

namespace {

using Json = nlohmann::ordered_json;

Json agent_request() {
  Json tools = Json::array();
  for (const char *name : {"read_file", "write_file", "run_shell", "search_code"}) {
    tools.push_back(
        {{"type", "function"},
         {"function",
          {{"name", name},
           {"description",
            std::string("Tool ") + name + " used by the coding agent; see the schema."},
           {"parameters",
            {{"type", "object"},
             {"properties",
              {{"path", {{"type", "string"}, {"description", "Path relative to the repository"}}},
               {"options",
                {{"type", "object"},
                 {"properties",
                  {{"recursive", {{"type", "boolean"}}},
                   {"globs", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}}}}},
             {"required", {"path"}}}}}}});
  }
  Json messages = Json::array();
  messages.push_back({{"role", "system"},
                      {"content", "You are a careful coding agent working in a C++ repository."}});
  for (int turn = 0; turn < 20; ++turn) {
    std::string id = "call_" + std::to_string(turn);
    messages.push_back({{"role", "user"},
                        {"content", "Step " + std::to_string(turn) + ": look at src/module_" +
                                        std::to_string(turn) + ".cpp and fix the failing test."}});
    Json arguments = {{"path", "src/module_" + std::to_string(turn) + ".cpp"},
                      {"options", {{"recursive", turn % 2 == 0}, {"globs", {"*.cpp", "*.h"}}}}};
    messages.push_back(
        {{"role", "assistant"},
         {"reasoning_content", "The test output points at module " + std::to_string(turn) +
                                   "; read it before changing anything."},
         {"content", "Reading the file first."},
         {"tool_calls",
          {{{"id", id},
            {"type", "function"},
            {"function", {{"name", "read_file"}, {"arguments", arguments.dump()}}}}}}});
    messages.push_back(
        {{"role", "tool"},
         {"tool_call_id", id},
         {"content", "int module_" + std::to_string(turn) + "() {\n  return " +
                         std::to_string(turn) +
                         ";\n}\n// 40 more lines of code elided for the benchmark\n"}});
  }
  return {{"messages", messages},
          {"tools", tools},
          {"chat_template_kwargs", {{"thinking_mode", "enabled"}}}};
}

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

} // namespace

int main(int argc, char **argv) {
  m3::chat::ChatTemplate chat_template = m3::chat::ChatTemplate::builtin_m3();
  if (argc > 1) {
    std::ifstream in(argv[1], std::ios::binary);
    std::ostringstream source;
    source << in.rdbuf();
    chat_template = m3::chat::ChatTemplate(source.str());
  }
  const Json request = agent_request();
  size_t prompt_bytes = chat_template.render(request).size();
  int renders = 0;
  auto start = std::chrono::steady_clock::now();
  double cpu_start = thread_cpu_seconds();
  double seconds = 0;
  while (seconds < 3.0) {
    prompt_bytes = chat_template.render(request).size();
    ++renders;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  double cpu = thread_cpu_seconds() - cpu_start;
  std::printf("%s: %d renders, prompt %zu bytes: %.0f renders/s (%.3f ms) on thread CPU time, %.0f "
              "renders/s wall\n",
              argc > 1 ? argv[1] : "built-in M3 template", renders, prompt_bytes, renders / cpu,
              1000 * cpu / renders, renders / seconds);
}
