// os_event on Windows: a Win32 auto-reset event (CreateEventW). See
// include/beacon/os_event.hpp ("Windows").
//
// The auto-reset event is the contract itself: SetEvent on a signalled event
// changes nothing (signals collapse), and the kernel releases exactly one
// waiter per signal, resetting the event as that waiter's wait returns (one
// consumption releases one waiter; no waiter is left waiting on a signal
// another consumed, because the kernel hands the signal to one waiter
// atomically). Timed waits are WaitForSingleObject with relative
// milliseconds rounded up, re-armed from the absolute deadline after an early
// return.
#include <windows.h>

#include <algorithm>
#include <cstdint>
#include <stop_token>
#include <system_error>

#include "beacon/os_event.hpp"

namespace beacon {

namespace {

[[noreturn]] void throw_win(DWORD err, const char* what) {
  throw std::system_error(static_cast<int>(err), std::system_category(), what);
}

HANDLE checked(void* h, const char* what) {
  if (h == nullptr) throw_win(ERROR_INVALID_HANDLE, what);
  return h;
}

// Milliseconds for a Win32 wait: INFINITE for never, else the time left
// rounded up (never early), capped below INFINITE.
DWORD timeout_ms(deadline d) noexcept {
  if (d.is_never()) return INFINITE;
  return static_cast<DWORD>(
      std::min<std::int64_t>((d.remaining_ns() + 999'999) / 1'000'000, INFINITE - 1));
}

HANDLE make_event(bool inheritable, const char* what) {
  SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, inheritable ? TRUE : FALSE};
  HANDLE h =
      ::CreateEventW(&sa, FALSE /* auto-reset */, FALSE /* unsignalled */, nullptr);
  if (h == nullptr) throw_win(::GetLastError(), what);
  return h;
}

// NtQueryEvent (ntdll): the only documented-enough way to ask an event handle
// whether it is an event and of which kind. Looked up at run time, as the
// import libraries do not all declare it.
using nt_query_event_fn = LONG(NTAPI*)(HANDLE, int, void*, ULONG, ULONG*);
struct event_basic_information {
  int event_type;  // 0: NotificationEvent (manual reset), 1: SynchronizationEvent (auto)
  LONG event_state;
};

// 0 if `h` is an auto-reset event we may query, else the Win32 error.
DWORD event_check(HANDLE h) {
  DWORD flags = 0;
  if (h == nullptr || h == INVALID_HANDLE_VALUE || !::GetHandleInformation(h, &flags))
    return ERROR_INVALID_HANDLE;
  static const auto query = [] {
    const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
    // Through void(*)(), the one cast from FARPROC GCC does not warn about.
    return ntdll ? reinterpret_cast<nt_query_event_fn>(reinterpret_cast<void (*)()>(
                       ::GetProcAddress(ntdll, "NtQueryEvent")))
                 : nullptr;
  }();
  if (query == nullptr) return ERROR_CALL_NOT_IMPLEMENTED;
  event_basic_information info{};
  const LONG status =
      query(h, 0 /* EventBasicInformation */, &info, sizeof info, nullptr);
  constexpr LONG status_access_denied = static_cast<LONG>(0xC0000022);
  if (status == status_access_denied) return ERROR_ACCESS_DENIED;
  if (status != 0) return ERROR_INVALID_PARAMETER;  // not an event (type mismatch)
  if (info.event_type != 1) return ERROR_INVALID_PARAMETER;  // manual reset
  return 0;
}

HANDLE duplicate(HANDLE h, HANDLE target, bool inheritable, const char* what) {
  HANDLE out = nullptr;
  if (!::DuplicateHandle(::GetCurrentProcess(), h, target, &out, 0,
                         inheritable ? TRUE : FALSE, DUPLICATE_SAME_ACCESS))
    throw_win(::GetLastError(), what);
  return out;
}

}  // namespace

os_event::os_event() : fd_(make_event(false, "beacon::os_event: CreateEventW")) {}

os_event::os_event(inheritable_t)
    : fd_(make_event(true, "beacon::os_event: CreateEventW")) {}

os_event::~os_event() {
  if (fd_ != nullptr) (void)::CloseHandle(fd_);
}

os_event& os_event::operator=(os_event&& other) noexcept {
  if (this != &other) {
    if (fd_ != nullptr) (void)::CloseHandle(fd_);
    fd_ = other.fd_;
    other.fd_ = nullptr;
  }
  return *this;
}

void os_event::signal() const {
  static constexpr const char* what = "beacon::os_event::signal";
  if (!::SetEvent(checked(fd_, what))) throw_win(::GetLastError(), what);
}

bool os_event::try_wait() const { return wait_deadline(deadline{0}); }

void os_event::reset() const {
  static constexpr const char* what = "beacon::os_event::reset";
  if (!::ResetEvent(checked(fd_, what))) throw_win(::GetLastError(), what);
}

bool os_event::wait_deadline(deadline d) const {
  static constexpr const char* what = "beacon::os_event::wait";
  const HANDLE h = checked(fd_, what);
  for (;;) {
    // Recomputed from the absolute deadline each round; 0 once it passed
    // (one last look).
    const DWORD r = ::WaitForSingleObject(h, timeout_ms(d));
    if (r == WAIT_OBJECT_0) return true;  // consumed (auto-reset)
    if (r != WAIT_TIMEOUT)
      throw_win(r == WAIT_FAILED ? ::GetLastError() : ERROR_INVALID_HANDLE, what);
    if (d.is_never()) continue;
    if (d.passed()) {
      // The last wait may have started before the deadline passed, so its
      // time-out proves nothing about "now": one last look.
      return ::WaitForSingleObject(h, 0) == WAIT_OBJECT_0;
    }
    // Timed out early (the timer's resolution): re-armed.
  }
}

bool os_event::wait(std::stop_token stop) const {
  static constexpr const char* what = "beacon::os_event::wait";
  const HANDLE h = checked(fd_, what);
  if (!stop.stop_possible()) return wait_deadline(deadline::never());
  // A wait that can succeed at once succeeds, stop or not (waitable.hpp).
  if (::WaitForSingleObject(h, 0) == WAIT_OBJECT_0) return true;
  if (stop.stop_requested()) return false;
  // A private event that the stop callback sets, waited on beside ours: a
  // stop request wakes this wait and no other.
  struct closer {
    HANDLE h;
    ~closer() { (void)::CloseHandle(h); }
  } wake{make_event(false, what)};
  // Destroyed before `wake`: ~stop_callback waits for a running callback.
  const std::stop_callback on_stop(std::move(stop),
                                   [w = wake.h]() noexcept { (void)::SetEvent(w); });
  const HANDLE both[2] = {h, wake.h};
  // WaitForMultipleObjects reports (and consumes) the lowest signalled index:
  // our event first, so a signal that comes with the stop is taken; a stop
  // alone consumes nothing of ours.
  const DWORD r = ::WaitForMultipleObjects(2, both, FALSE, INFINITE);
  if (r == WAIT_OBJECT_0) return true;
  if (r == WAIT_OBJECT_0 + 1) return false;
  throw_win(r == WAIT_FAILED ? ::GetLastError() : ERROR_INVALID_HANDLE, what);
}

os_event os_event::try_clone() const {
  static constexpr const char* what = "beacon::os_event::try_clone";
  return os_event(adopt_t{},
                  duplicate(checked(fd_, what), ::GetCurrentProcess(), false, what));
}

os_event::native_handle_type os_event::duplicate_to(native_handle_type process,
                                                    bool inheritable_in_target) const {
  static constexpr const char* what = "beacon::os_event::duplicate_to";
  return duplicate(checked(fd_, what), process, inheritable_in_target, what);
}

os_event os_event::from_native_handle(native_handle_type h) {
  if (const DWORD err = event_check(h))
    throw_win(err, "beacon::os_event::from_native_handle");
  return os_event(adopt_t{}, h);
}

}  // namespace beacon
