// The command line of the test tools (the soak, the checker), read one
// option at a time: `--name VALUE`, `--name=VALUE` or a flag `--name`. A bad
// command line throws usage_error; the tool prints it with its usage.
//
//   beacon_test::command_line args(argc, argv);
//   while (args.next()) {
//     if (args.is("--threads")) threads = args.number(2, 1024);
//     else if (args.is("--list")) list = true;
//     else args.unknown();
//   }
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace beacon_test {

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class command_line {
 public:
  command_line(int argc, char** argv) : args_(argv + 1, argv + argc) {}

  // Moves to the next option; false when there is none left.
  bool next() {
    if (next_ == args_.size()) return false;
    name_ = args_[next_++];
    attached_.reset();
    if (const auto eq = name_.find('=');
        name_.starts_with("--") && eq != std::string::npos) {
      attached_ = name_.substr(eq + 1);
      name_.resize(eq);
    }
    return true;
  }
  bool is(const char* name) const { return name_ == name; }

  // The option's value: the text after '=', else the next argument.
  std::string value() {
    if (attached_) return *std::exchange(attached_, std::nullopt);
    if (next_ == args_.size()) throw usage_error(name_ + " needs a value");
    return args_[next_++];
  }
  // The value as a whole number (decimal, 0x hexadecimal or 0 octal) in [lo, hi].
  std::uint64_t number(std::uint64_t lo = 0,
                       std::uint64_t hi = std::numeric_limits<std::uint64_t>::max()) {
    const std::string v = value();
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 0);
    if (errno != 0 || end == v.c_str() || *end != '\0' || v.starts_with('-') || n < lo ||
        n > hi)
      throw usage_error(name_ + ": not a whole number from " + std::to_string(lo) +
                        " to " + std::to_string(hi) + ": " + v);
    return n;
  }
  // The value as a number in (0, hi], decimals allowed.
  double positive(double hi) {
    const std::string v = value();
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || !(x > 0) || x > hi) {
      char most[32];
      std::snprintf(most, sizeof most, "%g", hi);
      throw usage_error(name_ + ": not a positive number up to " + most + ": " + v);
    }
    return x;
  }

  [[noreturn]] void unknown() const { throw usage_error("unknown option " + name_); }

 private:
  std::vector<std::string> args_;
  std::size_t next_ = 0;
  std::string name_;                     // the current option
  std::optional<std::string> attached_;  // its `=VALUE`, not yet taken
};

}  // namespace beacon_test
