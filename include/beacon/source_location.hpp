// beacon/source_location.hpp — the call site a blocking wait records for
// beacon/inspect.hpp.
//
/// @file
/// `beacon::source_location` is `std::source_location` wherever the standard
/// library provides it. Clang 14 with libstdc++ 12 (Debian 12's clang) does
/// not: libstdc++ declares std::source_location only when the compiler has
/// `__builtin_source_location`, which arrived in clang 15. There it is a
/// small class with the same members, filled by the builtins every supported
/// compiler has (`__builtin_FILE`, `__builtin_LINE`, ...).
///
/// Contract: `source_location::current()` used as a default argument gives
/// the caller's file, line and function, as std::source_location::current()
/// does; column() may be 0. A default-constructed one has line 0 ("unknown").
///
/// Memory ordering: not applicable (a value type).
///
/// Lifetime: the strings point at static storage.
///
/// Example:
/// @code
///  void my_wait(beacon::source_location loc = beacon::source_location::current());
///  my_wait();  // loc.line() is this line
/// @endcode
#pragma once

#include <cstdint>
#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>
#endif

namespace beacon {

#if defined(__cpp_lib_source_location)

using source_location = std::source_location;

#else

/// std::source_location's members, for standard libraries without it.
class source_location {
 public:
  /// The call site of the expression that calls it (as a default argument:
  /// the caller of the function that has it).
  static constexpr source_location current(
      const char* file = __builtin_FILE(), const char* function = __builtin_FUNCTION(),
      std::uint_least32_t line = __builtin_LINE(),
      std::uint_least32_t column = __builtin_COLUMN()) noexcept {
    source_location l;
    l.file_ = file;
    l.function_ = function;
    l.line_ = line;
    l.column_ = column;
    return l;
  }

  constexpr source_location() noexcept = default;

  /// The file name ("" when unknown).
  constexpr const char* file_name() const noexcept { return file_; }
  /// The enclosing function's name ("" when unknown).
  constexpr const char* function_name() const noexcept { return function_; }
  /// The line (0 when unknown).
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  /// The column (0 when unknown or not provided by the compiler).
  constexpr std::uint_least32_t column() const noexcept { return column_; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  std::uint_least32_t line_ = 0;
  std::uint_least32_t column_ = 0;
};

#endif

}  // namespace beacon
