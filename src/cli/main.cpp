#include <cstdio>
#include <exception>
#include <map>

#include "cli/command.h"
#include "core/error.h"

namespace m3::cli {

namespace {
struct Command {
  std::string summary;
  CommandFn fn;
};
std::map<std::string, Command>& registry() {
  static std::map<std::string, Command> commands;
  return commands;
}
}  // namespace

CommandRegistration::CommandRegistration(const std::string& name, const std::string& summary,
                                         CommandFn fn) {
  registry()[name] = Command{summary, std::move(fn)};
}

Args::Args(std::vector<std::string> argv, const std::vector<std::string>& value_flags,
           const std::vector<std::string>& switch_flags) {
  auto listed = [](const std::vector<std::string>& list, const std::string& flag) {
    for (const auto& item : list)
      if (item == flag) return true;
    return false;
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::string text = "flags:";
      for (const auto& value_flag : value_flags) text += "\n  " + value_flag + " VALUE";
      for (const auto& switch_flag : switch_flags) text += "\n  " + switch_flag;
      throw HelpRequested{text};
    }
    if (listed(switch_flags, flag)) {
      values_.emplace(flag, "");
    } else if (listed(value_flags, flag)) {
      require(i + 1 < argv.size(), "flag " + flag + " needs a value");
      values_.emplace(flag, argv[++i]);
    } else {
      fail("unknown argument '" + flag + "'");
    }
  }
}

std::optional<std::string> Args::get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::required(const std::string& flag) const {
  auto value = get(flag);
  require(value.has_value(), "missing required flag " + flag);
  return *value;
}

std::vector<std::string> Args::all(const std::string& flag) const {
  std::vector<std::string> out;
  auto [begin, end] = values_.equal_range(flag);
  for (auto it = begin; it != end; ++it) out.push_back(it->second);
  return out;
}

bool Args::has(const std::string& flag) const { return values_.count(flag) > 0; }

long long Args::get_int(const std::string& flag, long long fallback) const {
  auto value = get(flag);
  if (!value) return fallback;
  try {
    size_t used = 0;
    long long parsed = std::stoll(*value, &used);
    if (used == value->size()) return parsed;
  } catch (const std::exception&) {
  }
  fail("flag " + flag + " expects an integer, got '" + *value + "'");
}

double Args::get_double(const std::string& flag, double fallback) const {
  auto value = get(flag);
  if (!value) return fallback;
  try {
    size_t used = 0;
    double parsed = std::stod(*value, &used);
    if (used == value->size()) return parsed;
  } catch (const std::exception&) {
  }
  fail("flag " + flag + " expects a number, got '" + *value + "'");
}

}  // namespace m3::cli

int main(int argc, char** argv) {
  using namespace m3::cli;
  auto& commands = registry();
  if (argc < 2 || commands.find(argv[1]) == commands.end()) {
    std::fprintf(stderr, "usage: m3 <command> [flags]\ncommands:\n");
    for (const auto& [name, command] : commands)
      std::fprintf(stderr, "  %-14s %s\n", name.c_str(), command.summary.c_str());
    return 2;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    return commands[argv[1]].fn(args);
  } catch (const HelpRequested& help) {
    std::printf("usage: m3 %s [flags]\n%s\n", argv[1], help.text.c_str());
    return 0;
  } catch (const m3::Error& error) {
    std::fprintf(stderr, "m3 %s: error: %s\n", argv[1], error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "m3 %s: internal error: %s\n", argv[1], error.what());
    return 1;
  }
}
