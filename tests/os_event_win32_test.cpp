// os_event on Windows (the Win32 backend): an auto-reset event HANDLE,
// across threads and processes. The POSIX suite (os_event_test.cpp) is about
// descriptors, signals, fork and SCM_RIGHTS, none of which Windows has; this
// suite checks the same contract through handles. Runs under Wine in CI.
#include <windows.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "beacon/os_event.hpp"
#include "support/test_support.hpp"

using namespace std::chrono_literals;
using beacon::os_event;
using beacon_test::error_of;
using beacon_test::patience;

namespace {

bool inheritable(HANDLE h) {
  DWORD flags = 0;
  return ::GetHandleInformation(h, &flags) && (flags & HANDLE_FLAG_INHERIT) != 0;
}

bool is_open(HANDLE h) {
  DWORD flags = 0;
  return ::GetHandleInformation(h, &flags) != 0;
}

// The child mode of this test binary (BEACON_CHILD_EVENT set): reads the
// value of a handle the parent duplicated into it from standard input,
// adopts it, signals it, and exits 0 (1: adoption failed). Runs before
// GoogleTest.
const bool child_ran = [] {
  if (std::getenv("BEACON_CHILD_EVENT") == nullptr) return false;
  char text[32] = {};
  DWORD got = 0;
  (void)::ReadFile(::GetStdHandle(STD_INPUT_HANDLE), text, sizeof text - 1, &got,
                   nullptr);
  try {
    os_event ev = os_event::from_native_handle(reinterpret_cast<HANDLE>(
        static_cast<std::uintptr_t>(std::strtoull(text, nullptr, 10))));
    ev.signal();
  } catch (...) {
    std::_Exit(1);
  }
  std::_Exit(0);
}();

}  // namespace

TEST(os_event, starts_unsignalled_and_a_signal_is_consumed_once) {
  os_event ev;
  EXPECT_FALSE(ev.try_wait());
  ev.signal();
  ev.signal();  // collapses
  EXPECT_TRUE(ev.try_wait());
  EXPECT_FALSE(ev.try_wait());
  ev.signal();
  ev.reset();
  EXPECT_FALSE(ev.try_wait());
}

TEST(os_event, handle_is_an_auto_reset_event_not_inheritable_unless_asked) {
  os_event ev;
  EXPECT_NE(ev.native_handle(), nullptr);
  EXPECT_FALSE(inheritable(ev.native_handle()));
  os_event inh(os_event::inheritable);
  EXPECT_TRUE(inheritable(inh.native_handle()));
  EXPECT_FALSE(inheritable(inh.try_clone().native_handle()));
}

TEST(os_event, wait_returns_once_another_thread_signals) {
  os_event ev;
  std::thread t([&] {
    std::this_thread::sleep_for(10ms);
    ev.signal();
  });
  ev.wait();
  t.join();
  EXPECT_FALSE(ev.try_wait());
}

TEST(os_event, timed_waits_last_their_full_time_and_extremes_do_not_overflow) {
  os_event ev;
  for (auto d : {1ms, 20ms}) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(ev.wait_for(d));
    EXPECT_GE(std::chrono::steady_clock::now() - start, d);
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(ev.wait_for(std::chrono::microseconds(300)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::microseconds(300));
  const auto until = std::chrono::system_clock::now() + 15ms;
  EXPECT_FALSE(ev.wait_until(until));
  EXPECT_GE(std::chrono::system_clock::now(), until);
  EXPECT_FALSE(ev.wait_for(0ms));
  EXPECT_FALSE(ev.wait_for(-1s));
  ev.signal();
  EXPECT_TRUE(ev.wait_for(std::chrono::duration<double>::max()));
  ev.signal();
  EXPECT_TRUE(ev.wait_until(std::chrono::steady_clock::time_point::max()));
  EXPECT_FALSE(ev.wait_until(std::chrono::system_clock::time_point::min()));
}

TEST(os_event, wait_with_stop_token) {
  os_event ev;
  std::stop_source src;
  std::thread t([&] {
    std::this_thread::sleep_for(10ms);
    src.request_stop();
  });
  EXPECT_FALSE(ev.wait(src.get_token()));
  t.join();
  ev.signal();  // signalled: succeeds although stop was requested
  EXPECT_TRUE(ev.wait(src.get_token()));
  std::stop_source src2;
  std::thread s([&] {
    std::this_thread::sleep_for(10ms);
    ev.signal();
  });
  EXPECT_TRUE(ev.wait(src2.get_token()));
  s.join();
  ev.signal();
  EXPECT_TRUE(ev.wait(std::stop_token{}));  // never stoppable: a plain wait
}

TEST(os_event, moved_from_event_has_no_handle_and_throws) {
  os_event a;
  os_event b(std::move(a));
  EXPECT_EQ(a.native_handle(), nullptr);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(error_of([&] { a.signal(); }), ERROR_INVALID_HANDLE);
  EXPECT_EQ(error_of([&] { (void)a.try_wait(); }), ERROR_INVALID_HANDLE);
  EXPECT_EQ(error_of([&] { (void)a.try_clone(); }), ERROR_INVALID_HANDLE);
  EXPECT_EQ(a.release(), nullptr);
  HANDLE h = b.native_handle();
  os_event c;
  c = std::move(b);
  EXPECT_EQ(c.native_handle(), h);
}

TEST(os_event, try_clone_and_release_share_the_event) {
  os_event ev;
  os_event clone = ev.try_clone();
  EXPECT_NE(clone.native_handle(), ev.native_handle());
  ev.signal();
  EXPECT_TRUE(clone.try_wait());
  EXPECT_FALSE(ev.try_wait());
  HANDLE raw = clone.release();
  EXPECT_EQ(clone.native_handle(), nullptr);
  os_event back = os_event::from_native_handle(raw);
  back.signal();
  EXPECT_TRUE(ev.try_wait());
}

TEST(os_event, from_native_handle_accepts_only_auto_reset_events) {
  HANDLE manual = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  HANDLE sem = ::CreateSemaphoreW(nullptr, 0, 1, nullptr);
  HANDLE mutex = ::CreateMutexW(nullptr, FALSE, nullptr);
  for (HANDLE h : {manual, sem, mutex}) {
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(error_of([&] { (void)os_event::from_native_handle(h); }),
              ERROR_INVALID_PARAMETER);
    EXPECT_TRUE(is_open(h));  // untouched, still the caller's
    ::CloseHandle(h);
  }
  EXPECT_EQ(error_of([] { (void)os_event::from_native_handle(nullptr); }),
            ERROR_INVALID_HANDLE);
  HANDLE autoreset = ::CreateEventW(nullptr, FALSE, FALSE, nullptr);
  os_event ev = os_event::from_native_handle(autoreset);
  EXPECT_EQ(ev.native_handle(), autoreset);
}

TEST(os_event, each_signal_releases_exactly_one_of_many_blocked_waiters) {
  constexpr int waiters = 6;
  os_event ev;
  std::atomic<int> released{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < waiters; ++i)
    threads.emplace_back([&] {
      ev.wait();
      released.fetch_add(1);
    });
  for (int i = 1; i <= waiters; ++i) {
    std::this_thread::sleep_for(5ms);
    ev.signal();
    ASSERT_TRUE(beacon_test::eventually([&] { return released.load() >= i; }));
    std::this_thread::sleep_for(5ms);
    EXPECT_EQ(released.load(), i);  // one signal, one waiter
  }
  for (auto& t : threads)
    t.join();
}

TEST(os_event, many_timed_waiters_consume_every_signal_once) {
  constexpr int threads_n = 4, signals = 400;
  os_event ev;
  std::atomic<int> consumed{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < threads_n; ++i)
    threads.emplace_back([&] {
      while (!done.load())
        if (ev.wait_for(1ms)) consumed.fetch_add(1);
    });
  for (int i = 0; i < signals; ++i) {
    const int before = consumed.load();
    ev.signal();
    ASSERT_TRUE(beacon_test::eventually([&] { return consumed.load() > before; }));
  }
  done.store(true);
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(consumed.load(), signals);
}

// duplicate_to: the Windows answer to SCM_RIGHTS. The child is this test
// binary again (child mode above); it learns its handle's value on stdin.
TEST(os_event, event_duplicated_into_another_process_signals_this_one) {
  os_event ev;
  wchar_t self[MAX_PATH];
  ASSERT_GT(::GetModuleFileNameW(nullptr, self, MAX_PATH), 0u);
  SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
  HANDLE rd = nullptr, wr = nullptr;
  ASSERT_TRUE(::CreatePipe(&rd, &wr, &sa, 0));
  ASSERT_TRUE(::SetHandleInformation(wr, HANDLE_FLAG_INHERIT, 0));
  STARTUPINFOW si{};
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = rd;
  si.hStdOutput = ::GetStdHandle(STD_OUTPUT_HANDLE);
  si.hStdError = ::GetStdHandle(STD_ERROR_HANDLE);
  PROCESS_INFORMATION pi{};
  ::SetEnvironmentVariableW(L"BEACON_CHILD_EVENT", L"1");
  const BOOL started = ::CreateProcessW(self, nullptr, nullptr, nullptr, TRUE, 0, nullptr,
                                        nullptr, &si, &pi);
  ::SetEnvironmentVariableW(L"BEACON_CHILD_EVENT", nullptr);
  ::CloseHandle(rd);
  ASSERT_TRUE(started);
  const HANDLE theirs = ev.duplicate_to(pi.hProcess);
  const std::string text =
      std::to_string(reinterpret_cast<std::uintptr_t>(theirs)) + "\n";
  DWORD put = 0;
  EXPECT_TRUE(
      ::WriteFile(wr, text.data(), static_cast<DWORD>(text.size()), &put, nullptr));
  ::CloseHandle(wr);
  EXPECT_TRUE(ev.wait_for(patience));  // signalled by the child
  EXPECT_EQ(::WaitForSingleObject(pi.hProcess, 20000), WAIT_OBJECT_0);
  DWORD code = 99;
  ::GetExitCodeProcess(pi.hProcess, &code);
  EXPECT_EQ(code, 0u);
  ::CloseHandle(pi.hThread);
  ::CloseHandle(pi.hProcess);
  (void)child_ran;
}
