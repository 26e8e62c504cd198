// The registrations of the wait sets that keep their own list: the poll()
// backend (wait_context_posix.cpp) and Windows (wait_context_win32.cpp);
// epoll keeps its list in the kernel. Entries are keyed by descriptor or
// HANDLE (the member `Key`), each key at most once, in the order added.
#pragma once

#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

namespace beacon::detail::platform {

template <class Entry, auto Key>
struct registrations {
  using entry = Entry;
  using key_type = std::remove_cvref_t<decltype(std::declval<Entry&>().*Key)>;

  std::mutex mutex;
  std::vector<Entry> entries;  // under `mutex`

  // The entry of `key`, or null; under `mutex`.
  Entry* find(key_type key) noexcept {
    for (auto& e : entries)
      if (e.*Key == key) return &e;
    return nullptr;
  }

  // Takes the lock and removes `key`'s entry. False if there was none: a
  // remove is idempotent.
  bool remove(key_type key) {
    const std::lock_guard lock(mutex);
    return std::erase_if(entries, [key](const Entry& e) { return e.*Key == key; }) != 0;
  }
};

}  // namespace beacon::detail::platform
