// Replacement global operator new / delete that count allocations, for the
// tests and benchmarks that show a path allocates nothing. Each allocation
// calls beacon_test::count_allocation(), which the including binary defines:
// how to count (per thread, or for the whole process) is its choice.
//
// Include in exactly one translation unit of a binary (the replacements are
// ordinary, non-inline definitions, as the standard requires).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace beacon_test {
void count_allocation() noexcept;  // defined by the binary that includes this
}  // namespace beacon_test

#ifdef _WIN32
#include <malloc.h>
// Windows has no aligned_alloc: over-aligned memory comes from
// _aligned_malloc and must go back through _aligned_free.
inline void* beacon_test_aligned_alloc(std::size_t al, std::size_t n) noexcept {
  return ::_aligned_malloc(n, al);
}
inline void beacon_test_aligned_free(void* p) noexcept { ::_aligned_free(p); }
#else
inline void* beacon_test_aligned_alloc(std::size_t al, std::size_t n) noexcept {
  return std::aligned_alloc(al, n);
}
inline void beacon_test_aligned_free(void* p) noexcept { std::free(p); }
#endif

void* operator new(std::size_t n) {
  beacon_test::count_allocation();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  beacon_test::count_allocation();
  const std::size_t al = static_cast<std::size_t>(a);
  if (void* p = beacon_test_aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return ::operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { beacon_test_aligned_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept {
  beacon_test_aligned_free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  beacon_test_aligned_free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  beacon_test_aligned_free(p);
}
