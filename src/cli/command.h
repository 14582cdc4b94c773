#pragma once
// `m3 <command> [flags]`: each command lives in its own cmd_<name>.cpp and registers itself with
// a static CommandRegistration. Commands throw m3::Error for user mistakes; main prints one line.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace m3::cli {

// Thrown by Args when --help is given; main prints the flag list and exits 0.
struct HelpRequested {
  std::string text;
};

// Parsed "--flag value" / "--switch" arguments. Unknown or missing flags are errors.
class Args {
 public:
  Args(std::vector<std::string> argv, const std::vector<std::string>& value_flags,
       const std::vector<std::string>& switch_flags = {});
  std::optional<std::string> get(const std::string& flag) const;
  std::string required(const std::string& flag) const;
  std::vector<std::string> all(const std::string& flag) const;  // repeatable flags
  bool has(const std::string& flag) const;
  long long get_int(const std::string& flag, long long fallback) const;
  double get_double(const std::string& flag, double fallback) const;

 private:
  std::multimap<std::string, std::string> values_;
};

using CommandFn = std::function<int(const std::vector<std::string>& args)>;

struct CommandRegistration {
  CommandRegistration(const std::string& name, const std::string& summary, CommandFn fn);
};

}  // namespace m3::cli
