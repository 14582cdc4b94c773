#pragma once
// One error type for everything a user can cause (bad files, bad flags, bad requests).
// The CLI prints what() as one line and exits non-zero; the server maps it to a 4xx.
#include <stdexcept>
#include <string>

namespace m3 {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const std::string& message) { throw Error(message); }

inline void require(bool condition, const std::string& message) {
  if (!condition) fail(message);
}

}  // namespace m3
