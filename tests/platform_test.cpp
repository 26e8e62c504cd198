// The platform layer's wait-on-address contract, and (in the fault-injection
// build) that faults really are injected, so that CI step cannot pass
// vacuously.
#include "beacon/detail/platform.hpp"
#include "beacon/detail/spin.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stop_token>
#include <string>
#include <thread>

#ifdef __linux__
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "support/test_support.hpp"

namespace {

namespace platform = beacon::detail::platform;
using beacon::deadline;
using namespace std::chrono;
using namespace beacon_test;

TEST(platform, wait_returns_at_once_when_the_value_differs) {
  std::atomic<std::uint32_t> word{1};
  EXPECT_TRUE(platform::wait(word, 0, deadline::after(patience)));
}

TEST(platform, wait_times_out_no_earlier_than_the_deadline) {
  std::atomic<std::uint32_t> word{0};
  const deadline d = deadline::after(3ms);
  while (platform::wait(word, 0, d)) {  // true: woken, maybe spuriously; retry
  }
  EXPECT_TRUE(d.passed());
}

TEST(platform, wake_one_releases_a_waiter) {
  std::atomic<std::uint32_t> word{0};
  scoped_thread t([&] {
    while (word.load() == 0)
      platform::wait(word, 0, deadline::after(patience));
  });
  word.store(1);
  platform::wake_one(word);
  t.join();
  SUCCEED();
}

// ---- how many CPUs spinning may count on ------------------------------

TEST(platform, cpu_quota_rounds_up_and_zero_means_no_limit) {
  EXPECT_EQ(platform::cpus_of_quota(-1, 100'000), 0u);  // v1: no quota
  EXPECT_EQ(platform::cpus_of_quota(0, 100'000), 0u);
  EXPECT_EQ(platform::cpus_of_quota(100'000, 0), 0u);
  EXPECT_EQ(platform::cpus_of_quota(50'000, 100'000), 1u);
  EXPECT_EQ(platform::cpus_of_quota(100'000, 100'000), 1u);
  EXPECT_EQ(platform::cpus_of_quota(150'000, 100'000), 2u);
  EXPECT_EQ(platform::cpus_of_quota(800'000, 100'000), 8u);
  EXPECT_EQ(platform::cpus_of_quota(INT64_MAX, 1), 1u << 20);  // capped, no overflow
  EXPECT_EQ(platform::cpus_of_quota(INT64_MAX, 100'000), 1u << 20);
}

TEST(platform, cgroup_v2_cpu_max_is_parsed) {
  EXPECT_EQ(platform::cpus_of_cpu_max("max 100000\n"), 0u);
  EXPECT_EQ(platform::cpus_of_cpu_max("100000 100000\n"), 1u);
  EXPECT_EQ(platform::cpus_of_cpu_max("150000 100000\n"), 2u);
  EXPECT_EQ(platform::cpus_of_cpu_max("400000 100000"), 4u);
  EXPECT_EQ(platform::cpus_of_cpu_max(""), 0u);
  EXPECT_EQ(platform::cpus_of_cpu_max("garbage"), 0u);
  EXPECT_EQ(platform::cpus_of_cpu_max("100000"), 0u);  // no period
}

TEST(platform, usable_cpus_is_at_most_the_machine) {
  const unsigned n = platform::usable_cpus();
  EXPECT_GE(n, 1u);
  if (std::thread::hardware_concurrency() != 0) {
    EXPECT_LE(n, std::thread::hardware_concurrency());
  }
}

#ifdef __linux__
// A process pinned to one CPU (taskset, a one-CPU cpuset) must not spin:
// usable_cpus() follows the affinity mask, not the machine.
TEST(platform, usable_cpus_follows_the_affinity_mask) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // one thread: its mask is the process's
    cpu_set_t mask;
    if (::sched_getaffinity(0, sizeof mask, &mask) != 0) ::_exit(2);
    int first = 0;
    while (first < CPU_SETSIZE && !CPU_ISSET(first, &mask))
      ++first;
    CPU_ZERO(&mask);
    CPU_SET(first, &mask);
    if (::sched_setaffinity(0, sizeof mask, &mask) != 0) ::_exit(2);
    ::_exit(platform::usable_cpus() == 1 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 2)
    GTEST_SKIP() << "this machine refuses sched_[gs]etaffinity";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "pinned to one CPU, usable_cpus() said more";
}

// Whether to spin is the process's answer: a thread that pins itself to one
// CPU (thread per core) still gets it, and so does usable_cpus() asked there.
TEST(platform, a_thread_pinned_to_one_cpu_does_not_decide_whether_to_spin) {
  const unsigned process_cpus = platform::usable_cpus();
  unsigned in_pinned_thread = 0;
  bool spin_in_pinned_thread = !platform::multi_cpu();
  std::thread([&] {
    cpu_set_t mask;
    if (::sched_getaffinity(0, sizeof mask, &mask) == 0) {
      int first = 0;
      while (first < CPU_SETSIZE && !CPU_ISSET(first, &mask))
        ++first;
      CPU_ZERO(&mask);
      CPU_SET(first, &mask);
      (void)::sched_setaffinity(0, sizeof mask, &mask);
    }
    in_pinned_thread = platform::usable_cpus();
    spin_in_pinned_thread = platform::multi_cpu();
  }).join();
  EXPECT_EQ(in_pinned_thread, process_cpus);
  EXPECT_EQ(spin_in_pinned_thread, process_cpus != 1);
}

// cgroup quotas, read from a file tree laid out as the kernel's.
class cgroup_tree : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/beacon_cgroup_XXXXXX";
    ASSERT_NE(::mkdtemp(name), nullptr);
    root_ = name;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  // Writes `text` to root/relative, creating the directories on the way.
  void put(const std::string& relative, const std::string& text) {
    const std::filesystem::path path = std::filesystem::path(root_) / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  unsigned limit(const std::string& proc_self_cgroup) const {
    return platform::cgroup_cpu_limit(proc_self_cgroup, root_);
  }
  std::string root_;
};

TEST_F(cgroup_tree, v2_quota_of_the_cgroup_or_an_ancestor_whichever_is_tighter) {
  EXPECT_EQ(limit("0::/app/worker\n"), 0u);  // no cpu.max anywhere: no limit
  put("app/worker/cpu.max", "max 100000\n");
  EXPECT_EQ(limit("0::/app/worker\n"), 0u);
  put("app/cpu.max", "250000 100000\n");
  EXPECT_EQ(limit("0::/app/worker\n"), 3u);  // the parent's 2.5 CPUs apply
  put("app/worker/cpu.max", "100000 100000\n");
  EXPECT_EQ(limit("0::/app/worker\n"), 1u);
  put("cpu.max", "50000 100000\n");  // the namespace root, read for "/" too
  EXPECT_EQ(limit("0::/\n"), 1u);
}

TEST_F(cgroup_tree, v1_cfs_quota_under_the_cpu_mount) {
  put("cpu/job/cpu.cfs_quota_us", "-1\n");
  put("cpu/job/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(limit("4:memory:/job\n3:cpu:/job\n"), 0u);  // -1: no quota
  put("cpu/job/cpu.cfs_quota_us", "300000\n");
  EXPECT_EQ(limit("4:memory:/job\n3:cpu:/job\n"), 3u);
  EXPECT_EQ(limit("4:memory:/job\n3:cpuset:/job\n"), 0u);  // cpuset is not cpu
}

TEST_F(cgroup_tree, v1_mounted_under_the_controller_list_name) {
  put("cpu,cpuacct/job/cpu.cfs_quota_us", "150000\n");
  put("cpu,cpuacct/job/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(limit("2:cpu,cpuacct:/job\n"), 2u);
}

TEST_F(cgroup_tree,
       hybrid_takes_the_tightest_and_paths_outside_the_namespace_read_the_root) {
  put("cpu/cpu.cfs_quota_us", "400000\n");
  put("cpu/cpu.cfs_period_us", "100000\n");
  put("cpu.max", "200000 100000\n");
  EXPECT_EQ(limit("3:cpu:/\n0::/\n"), 2u);
  EXPECT_EQ(limit("0::/../../elsewhere\n"), 2u);  // not below the mount: its root
  EXPECT_EQ(limit("garbage\n\n1:name=systemd:/x\n"), 0u);
}
#endif

// ---- the spin before parking (the lot's spin policy, detail/spin.hpp) ----

// A wait whose deadline has passed does not spin at all, so a short timed
// wait is not stretched by the spin.
TEST(spin_until, never_spins_past_the_deadline) {
  int calls = 0;
  EXPECT_FALSE(beacon::detail::spin_until(
      [&] {
        ++calls;
        return false;
      },
      deadline::after(0ns)));
  EXPECT_EQ(calls, 0);
}

// Runs `f` on a new thread: its spin budget is the full initial one, which
// earlier waits of this thread may have used up.
template <class F>
void on_a_fresh_thread(F f) {
  std::thread(f).join();
}

// A stop request ends the spin within one round of 16 pauses (the park that
// follows then sees the request): the spin does not delay a stop by its
// whole budget.
TEST(spin_until, a_stop_request_ends_the_spin) {
  std::stop_source source;
  source.request_stop();
  const std::stop_token token = source.get_token();
  int calls = 0;
  bool spun = true;
  on_a_fresh_thread([&] {
    spun = beacon::detail::spin_until(
        [&] {
          ++calls;
          return false;
        },
        deadline::never(), &token);
  });
  EXPECT_FALSE(spun);
  EXPECT_LE(calls, 16);
  if (platform::multi_cpu()) {
    EXPECT_GE(calls, 1);  // it did start spinning
  }
}

// What the spin is for: a condition that becomes true is seen without
// parking, where there is more than one CPU; on one CPU nothing spins.
TEST(spin_until, returns_true_once_ready) {
  int calls = 0;
  bool spun = false;
  on_a_fresh_thread(
      [&] { spun = beacon::detail::spin_until([&] { return ++calls == 3; }); });
  if (platform::multi_cpu()) {
    EXPECT_TRUE(spun);
    EXPECT_EQ(calls, 3);
  } else {
    EXPECT_FALSE(spun);
    EXPECT_EQ(calls, 0);
  }
}

#if defined(BEACON_FAULT_INJECTION)
TEST(platform, fault_injection_returns_spuriously) {
  std::atomic<std::uint32_t> word{0};
  int spurious = 0;
  for (int i = 0; i < 64; ++i) {
    const deadline d = deadline::after(milliseconds(1));
    if (platform::wait(word, 0, d) && !d.passed()) ++spurious;  // nobody woke us
  }
  EXPECT_GT(spurious, 0);
}
#endif

}  // namespace
