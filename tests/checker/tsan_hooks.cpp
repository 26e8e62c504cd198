// The run-time of the checker's instrumentation. The checker compiles the
// library sources and its scenarios with -fsanitize=thread, which makes the
// compiler turn every atomic operation into a call to __tsan_atomic*, and
// links this file instead of ThreadSanitizer's run-time: each operation
// first calls hooks::point() (a scheduling point) and then runs, sequentially
// consistent, on the real object. Plain memory accesses and function
// entry/exit, which the run-time would record for race detection, are
// ignored here.
//
// Compiled without instrumentation. The entry points are C functions named
// per operand size, which a template cannot name: a macro stamps out each
// size's family from the templates below.
#include <cstdint>

#include "scheduler.hpp"

namespace {

using beacon::checker::hooks::point;
constexpr int sc = __ATOMIC_SEQ_CST;

template <class T>
T load(const volatile T* a, const void* code) {
  point("atomic load", a, code, false);
  return __atomic_load_n(a, sc);
}
template <class T>
void store(volatile T* a, T v, const void* code) {
  point("atomic store", a, code, true);
  __atomic_store_n(a, v, sc);
}
// The read-modify-write operations, one template: `point` names the
// operation in traces.
enum class rmw_op { exchange, add, sub, and_, or_, xor_, nand };
constexpr const char* rmw_name[] = {
    "atomic exchange", "atomic fetch_add", "atomic fetch_sub", "atomic fetch_and",
    "atomic fetch_or", "atomic fetch_xor", "atomic fetch_nand"};

template <rmw_op Op, class T>
T rmw(volatile T* a, T v, const void* code) {
  point(rmw_name[static_cast<int>(Op)], a, code, true);
  if constexpr (Op == rmw_op::exchange) return __atomic_exchange_n(a, v, sc);
  if constexpr (Op == rmw_op::add) return __atomic_fetch_add(a, v, sc);
  if constexpr (Op == rmw_op::sub) return __atomic_fetch_sub(a, v, sc);
  if constexpr (Op == rmw_op::and_) return __atomic_fetch_and(a, v, sc);
  if constexpr (Op == rmw_op::or_) return __atomic_fetch_or(a, v, sc);
  if constexpr (Op == rmw_op::xor_) return __atomic_fetch_xor(a, v, sc);
  if constexpr (Op == rmw_op::nand) return __atomic_fetch_nand(a, v, sc);
}
// Never fails spuriously: a weak CAS's spurious failure only makes its loop
// go round again, which the fault-injection and stress runs cover.
template <class T>
int compare_exchange(volatile T* a, T* expected, T desired, const void* code) {
  point("atomic compare_exchange", a, code, true);
  return __atomic_compare_exchange_n(a, expected, desired, false, sc, sc);
}
template <class T>
T compare_exchange_val(volatile T* a, T expected, T desired, const void* code) {
  point("atomic compare_exchange", a, code, true);
  __atomic_compare_exchange_n(a, &expected, desired, false, sc, sc);
  return expected;
}

}  // namespace

// NOLINTBEGIN: the names and signatures are ThreadSanitizer's interface.
#define BEACON_TSAN_ATOMICS(bits, T)                                                    \
  T __tsan_atomic##bits##_load(const volatile T* a, int) { return load(a, ret()); }     \
  void __tsan_atomic##bits##_store(volatile T* a, T v, int) { store(a, v, ret()); }     \
  T __tsan_atomic##bits##_exchange(volatile T* a, T v, int) {                           \
    return rmw<rmw_op::exchange>(a, v, ret());                                          \
  }                                                                                     \
  T __tsan_atomic##bits##_fetch_add(volatile T* a, T v, int) {                          \
    return rmw<rmw_op::add>(a, v, ret());                                               \
  }                                                                                     \
  T __tsan_atomic##bits##_fetch_sub(volatile T* a, T v, int) {                          \
    return rmw<rmw_op::sub>(a, v, ret());                                               \
  }                                                                                     \
  T __tsan_atomic##bits##_fetch_and(volatile T* a, T v, int) {                          \
    return rmw<rmw_op::and_>(a, v, ret());                                              \
  }                                                                                     \
  T __tsan_atomic##bits##_fetch_or(volatile T* a, T v, int) {                           \
    return rmw<rmw_op::or_>(a, v, ret());                                               \
  }                                                                                     \
  T __tsan_atomic##bits##_fetch_xor(volatile T* a, T v, int) {                          \
    return rmw<rmw_op::xor_>(a, v, ret());                                              \
  }                                                                                     \
  T __tsan_atomic##bits##_fetch_nand(volatile T* a, T v, int) {                         \
    return rmw<rmw_op::nand>(a, v, ret());                                              \
  }                                                                                     \
  int __tsan_atomic##bits##_compare_exchange_strong(volatile T* a, T* c, T v, int,      \
                                                    int) {                              \
    return compare_exchange(a, c, v, ret());                                            \
  }                                                                                     \
  int __tsan_atomic##bits##_compare_exchange_weak(volatile T* a, T* c, T v, int, int) { \
    return compare_exchange(a, c, v, ret());                                            \
  }                                                                                     \
  T __tsan_atomic##bits##_compare_exchange_val(volatile T* a, T c, T v, int, int) {     \
    return compare_exchange_val(a, c, v, ret());                                        \
  }

// The caller's address, for traces.
#define ret() __builtin_return_address(0)

extern "C" {

BEACON_TSAN_ATOMICS(8, std::uint8_t)
BEACON_TSAN_ATOMICS(16, std::uint16_t)
BEACON_TSAN_ATOMICS(32, std::uint32_t)
BEACON_TSAN_ATOMICS(64, std::uint64_t)

void __tsan_atomic_thread_fence(int) {
  point("atomic fence", nullptr, __builtin_return_address(0), false);
  __atomic_thread_fence(sc);
}
void __tsan_atomic_signal_fence(int) {}

void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
void __tsan_vptr_update(void**, void*) {}
void __tsan_vptr_read(void**) {}
void __tsan_read_range(void*, unsigned long) {}
void __tsan_write_range(void*, unsigned long) {}
void __tsan_read1(void*) {}
void __tsan_read2(void*) {}
void __tsan_read4(void*) {}
void __tsan_read8(void*) {}
void __tsan_read16(void*) {}
void __tsan_write1(void*) {}
void __tsan_write2(void*) {}
void __tsan_write4(void*) {}
void __tsan_write8(void*) {}
void __tsan_write16(void*) {}
void __tsan_unaligned_read2(const void*) {}
void __tsan_unaligned_read4(const void*) {}
void __tsan_unaligned_read8(const void*) {}
void __tsan_unaligned_read16(const void*) {}
void __tsan_unaligned_write2(void*) {}
void __tsan_unaligned_write4(void*) {}
void __tsan_unaligned_write8(void*) {}
void __tsan_unaligned_write16(void*) {}
void __tsan_volatile_read1(void*) {}
void __tsan_volatile_read2(void*) {}
void __tsan_volatile_read4(void*) {}
void __tsan_volatile_read8(void*) {}
void __tsan_volatile_read16(void*) {}
void __tsan_volatile_write1(void*) {}
void __tsan_volatile_write2(void*) {}
void __tsan_volatile_write4(void*) {}
void __tsan_volatile_write8(void*) {}
void __tsan_volatile_write16(void*) {}

}  // extern "C"
#undef BEACON_TSAN_ATOMICS
#undef ret
// NOLINTEND
