// The slab store behind once_event_pool and local_once_event_pool: events at
// stable addresses in slabs, an intrusive LIFO free list, O(1) rent and
// return, no allocation once the pool has grown to its working size.
//
// The thread-safe pool guards its free list with a short spin lock (a pop or
// a push and a counter update). A lock-free Treiber stack (with a tag against
// ABA) costs the same one read-modify-write per operation here, but it cannot
// let shrink_to_fit free a slab that a concurrent pop may still be reading
// without hazard pointers or epochs, and it cannot keep size() exact without a
// second atomic. bench/once_event_bench.cpp measures the two side by side
// ("pool free list" scenarios).
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <new>
#include <thread>
#include <type_traits>
#include <vector>

#include "beacon/detail/once_common.hpp"
#include "beacon/detail/platform.hpp"
#include "beacon/detail/spin_lock.hpp"

namespace beacon::detail {

// The thread-safe pool's lock: its critical sections are a few pointer
// updates of the free list.
struct once_spin_lock : spin_lock {
  static constexpr bool thread_safe = true;
};

// The local pool's "lock": one thread, nothing to exclude.
struct once_no_lock {
  static constexpr bool thread_safe = false;
  void lock() noexcept {}
  void unlock() noexcept {}
};

template <class Lock>
class once_pool_guard {
 public:
  explicit once_pool_guard(Lock& l) noexcept : l_(l) { l_.lock(); }
  ~once_pool_guard() { l_.unlock(); }
  once_pool_guard(const once_pool_guard&) = delete;
  once_pool_guard& operator=(const once_pool_guard&) = delete;

 private:
  Lock& l_;
};

// Event: once_event<T> or local_once_event<T>. Lock: once_spin_lock or
// once_no_lock.
template <class Event, class Lock>
class once_slab_store {
 public:
  using event_type = Event;
  struct slot {
    Event event;           // unbound (state 0) while on the free list
    slot* next = nullptr;  // free-list link; guarded by the lock
  };

  once_slab_store() noexcept = default;
  once_slab_store(const once_slab_store&) = delete;
  once_slab_store& operator=(const once_slab_store&) = delete;
  ~once_slab_store() {
    // Precondition: every event is back (size() == 0). With bind_by_shared
    // the ends keep the pool alive, so only bind_by_ref / bind_by_ptr users
    // can break it.
    assert(load_live() == 0 && "a once event pool destroyed with live events");
    while (slab* s = slabs_) {
      slabs_ = s->next;
      free_slab(s);
    }
  }

  // Takes a free slot (growing the store if none is free) and binds its event.
  slot* rent() {
    slot* s;
    for (;;) {
      {
        once_pool_guard g(lock_);
        s = free_;
        if (s) {
          free_ = s->next;
          store_live(load_live() + 1);
          break;
        }
      }
      grow(next_slab_size());  // allocates outside the lock; may throw std::bad_alloc
    }
    once_access::set_bound(s->event);
    return s;
  }

  // The last end of an event returns its slot (its value already destroyed).
  void give_back(slot* s) noexcept {
    once_access::reset(s->event);
    once_pool_guard g(lock_);
    s->next = free_;
    free_ = s;
    store_live(load_live() - 1);
  }

  std::size_t size() const noexcept { return load_live(); }

  std::size_t capacity() const noexcept {
    once_pool_guard g(lock_);
    return capacity_;
  }

  // Grows the store (by one slab of the missing size) so that at least `n`
  // events fit without allocating.
  void reserve(std::size_t n) {
    const std::size_t have = capacity();
    if (have < n) grow(n - have);
  }

  // Frees every slab whose events are all back in the pool. O(free slots ×
  // slabs) under the lock; meant for quiet moments, not the fast path.
  void shrink_to_fit() noexcept {
    slab* doomed = nullptr;
    {
      once_pool_guard g(lock_);
      for (slab* s = slabs_; s; s = s->next)
        s->free_count = 0;
      for (slot* f = free_; f; f = f->next)
        owner(f)->free_count++;
      slab** link = &slabs_;
      while (slab* s = *link) {
        if (s->free_count == s->count) {
          *link = s->next;
          s->next = doomed;
          doomed = s;
          capacity_ -= s->count;
        } else {
          link = &s->next;
        }
      }
      if (doomed) {  // unlink the doomed slabs' slots from the free list
        slot** fl = &free_;
        while (slot* f = *fl) {
          if (is_doomed(doomed, f))
            *fl = f->next;
          else
            fl = &f->next;
        }
      }
    }
    while (doomed) {
      slab* s = doomed;
      doomed = s->next;
      free_slab(s);
    }
  }

  // Calls visit(event) for every live event: under the lock, so that no
  // slab is freed meanwhile. `visit` must not call back into the pool.
  template <class Visit>
  void for_each_live(Visit&& visit) const {
    once_pool_guard g(lock_);
    for (slab* s = slabs_; s; s = s->next)
      for (std::size_t i = 0; i < s->count; ++i)
        if (state_of(s->slots()[i].event) != 0) visit(s->slots()[i].event);
  }

 private:
  struct slab {
    slab* next;
    std::size_t count;
    std::size_t free_count;  // scratch for shrink_to_fit
    // The slots follow the header in the same allocation.
    slot* slots() noexcept {
      return std::launder(
          reinterpret_cast<slot*>(reinterpret_cast<unsigned char*>(this) + slab_offset));
    }
  };
  static constexpr std::size_t slab_offset =
      (sizeof(slab) + alignof(slot) - 1) / alignof(slot) * alignof(slot);

  static constexpr std::size_t alignment = std::max(alignof(slab), alignof(slot));
  static constexpr std::size_t max_slab = 1024;  // slots; growth doubles up to this

  static std::uint8_t state_of(const Event& e) noexcept {
    return once_access::state(e).load(std::memory_order_relaxed);
  }

  slab* owner(slot* f) const noexcept {
    for (slab* s = slabs_; s; s = s->next)
      if (f >= s->slots() && f < s->slots() + s->count) return s;
    assert(false && "slot outside every slab");
    return nullptr;
  }
  static bool is_doomed(slab* doomed, slot* f) noexcept {
    for (slab* s = doomed; s; s = s->next)
      if (f >= s->slots() && f < s->slots() + s->count) return true;
    return false;
  }

  // Slabs double the capacity, from 8 up to max_slab events each.
  std::size_t next_slab_size() const noexcept {
    once_pool_guard g(lock_);
    return std::clamp<std::size_t>(capacity_, 8, max_slab);
  }

  // Adds a slab of `n` (> 0) free events.
  void grow(std::size_t n) {
    const std::size_t bytes = slab_offset + n * sizeof(slot);
    void* mem = alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__
                    ? ::operator new (bytes, std::align_val_t{alignment})
                    : ::operator new(bytes);
    slab* s = ::new (mem) slab{nullptr, n, 0};
    slot* slots = reinterpret_cast<slot*>(static_cast<unsigned char*>(mem) + slab_offset);
    for (std::size_t i = 0; i < n; ++i)
      ::new (static_cast<void*>(slots + i)) slot{};
    for (std::size_t i = 0; i + 1 < n; ++i)
      slots[i].next = &slots[i + 1];
    once_pool_guard g(lock_);
    slots[n - 1].next = free_;
    free_ = slots;
    s->next = slabs_;
    slabs_ = s;
    capacity_ += n;
  }

  static void free_slab(slab* s) noexcept {
    for (std::size_t i = 0; i < s->count; ++i)
      std::destroy_at(s->slots() + i);
    std::destroy_at(s);
    if constexpr (alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
      ::operator delete (static_cast<void*>(s), std::align_val_t{alignment});
    else
      ::operator delete(static_cast<void*>(s));
  }

  std::size_t load_live() const noexcept {
    if constexpr (Lock::thread_safe)
      return live_.load(std::memory_order_relaxed);
    else
      return live_;
  }
  void store_live(std::size_t n) noexcept {  // under the lock
    if constexpr (Lock::thread_safe)
      live_.store(n, std::memory_order_relaxed);
    else
      live_ = n;
  }

  mutable Lock lock_;
  // Guarded by lock_: the free list, the slab list and the capacity.
  slot* free_ = nullptr;   // head of the free list (LIFO: the warmest slot first)
  slab* slabs_ = nullptr;  // every slab, newest first
  std::size_t capacity_ = 0;
  // Live events (bound, not yet returned). Thread-safe pool: an atomic written
  // only under lock_ (relaxed: size() is a snapshot), read without it.
  std::conditional_t<Lock::thread_safe, std::atomic<std::size_t>, std::size_t> live_{0};
};

}  // namespace beacon::detail
