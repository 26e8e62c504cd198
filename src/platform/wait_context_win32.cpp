// wait_context on Windows: detail::wait_set over WaitForMultipleObjects. See
// include/beacon/wait_context.hpp ("Other backends").
//
// The registrations are a list guarded by a mutex; a wait copies it behind
// the set's own auto-reset wake-up event (index 0) and waits on the copy.
// Why a change made while a thread waits is never missed: add(), modify()
// and remove() change the list under the mutex, then set the wake-up event;
// a waiter whose copy predates the change is waiting on that event too, so
// it returns and waits on a fresh copy (a set with no waiter stays
// signalled and only makes the next wait copy the list once more).
//
// Why an os_event's signal is not consumed: WaitForMultipleObjects takes the
// signal of the auto-reset event it reports, so the wait sets it again
// before returning (the zero-timeout probes of the other entries do the
// same). Signals that arrived meanwhile collapse with it, as the contract
// allows for signals not yet consumed.
#include <windows.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "beacon/wait_context.hpp"
#include "registrations.hpp"

namespace beacon::detail {

namespace {

[[noreturn]] void throw_win(DWORD err, const char* what) {
  throw std::system_error(static_cast<int>(err), std::system_category(), what);
}

}  // namespace

// One registration.
struct handle_entry {
  HANDLE h;
  bool is_os_event;
  std::uint64_t token;
};

// The registrations (under `mutex`), and:
struct wait_set::state : platform::registrations<handle_entry, &handle_entry::h> {
  HANDLE wake = nullptr;  // auto-reset: set by every change of the list
  // Owned by the waiting thread (one at a time).
  std::vector<entry> copy;
  std::vector<HANDLE> handles;
  std::vector<ready> result;
  std::vector<HANDLE> reported;  // the handle of each entry of `result`

  ~state() {
    if (wake != nullptr) (void)::CloseHandle(wake);
  }
};

wait_set::wait_set() : state_(std::make_unique<state>()) {
  state_->wake = ::CreateEventW(nullptr, FALSE, FALSE, nullptr);
  if (state_->wake == nullptr)
    throw_win(::GetLastError(), "beacon::wait_context: CreateEventW");
}

wait_set::~wait_set() = default;
wait_set::wait_set(wait_set&&) noexcept = default;
wait_set& wait_set::operator=(wait_set&&) noexcept = default;

void wait_set::add(handle h, bool is_os_event, std::uint64_t token) {
  static constexpr const char* what = "beacon::wait_context::add";
  if (!state_) throw_win(ERROR_INVALID_HANDLE, what);
  DWORD flags = 0;
  if (h == nullptr || h == INVALID_HANDLE_VALUE || !::GetHandleInformation(h, &flags))
    throw_win(ERROR_INVALID_HANDLE, what);
  {
    const std::lock_guard lock(state_->mutex);
    if (state_->find(h) != nullptr) throw_win(ERROR_ALREADY_EXISTS, what);
    if (state_->entries.size() >= max_handles)
      throw std::length_error(
          "beacon::wait_context::add: more than 63 handles (WaitForMultipleObjects' "
          "limit)");
    state_->entries.push_back({h, is_os_event, token});
  }
  (void)::SetEvent(state_->wake);
}

void wait_set::modify(handle h, std::uint64_t token) {
  static constexpr const char* what = "beacon::wait_context::modify";
  if (!state_) throw_win(ERROR_INVALID_HANDLE, what);
  {
    const std::lock_guard lock(state_->mutex);
    state::entry* e = state_->find(h);
    if (e == nullptr) throw_win(ERROR_NOT_FOUND, what);
    e->token = token;
  }
  (void)::SetEvent(state_->wake);
}

void wait_set::remove(handle h) {
  if (!state_) throw_win(ERROR_INVALID_HANDLE, "beacon::wait_context::remove");
  if (state_->remove(h)) (void)::SetEvent(state_->wake);
}

std::span<const wait_set::ready> wait_set::wait(deadline d) {
  static constexpr const char* what = "beacon::wait_context::wait";
  if (!state_) throw_win(ERROR_INVALID_HANDLE, what);
  state& s = *state_;
  for (;;) {
    {
      const std::lock_guard lock(s.mutex);
      s.copy = s.entries;
    }
    s.handles.clear();
    s.handles.push_back(s.wake);
    for (const auto& e : s.copy)
      s.handles.push_back(e.h);
    const bool last_look = !d.is_never() && d.remaining_ns() == 0;
    DWORD ms = INFINITE;
    if (last_look)
      ms = 0;
    else if (!d.is_never())
      ms = static_cast<DWORD>(
          std::min<std::int64_t>((d.remaining_ns() + 999'999) / 1'000'000, INFINITE - 1));
    const DWORD n = static_cast<DWORD>(s.handles.size());
    const DWORD r = ::WaitForMultipleObjects(n, s.handles.data(), FALSE, ms);
    s.result.clear();
    s.reported.clear();
    if (r == WAIT_FAILED) throw_win(::GetLastError(), what);
    if (r == WAIT_TIMEOUT) {
      if (last_look) break;
      continue;  // the loop re-checks our clock and ends with a last look
    }
    const bool abandoned = r >= WAIT_ABANDONED_0 && r < WAIT_ABANDONED_0 + n;
    const DWORD index = abandoned ? r - WAIT_ABANDONED_0 : r - WAIT_OBJECT_0;
    if (index == 0) {
      if (last_look) break;  // a change woke the last look: nothing ready to say
      continue;              // the list changed: wait on a fresh copy
    }
    // The one reported, then every later entry that is signalled too
    // (earlier ones were not, or the wait would have reported them).
    const auto report = [&](std::size_t i, bool is_abandoned) {
      const state::entry& e = s.copy[i - 1];
      if (e.is_os_event) (void)::SetEvent(e.h);  // put the signal back
      s.result.push_back({e.token, true, false, false, is_abandoned});
      s.reported.push_back(e.h);
    };
    report(index, abandoned);
    for (DWORD i = index + 1; i < n; ++i) {
      const DWORD p = ::WaitForSingleObject(s.handles[i], 0);
      if (p == WAIT_OBJECT_0 || p == WAIT_ABANDONED) report(i, p == WAIT_ABANDONED);
    }
    // Tokens as they are now: an entry removed or modified since the copy is
    // reported as it is now, or not at all.
    {
      const std::lock_guard lock(s.mutex);
      std::size_t kept = 0;
      for (std::size_t k = 0; k < s.result.size(); ++k) {
        if (const state::entry* e = s.find(s.reported[k])) {
          s.result[kept] = s.result[k];
          s.result[kept++].token = e->token;
        }
      }
      s.result.resize(kept);
    }
    if (s.result.empty() && !last_look) continue;  // all removed meanwhile
    break;
  }
  return {s.result.data(), s.result.size()};
}

}  // namespace beacon::detail
