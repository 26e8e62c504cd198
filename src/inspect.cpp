// describe_waiters() and beacon_print_waiters(): for_each_waiter's snapshot
// (src/parking_lot.cpp), grouped and formatted. See beacon/inspect.hpp.
#include "beacon/inspect.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <span>
#include <sstream>
#include <string_view>

#include "beacon/once_event.hpp"  // describe_trace

namespace beacon {

namespace {

// Appends printf-style text to `out` (the lines are short).
template <class... Args>
void append(std::string& out, const char* format, Args... args) {
  char line[256];
  const int n = std::snprintf(line, sizeof line, format, args...);
  if (n > 0) out.append(line, std::min(static_cast<std::size_t>(n), sizeof line - 1));
}

// Addresses print the same on every platform ("%p" is "0x7ff..." with glibc,
// "00007FF..." with mingw): 0x and lowercase hex.
std::uintptr_t bits(const void* p) noexcept {
  return reinterpret_cast<std::uintptr_t>(p);
}

// A recorded trace, one line per frame under its waiter's line: as
// describe_trace() symbolizes it (the platform's format, with 0x and
// lowercase hex addresses everywhere), or the bare address where it could not.
void append_trace(std::string& out, std::span<void* const> trace) {
  if (trace.empty()) return;
  const std::string names = describe_trace(trace);  // one line per frame
  std::size_t at = 0;
  for (void* frame : trace) {
    const std::size_t end = std::min(names.find('\n', at), names.size());
    const std::string_view name = std::string_view(names).substr(at, end - at);
    at = std::min(end + 1, names.size());
    out += "      ";
    if (name.empty() || name == "?")
      append(out, "0x%" PRIxPTR, bits(frame));
    else
      out += name;
    out += '\n';
  }
}

}  // namespace

std::string describe_waiters() {
  const detail::waiter_snapshot snapshot = detail::snapshot_waiters();
  const std::vector<waiter_info>& all = snapshot.waiters;  // traces: in snapshot.frames
  // Order: by object, and within one the oldest first (ties: the snapshot's
  // order, which is the queue's FIFO order); then objects by their oldest
  // waiter, the longest first (the likeliest culprit of a hang).
  std::vector<std::size_t> order(all.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (all[a].address != all[b].address)
      return std::less<const void*>()(all[a].address, all[b].address);
    return all[a].waiting > all[b].waiting;
  });
  struct object {
    std::size_t begin, end;  // its range in `order`; order[begin] is the oldest
  };
  std::vector<object> objects;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (i == 0 || all[order[i]].address != all[order[i - 1]].address)
      objects.push_back({i, i});
    objects.back().end = i + 1;
  }
  std::stable_sort(objects.begin(), objects.end(), [&](const object& a, const object& b) {
    return all[order[a.begin]].waiting > all[order[b.begin]].waiting;
  });

  std::string out;
  // About a header and a line each, and a line per frame: one allocation.
  out.reserve(all.size() * 160 + snapshot.frames.size() * 100);
  std::ostringstream id;  // std::thread::id prints only through a stream
  for (const object& o : objects) {
    const waiter_info& head = all[order[o.begin]];
    const std::size_t n = o.end - o.begin;
    append(out, "0x%" PRIxPTR ": %.*s, %zu %s\n", bits(head.address),
           static_cast<int>(head.primitive.empty() ? 9 : head.primitive.size()),
           head.primitive.empty() ? "(unnamed)" : head.primitive.data(), n,
           n == 1 ? "waiter" : "waiters");
    for (std::size_t k = o.begin; k < o.end; ++k) {
      const waiter_info& w = all[order[k]];
      const double secs = std::chrono::duration<double>(w.waiting).count();
      if (w.coroutine) {
        append(out, "  coroutine 0x%" PRIxPTR " waiting %.3f s", bits(w.frame), secs);
      } else {
        id.str({});
        id << w.thread;
        append(out, "  thread %s waiting %.3f s", id.str().c_str(), secs);
      }
      if (w.where.line() != 0) {
        out += " at ";
        out += w.where.file_name();
        append(out, ":%u", static_cast<unsigned>(w.where.line()));
        if (*w.where.function_name()) {
          out += " in ";
          out += w.where.function_name();
        }
      }
      if (w.group)
        append(out, " (wait_any group 0x%" PRIxPTR ")",
               static_cast<std::uintptr_t>(w.group));
      out += '\n';
      append_trace(out, w.trace);
    }
  }
  return out;
}

}  // namespace beacon

extern "C" void beacon_print_waiters() noexcept {
  try {
    const std::string s = beacon::describe_waiters();
    std::fputs(s.empty() ? "beacon: no parked waiters\n" : s.c_str(), stderr);
  } catch (...) {
    std::fputs("beacon_print_waiters: out of memory\n", stderr);
  }
  std::fflush(stderr);
}
