// describe_waiters() and beacon_print_waiters(): for_each_waiter's snapshot
// (src/parking_lot.cpp), grouped and formatted. See beacon/inspect.hpp.
#include "beacon/inspect.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

namespace beacon {

std::string describe_waiters() {
  std::vector<waiter_info> all = detail::snapshot_waiters();
  // Group by object; within one, oldest first; objects in the order of their
  // oldest waiter (the likeliest culprit of a hang first).
  std::stable_sort(
      all.begin(), all.end(),
      [](const waiter_info& a, const waiter_info& b) { return a.waiting > b.waiting; });
  std::vector<const void*> order;
  std::map<const void*, std::vector<const waiter_info*>> by_object;
  for (const waiter_info& w : all) {
    auto& list = by_object[w.address];
    if (list.empty()) order.push_back(w.address);
    list.push_back(&w);
  }
  std::ostringstream out;
  for (const void* address : order) {
    const auto& list = by_object[address];
    out << address << ": "
        << (list.front()->primitive.empty() ? "(unnamed)" : list.front()->primitive)
        << ", " << list.size() << (list.size() == 1 ? " waiter\n" : " waiters\n");
    for (const waiter_info* w : list) {
      out << "  ";
      if (w->coroutine)
        out << "coroutine " << w->frame;
      else
        out << "thread " << w->thread;
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.3f",
                    std::chrono::duration<double>(w->waiting).count());
      out << " waiting " << secs << " s";
      if (w->where.line() != 0) {
        out << " at " << w->where.file_name() << ':' << w->where.line();
        if (*w->where.function_name()) out << " in " << w->where.function_name();
      }
      if (w->group)
        out << " (wait_any group " << reinterpret_cast<const void*>(w->group) << ')';
      out << '\n';
    }
  }
  return out.str();
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
