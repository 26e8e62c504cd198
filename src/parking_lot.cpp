// The parking lot: a table of buckets (static at first, replaced by bigger
// ones as the queued addresses grow), each a lock and one FIFO queue of
// waiters per address. See include/beacon/parking_lot.hpp for the
// protocol and the contract.
#include "beacon/parking_lot.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <mutex>  // std::lock_guard, over the bucket's spin_lock
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "beacon/detail/platform.hpp"
#include "beacon/detail/spin_lock.hpp"
#include "beacon/inspect.hpp"

namespace beacon::parking_lot {
namespace platform = beacon::detail::platform;

// Grants this file access to waiter's private members.
struct access {
  static waiter*& next(waiter& w) noexcept { return w.next_; }
  static waiter*& prev(waiter& w) noexcept { return w.prev_; }
  static waiter*& queue_next(waiter& w) noexcept { return w.queue_next_; }
  static const void*& address(waiter& w) noexcept { return w.address_; }
  static token& park_token(waiter& w) noexcept { return w.park_token_; }
  static token& unpark_token(waiter& w) noexcept { return w.unpark_token_; }
  static std::coroutine_handle<>& coroutine(waiter& w) noexcept { return w.coroutine_; }
  static std::atomic<std::uint32_t>& wake_state(waiter& w) noexcept {
    return w.wake_state_;
  }
  static std::atomic<std::uint8_t>& where(waiter& w) noexcept { return w.where_; }
  static std::uint8_t& wake_bit(waiter& w) noexcept { return w.wake_bit_; }
  static detail::wait_group*& group(waiter& w) noexcept { return w.group_; }
  static wait_site& site(waiter& w) noexcept { return w.site_; }
  static std::int64_t& since_ns(waiter& w) noexcept { return w.since_ns_; }
  static std::thread::id& thread(waiter& w) noexcept { return w.thread_; }
  static constexpr std::uint8_t idle = waiter::idle;
  static constexpr std::uint8_t in_queue = waiter::in_queue;
  static constexpr std::uint8_t resume_pending = waiter::resume_pending;
};

namespace {

// waiter::wake_state_ values (thread waiters).
constexpr std::uint32_t sleeping = 0;
constexpr std::uint32_t woken = 1;
constexpr std::uint32_t interrupted = 2;

// Wake slots: how a parked thread sleeps, and how one system call wakes every
// thread parked on an address (Linux; wherever platform::masked_waits()).
//
// A parked thread does not sleep on its entry's wake_state_ but on the
// generation word of one of `wake_slots`, chosen by the hash of the address
// it parked on, listening (platform::wait_masked) for its own bit: the
// thread's index mod 32 (waiter::wake_bit_). Every thread parked on one
// address sleeps on one slot, so wake() wakes all the threads it dequeued
// with ONE platform::wake_masked(slot, the OR of their bits) where one wake
// per thread on its own word cost K system calls. An unpark of one thread
// wakes only its bit: a thread parked on the slot with the same bit (another
// address of the slot, or another thread of the same index mod 32) wakes
// too, finds its state still `sleeping`, and sleeps again; a spurious wake,
// never a lost one, and none at all without a collision.
//
// The protocol. A waker (wake(), or the interrupter of a stop request) reads
// the entry's address and bit first (the entry may vanish once it is
// woken), writes wake_state_ (lot_C), then bumps the slot's generation with
// a release RMW (lot_E), then calls wake_masked. A sleeper loads the
// generation g with acquire (lot_F), then its wake_state_ (lot_D), and
// sleeps only if that is still `sleeping`, with wait_masked(slot, g): the
// kernel sleeps only while the word still holds g. Why no wake-up is lost:
//   - if lot_F read a generation from before the waker's lot_E, then when
//     the sleeper's wait compares the word, either lot_E happened (it is not
//     g: the wait returns at once, and the loop re-checks) or it had not, and
//     then the sleeper is queued in the kernel before the waker's
//     wake_masked, which comes after lot_E and wakes its bit;
//   - if lot_F read lot_E's value or a later one (later bumps are RMWs, in
//     lot_E's release sequence), it synchronizes with lot_E, and lot_C,
//     sequenced before lot_E, is visible to lot_D: the sleeper sees its new
//     state and does not sleep.
// Nor doubled: wake_state_ is written once by an unpark (`woken` is final)
// and once at most by a stop request (`interrupted`, only from `sleeping`);
// the slot only decides when the thread looks. The generation wraps after
// 2^32 bumps; a sleeper that loaded g and was descheduled for exactly a
// multiple of 2^32 bumps before its wait would sleep through them (ABA): not
// a concern at any real rate.
//
// Where the platform has no masked waits (the portable and Windows
// backends), a thread sleeps on its wake_state_ and each is woken with its
// own wake_one: the same lot_C / lot_D pairing, with the futex word being
// the state itself.
struct alignas(64) wake_slot {
  // Any value; only its changes matter. Bumped (lot_E) after every change of
  // the wake_state_ of a thread parked on an address that hashes here.
  std::atomic<std::uint32_t> generation{0};
};
constexpr std::size_t wake_slot_count = 256;  // a power of two (see slot_index)
// Static, never freed: a wake on a slot is never a wake on a stale address,
// and parking works during static initialisation and teardown.
constinit wake_slot wake_slots[wake_slot_count];

// Fibonacci hashing (Knuth): the top bits of the product are the best mixed,
// so a table of 2^k entries takes the top k bits.
std::uint64_t fibonacci_hash(std::uintptr_t x) noexcept {
  return static_cast<std::uint64_t>(x) * UINT64_C(0x9E3779B97F4A7C15);
}

std::size_t slot_index(const void* address) noexcept {
  // The top 8 bits of the address's hash (as for the buckets).
  return static_cast<std::size_t>(
      fibonacci_hash(reinterpret_cast<std::uintptr_t>(address)) >> 56);
}
std::atomic<std::uint32_t>& slot_for(const void* address) noexcept {
  return wake_slots[slot_index(address)].generation;
}

// Threads get bits in turn, so that up to 32 threads parked on one slot
// never collide. `no_bit` until the thread first parks.
constexpr std::uint8_t no_bit = 0xff;
constinit std::atomic<std::uint32_t> next_wake_bit{0};
constinit thread_local std::uint8_t thread_wake_bit = no_bit;

std::uint8_t this_thread_wake_bit() noexcept {
  if (thread_wake_bit == no_bit)
    thread_wake_bit = static_cast<std::uint8_t>(
        next_wake_bit.fetch_add(1, std::memory_order_relaxed) % 32);
  return thread_wake_bit;
}

// Makes a parked thread look at its state: after its wake_state_ changed
// (lot_C, or the interrupter's CAS). `slot` and `bits` were read from the
// entries before that change.
void wake_slot_bits(std::atomic<std::uint32_t>& slot, std::uint32_t bits) noexcept {
  // lot_E: release pairs with lot_F in sleep_while(); see "Wake slots".
  slot.fetch_add(1, std::memory_order_release);
  platform::wake_masked(slot, bits);
}

// Blocks the parked thread that owns `self` until its wake_state_ is no
// longer `from` (returns the new state), or until `until` passes (returns
// `from`). Spurious wake-ups are absorbed here.
std::uint32_t sleep_while(waiter& self, std::uint32_t from, deadline until) noexcept {
  std::atomic<std::uint32_t>& state = access::wake_state(self);
  if (platform::masked_waits()) {
    std::atomic<std::uint32_t>& slot = slot_for(access::address(self));
    const std::uint32_t bit = std::uint32_t{1} << access::wake_bit(self);
    for (;;) {
      // lot_F, then lot_D (acquire; pairs with lot_E, and lot_C): see "Wake slots".
      const std::uint32_t g = slot.load(std::memory_order_acquire);
      const std::uint32_t s = state.load(std::memory_order_acquire);
      if (s != from) return s;
      if (!platform::wait_masked(slot, g, bit, until)) return from;  // deadline passed
    }
  }
  for (;;) {
    // lot_D: acquire pairs with lot_C in wake().
    const std::uint32_t s = state.load(std::memory_order_acquire);
    if (s != from) return s;
    if (!platform::wait(state, s, until)) return from;  // deadline passed
  }
}

// One bucket of a table. This lock protects the whole bucket: never read or
// change its queues, `fair_at`, or the links of a waiter queued here without
// holding it (and having checked, in bucket_guard, that its table is the
// current one).
//
// The bucket holds one FIFO queue per address that hashes here and has
// waiters (see waiter's links in parking_lot.hpp). The first three queues
// are (address, head) pairs in the bucket itself, so finding an address's
// queue, and making or dropping one, reads and writes the bucket's cache
// line and no waiter's: with 100k coroutines parked, the heads live in 100k
// frames, and a list of heads cost a cache miss per queue passed. Queues
// beyond three (rare: the table grows before the average bucket holds two,
// see table::overfull) are chained from `overflow` through their heads'
// queue_next_; one moves into a slot as soon as a slot frees. The slots in
// use are always the first ones, and nothing overflows while a slot is free:
// so a free slot ends a search, and the bucket is empty when its first slot
// is. What an unpark scans is the bucket's queues, never the waiters of
// other addresses.
struct alignas(64) bucket {
  struct queue_slot {
    const void* address = nullptr;
    waiter* head = nullptr;  // null: the slot is free (and address null)
  };
  static constexpr std::size_t inline_queues = 3;

  beacon::detail::spin_lock lock;  // short sections: spins, then yields
  // When the next unpark is "fair" (fair_due): platform::coarse_now_ns() in
  // units of 1024 ns, mod 2^32 (wraps every ~73 minutes; see fair_due).
  std::uint32_t fair_at = 0;
  waiter* overflow = nullptr;  // the fourth queue's head, or null
  queue_slot slots[inline_queues];

  bool empty() const noexcept { return !slots[0].head; }

  // The link that points at the head of `address`'s queue (a slot's head, or
  // `overflow`, or an overflow head's queue_next_); null when `address` has
  // no queue here.
  waiter** find(const void* address) noexcept {
    for (queue_slot& q : slots) {
      if (!q.head) return nullptr;  // a free slot: nothing beyond it
      if (q.address == address) return &q.head;
    }
    for (waiter** link = &overflow; *link; link = &access::queue_next(**link))
      if (access::address(**link) == address) return link;
    return nullptr;
  }

  // The first waiter queued on `address`, or null.
  waiter* first_at(const void* address) noexcept {
    waiter** link = find(address);
    return link ? *link : nullptr;
  }

  // Adds the queue whose head is `head` (a new queue, or one moved whole from
  // another table): in a free slot, else first in the overflow chain (the
  // order of queues of different addresses means nothing). Returns whether
  // the bucket already held a queue (a collision: see table::crowded).
  bool add_queue(waiter& head) noexcept {
    const bool others = !empty();
    for (queue_slot& q : slots) {
      if (!q.head) {
        q = {access::address(head), &head};
        access::queue_next(head) = nullptr;
        return others;
      }
    }
    access::queue_next(head) = overflow;
    overflow = &head;
    return true;
  }

  // Unlinks every queue and returns their heads chained through queue_next_
  // (each queue whole: its waiters' links do not change). For rehash and
  // fork, which re-add them.
  waiter* take_queues() noexcept {
    waiter* chain = std::exchange(overflow, nullptr);
    for (queue_slot& q : slots) {
      if (q.head) {
        access::queue_next(*q.head) = chain;
        chain = q.head;
        q = {};
      }
    }
    return chain;
  }

  // Calls f(w) for every waiter queued here, queue by queue in FIFO order
  // (under the lock; read only).
  template <class F>
  void for_each_waiter(F&& f) const {
    const auto each_of = [&](waiter* head) {
      for (waiter* w = head; w; w = access::next(*w))
        f(*w);
    };
    for (const queue_slot& q : slots)
      each_of(q.head);
    for (waiter* h = overflow; h; h = access::queue_next(*h))
      each_of(h);
  }

  // Appends `w` to its address's queue, creating the queue if it has none.
  // Returns whether it created a queue in a bucket that already held one (a
  // collision: see table::crowded).
  bool enqueue(waiter& w) noexcept {
    access::next(w) = nullptr;
    access::where(w).store(access::in_queue, std::memory_order_relaxed);
    if (waiter** link = find(access::address(w))) {
      waiter* head = *link;
      waiter* tail = access::prev(*head);
      access::next(*tail) = &w;
      access::prev(w) = tail;
      access::prev(*head) = &w;
      access::queue_next(w) = nullptr;
      return false;
    }
    access::prev(w) = &w;  // a head alone: its own tail
    return add_queue(w);
  }

  // Removes `w` from the queue whose head `*link` points at (from find()).
  // Returns whether that emptied the queue (which then is dropped: `link`
  // must not be used again).
  bool remove(waiter** link, waiter& w) noexcept {
    waiter* head = *link;
    waiter* next = access::next(w);
    bool emptied = false;
    if (&w == head) {
      if (next) {
        // `next` becomes the head: it takes over the tail (the head's prev_,
        // which is `next` itself when it is the tail) and the bucket link.
        access::prev(*next) = access::prev(w);
        access::queue_next(*next) = access::queue_next(w);
        *link = next;
      } else {
        drop_queue(link, w);
        emptied = true;
      }
    } else {
      waiter* prev = access::prev(w);
      access::next(*prev) = next;
      (next ? access::prev(*next) : access::prev(*head)) = prev;
    }
    access::next(w) = access::prev(w) = access::queue_next(w) = nullptr;
    // Release: a coroutine's owner that sees the entry idle (acquire, in
    // waiter::waiting()) also sees the unlinking above.
    access::where(w).store(access::idle, std::memory_order_release);
    return emptied;
  }

  // Drops the queue `*link` points at, whose last waiter `head` leaves. A
  // freed slot takes the first overflow queue if there is one (then every
  // slot was in use), else the last slot in use, so the slots in use stay
  // the first ones; in the overflow chain, the chain closes over it.
  void drop_queue(waiter** link, waiter& head) noexcept {
    for (queue_slot& q : slots) {
      if (link != &q.head) continue;
      if (waiter* h = overflow) {
        overflow = access::queue_next(*h);
        access::queue_next(*h) = nullptr;
        q = {access::address(*h), h};
        return;
      }
      queue_slot* last = std::end(slots) - 1;
      while (!last->head)
        --last;
      q = *last;  // `last` is at or after `q`
      *last = {};
      return;
    }
    *link = access::queue_next(head);
  }

  // About once a millisecond per bucket (randomised, as in WebKit), tell the
  // primitive to be fair. The clock is the coarse one (a few ns to read
  // where the steady clock costs ~25 ns under a hypervisor, on every unpark
  // that wakes someone): where it steps every 4 ms (Linux at HZ=250), "about
  // once a millisecond" is once per step.
  bool fair_due() noexcept {
    const auto now = static_cast<std::uint32_t>(platform::coarse_now_ns() >> 10);
    // fair_at is set at most fair_window units ahead of the clock; a value
    // further "ahead" is one from before the clock wrapped: due.
    constexpr std::uint32_t fair_window = 1024;  // ~1 ms
    if (const std::uint32_t ahead = fair_at - now; ahead != 0 && ahead <= fair_window)
      return false;
    // A different delay per bucket and step: the address and the time, mixed.
    const std::uint64_t mix =
        fibonacci_hash(reinterpret_cast<std::uintptr_t>(this) ^ now);
    fair_at = now + 1 + static_cast<std::uint32_t>((mix >> 32) % fair_window);
    return true;
  }
};
static_assert(sizeof(bucket) == 64, "a bucket is one cache line");

// A table of buckets. The first is static; growth (grow()) replaces the
// current table with a bigger one and retires the old one, which is never
// freed (after parking_lot_core): a thread that loaded the old table's
// address may still lock one of its buckets, find the table replaced, and go
// on to the new one, so that memory must stay valid.
struct table {
  bucket* buckets;
  std::size_t size;  // a power of two
  unsigned shift;    // 64 - log2(size)
  table* previous;   // the table this one replaced (kept for fork and tests)
  bool allocated;    // false for the static first table
  // The queued addresses beyond the first of each bucket (the sum over the
  // buckets of queues - 1, for buckets with queues). The table grows when
  // this passes its size: the queued addresses then outnumber the buckets
  // about 1.8 to 1 (for n addresses hashed into s buckets, collisions are
  // about n - s(1 - e^(-n/s))), and about one bucket in nine has a queue
  // beyond its three slots. Changed only under a bucket lock of this
  // table while it is current (so a rehash, holding them all, can set it);
  // read without a lock as a hint. Collisions rather than addresses are
  // counted so that a park on an address alone in its bucket (the common
  // case) writes no shared counter.
  std::atomic<std::size_t> crowded{0};

  bucket& bucket_for(const void* address) const noexcept {
    return buckets[static_cast<std::size_t>(
        fibonacci_hash(reinterpret_cast<std::uintptr_t>(address)) >> shift)];
  }
  bool overfull(std::size_t collisions) const noexcept { return collisions > size; }
  bool overfull() const noexcept {
    return overfull(crowded.load(std::memory_order_relaxed));
  }
};

constexpr std::size_t first_size = 1024;  // a power of two
constinit bucket first_buckets[first_size];
constinit table first_table{first_buckets, first_size, 54, nullptr, false, 0};
// The current table. States: &first_table, then each grown table in turn;
// never goes back. Stored (release) by a rehash while it holds every bucket
// lock of the table it replaces.
constinit std::atomic<table*> current{&first_table};

// Holds the lock of `address`'s bucket in the current table (after
// parking_lot_core's lock_bucket): lock the bucket of the table we loaded,
// then check that the table is still current. A rehash holds every bucket
// lock of the old table while it publishes the new one, so if we got the
// lock after the rehash, the lock's acquire made its store of `current`
// visible (the relaxed re-load sees the new table and we retry there); if we
// got it before, the rehash waits for us, and moves our changes with the
// queues. So every change to a queue is made in the current table.
class bucket_guard {
 public:
  explicit bucket_guard(const void* address) noexcept {
    for (;;) {
      // Acquire: pairs with the rehash's release store, so the new table's
      // buckets and queues are visible.
      table* t = current.load(std::memory_order_acquire);
      bucket& b = t->bucket_for(address);
      b.lock.lock();
      if (current.load(std::memory_order_relaxed) == t) {
        table_ = t;
        bucket_ = &b;
        return;
      }
      b.lock.unlock();
    }
  }
  bucket_guard(const bucket_guard&) = delete;
  bucket_guard& operator=(const bucket_guard&) = delete;
  ~bucket_guard() { bucket_->lock.unlock(); }

  bucket& b() const noexcept { return *bucket_; }
  table& t() const noexcept { return *table_; }

  // Queues `w`; returns whether the table should grow now (after unlocking).
  bool enqueue(waiter& w) noexcept {
    if (!bucket_->enqueue(w)) return false;
    return table_->overfull(table_->crowded.fetch_add(1, std::memory_order_relaxed) + 1);
  }
  // Removes `w` (queued on `address`) given its queue's link from find();
  // returns whether other waiters remain on `address`.
  bool remove(waiter** link, waiter& w) noexcept {
    assert(link && "a queued waiter's address has a queue");
    if (!bucket_->remove(link, w)) return true;
    if (!bucket_->empty()) table_->crowded.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }

 private:
  table* table_;
  bucket* bucket_;
};

// Locks every bucket of the current table, in index order (the one order
// used by every thread that takes more than one bucket lock: rehashes and
// the fork handler; everyone else holds one at a time), and returns it. Holds
// them with the table current: nothing can change in the lot until
// unlock_all().
table* lock_all() noexcept {
  for (;;) {
    table* t = current.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < t->size; ++i)
      t->buckets[i].lock.lock();
    // A rehash publishes only while holding all of these: if `t` is still
    // current now, it stays so until we unlock.
    if (current.load(std::memory_order_relaxed) == t) return t;
    for (std::size_t i = 0; i < t->size; ++i)
      t->buckets[i].lock.unlock();
  }
}

void unlock_all(table* t) noexcept {
  for (std::size_t i = 0; i < t->size; ++i)
    t->buckets[i].lock.unlock();
}

table* make_table(std::size_t size) noexcept {
  unsigned bits = 0;
  while ((std::size_t{1} << bits) < size)
    ++bits;
  auto* buckets = new (std::nothrow) bucket[std::size_t{1} << bits];
  if (!buckets) return nullptr;
  auto* t = new (std::nothrow)
      table{buckets, std::size_t{1} << bits, 64 - bits, nullptr, true, 0};
  if (!t) delete[] buckets;
  return t;
}

// Moves every queue of `from` (whose locks the caller holds) into `to` (not
// yet published: no lock needed) and publishes `to`. A queue moves whole, by
// its head: its waiters' links do not change. No waiter is lost or doubled:
// each queue is unlinked from one bucket and linked into exactly one other,
// all while no other thread can see either table's queues.
void move_and_publish(table* from, table* to) noexcept {
  std::size_t crowded = 0;
  for (std::size_t i = 0; i < from->size; ++i) {
    waiter* heads = from->buckets[i].take_queues();
    while (waiter* head = heads) {
      heads = access::queue_next(*head);
      crowded += to->bucket_for(access::address(*head)).add_queue(*head);
    }
  }
  to->crowded.store(crowded, std::memory_order_relaxed);
  to->previous = from;
  // Release: pairs with bucket_guard's acquire load.
  current.store(to, std::memory_order_release);
}

// Replaces `seen` with a table of `size` buckets, unless another rehash
// replaced it first. The new table is allocated before any lock is taken (a
// failed allocation leaves the lot as it is: slower, still correct).
bool rehash(table* seen, std::size_t size) noexcept {
  table* fresh = make_table(size);
  if (!fresh) return false;
  table* t = lock_all();
  if (t != seen) {
    unlock_all(t);
    delete[] fresh->buckets;
    delete fresh;
    return false;
  }
  move_and_publish(t, fresh);
  unlock_all(t);
  return true;
}

// Grows the table after an enqueue found it overfull (outside every lock).
void grow() noexcept {
  table* t = current.load(std::memory_order_acquire);
  if (!t->overfull()) return;  // another thread grew it meanwhile
  // At most crowded + size addresses are queued: give each a bucket.
  const std::size_t addresses = t->crowded.load(std::memory_order_relaxed) + t->size;
  std::size_t size = t->size * 2;
  while (size < addresses)
    size *= 2;
  rehash(t, size);
}

// fork(): the child has only the forking thread. before_fork (in the parent)
// holds every bucket lock across the fork, so no queue is half changed and no
// rehash is under way when the address space is copied; the parent then
// releases them. The child drops the entries of parked threads (those
// threads do not exist in the child: a wake-up handed to one would be lost),
// keeps the coroutine entries (their frames were copied), and releases the
// locks, including any lock of a retired table that a vanished thread held
// while it retried on the current one.
table* forking = nullptr;  // the table locked by before_fork (one fork at a time)

void before_fork() noexcept { forking = lock_all(); }
void after_fork_in_parent() noexcept { unlock_all(forking); }
void after_fork_in_child() noexcept {
  table* t = forking;
  std::size_t crowded = 0;
  for (std::size_t i = 0; i < t->size; ++i) {
    bucket& b = t->buckets[i];
    waiter* heads = b.take_queues();
    while (waiter* head = heads) {
      heads = access::queue_next(*head);
      for (waiter* w = head; w;) {
        waiter* next = access::next(*w);
        if (access::coroutine(*w)) crowded += b.enqueue(*w);
        w = next;
      }
    }
  }
  t->crowded.store(crowded, std::memory_order_relaxed);
  for (table* old = t->previous; old; old = old->previous)
    unlock_all(old);
  unlock_all(t);
}

[[maybe_unused]] const bool fork_handler_registered =
    (platform::at_fork(before_fork, after_fork_in_parent, after_fork_in_child), true);

// Coroutines made ready on this thread, resumed in FIFO order by the
// outermost drain(). A coroutine resumed by drain() that unparks another one
// only appends it here, so resumption never recurses.
struct resume_queue {
  waiter* head = nullptr;
  waiter* tail = nullptr;
  bool draining = false;
};
thread_local resume_queue resumes;

void drain() noexcept {
  resume_queue& q = resumes;
  if (q.draining) return;  // an outer drain() on this thread resumes it
  q.draining = true;
  // q.head is re-read after every resume: a resumed coroutine may withdraw
  // (cancel) entries still pending here.
  while (waiter* w = q.head) {
    q.head = access::next(*w);
    if (!q.head) q.tail = nullptr;
    // After resume() the frame holding `w` may be gone: read what we need first.
    const std::coroutine_handle<> h = access::coroutine(*w);
    access::where(*w).store(access::idle, std::memory_order_relaxed);
    h.resume();
  }
  q.draining = false;
}

// Wakes the waiters on the singly linked list `list` (linked through next_),
// which were removed from their queue under the lock that the caller has
// now released.
void wake(waiter* list) noexcept {
  bool any_coroutine = false;
  // With masked waits, the threads' wake slot (one: the list's waiters were
  // all queued on one address) and their bits, woken once at the end.
  std::atomic<std::uint32_t>* slot = nullptr;
  std::uint32_t bits = 0;
  while (waiter* w = list) {
    list = access::next(*w);  // read before the wake: `w` may be gone right after
    detail::wait_group* group = access::group(*w);
    if (group && access::coroutine(*w)) {
      // A coroutine multi-waiter that may still be queuing its entries: the
      // entry is left idle first (after the fetch_or the frame may be gone),
      // and only if the owner had finished queuing is it resumed here;
      // otherwise finish_queuing() sees `woken` and the owner resumes itself.
      access::where(*w).store(access::idle, std::memory_order_relaxed);
      // Release: the owner's finish_queuing (acquire) sees our writes.
      if (group->signal.fetch_or(detail::wait_group::woken, std::memory_order_acq_rel) &
          detail::wait_group::queuing)
        continue;
      access::where(*w).store(access::resume_pending, std::memory_order_relaxed);
    } else if (group) {
      // A thread multi-waiter sleeps on its group's word, not on the entry.
      // C, for groups: release pairs with the owner's acquire loads.
      group->signal.fetch_or(detail::wait_group::woken, std::memory_order_release);
      platform::wake_one(group->signal);  // a stale address is harmless, as below
      continue;
    }
    if (access::coroutine(*w)) {
      access::next(*w) = nullptr;
      resume_queue& q = resumes;
      (q.tail ? access::next(*q.tail) : q.head) = w;
      q.tail = w;
      any_coroutine = true;
    } else {
      const bool masked = platform::masked_waits();
      if (masked) {
        // Read before lot_C: after it, the entry may be gone.
        std::atomic<std::uint32_t>& s = slot_for(access::address(*w));
        assert(!slot || slot == &s);
        slot = &s;
        bits |= std::uint32_t{1} << access::wake_bit(*w);
      }
      // lot_C: release pairs with the acquire load in sleep_while() (lot_D): the
      // unparker's writes and the unpark token are visible to the woken thread.
      access::wake_state(*w).store(woken, std::memory_order_release);
      // The thread may have seen `woken` already and returned, popping the
      // entry's stack frame: waking a stale address is harmless (see
      // platform::wake_one).
      if (!masked) platform::wake_one(access::wake_state(*w));
    }
  }
  // One system call for every thread woken (see "Wake slots"), before the
  // coroutines run, which may take long.
  if (slot) wake_slot_bits(*slot, bits);
  if (any_coroutine) drain();
}

// Notifies the observer groups on `list` (wait_group::notify_next), which
// their entries' unparkers linked under the queue lock they have now
// released. A group may be gone once `woken` is set: read it first.
void notify(detail::wait_group* list) noexcept {
  while (detail::wait_group* g = list) {
    list = g->notify_next;
    if (g->coroutine) {
      // Release/acquire: the owner's finish_queuing, or on_notify, sees our
      // writes. Still queuing: the owner sees `woken` there and retries.
      if (g->signal.fetch_or(detail::wait_group::woken, std::memory_order_acq_rel) &
          detail::wait_group::queuing)
        continue;
      g->on_notify(g->context);
    } else {
      // C, for groups: release pairs with the owner's acquire loads.
      g->signal.fetch_or(detail::wait_group::woken, std::memory_order_release);
      platform::wake_one(g->signal);  // a stale address is harmless (see wake())
    }
  }
}

// Collects dequeued waiters in FIFO order for wake(), and the observer
// groups met on the way for notify().
struct wake_list {
  waiter* head = nullptr;
  waiter* tail = nullptr;
  std::size_t count = 0;
  detail::wait_group* observers = nullptr;
  // Under the queue lock: the first unparker to meet the group's entry links
  // it (later ones leave the notification to that one).
  void observe(detail::wait_group& g) noexcept {
    if (g.signal.fetch_or(detail::wait_group::notified, std::memory_order_relaxed) &
        detail::wait_group::notified)
      return;
    g.notify_next = observers;
    observers = &g;
  }
  void push(waiter& w) noexcept {
    access::next(w) = nullptr;
    (tail ? access::next(*tail) : head) = &w;
    tail = &w;
    ++count;
  }
  void set_token(token t) noexcept {
    for (waiter* w = head; w; w = access::next(*w))
      access::unpark_token(*w) = t;
  }
};

// A multi-waiter's group (see wait_group in parking_lot.hpp). begin_claim,
// under the queue lock of one of its entries, makes it `pending` unless it is
// already won or given up (false); end_claim ends the pending state: `won`
// by `winner`, or `open` again when the filter did not choose the entry.
// While pending, other unparkers and the owner wait: the pending step is the
// filter call only, which takes no lock, so the wait is short and cannot
// deadlock (a thread that waits holds at most one queue lock, and the
// pending holder needs none).
void claim_pause(unsigned spins) noexcept {
  if (spins < 64 && platform::multi_cpu())
    platform::cpu_relax();
  else
    platform::yield();
}

bool begin_claim(detail::wait_group& g) noexcept {
  for (unsigned spins = 0;; ++spins) {
    std::uint32_t c = detail::wait_group::open;
    // Acquire: pairs with the release that ended another unparker's pending step.
    if (g.claim.compare_exchange_weak(c, detail::wait_group::pending,
                                      std::memory_order_acquire,
                                      std::memory_order_relaxed))
      return true;
    if (c == detail::wait_group::won || c == detail::wait_group::by_owner) return false;
    if (c == detail::wait_group::pending) claim_pause(spins);
  }
}

void end_claim(detail::wait_group& g, waiter* winner) noexcept {
  if (winner) g.winner = winner;
  // Release: the owner that reads `won` (acquire) sees `winner`.
  g.claim.store(winner ? detail::wait_group::won : detail::wait_group::open,
                std::memory_order_release);
}

// Removes from the queue of `address` the waiters that `choose(waiter&)`
// accepts (it returns a filter_op), in FIFO order. Visits only that queue.
// Sets `have_more` to whether waiters remain on `address`.
template <class Choose>
wake_list dequeue(bucket_guard& g, const void* address, bool& have_more,
                  Choose&& choose) noexcept {
  wake_list out;
  waiter** link = g.b().find(address);
  have_more = link != nullptr;
  for (waiter* w = link ? *link : nullptr; w;) {
    waiter* next = access::next(*w);
    // A multi-waiter's entry: claim its group before the filter sees it; one
    // claimed elsewhere is skipped as if it were not queued (see wait_group).
    detail::wait_group* group = access::group(*w);
    // An observer (wait_all): never chosen, never granted; its owner is
    // notified. The claim word is fixed before the entry is queued.
    if (group &&
        group->claim.load(std::memory_order_relaxed) == detail::wait_group::observer) {
      out.observe(*group);
      w = next;
      continue;
    }
    if (group && !begin_claim(*group)) {
      w = next;
      continue;
    }
    const filter_op op = choose(*w);
    if (group) end_claim(*group, op == filter_op::unpark ? w : nullptr);
    if (op == filter_op::stop) break;
    if (op == filter_op::unpark) {
      have_more = g.remove(link, *w);
      // A coroutine entry stays "waiting" until it is resumed, so that
      // cancel() can still withdraw it (see cancel_status::woken).
      if (access::coroutine(*w))
        access::where(*w).store(access::resume_pending, std::memory_order_relaxed);
      out.push(*w);
    }
    w = next;
  }
  return out;
}

// Interrupts a parked thread when a stop is requested.
struct interrupter {
  waiter* entry;
  void operator()() const noexcept {
    std::uint32_t expected = sleeping;
    // Only a sleeping thread is interrupted; `woken` is final and wins. The
    // entry outlives this call (the parked thread's stop_callback destructor
    // waits for it). Relaxed: with masked waits, the release of lot_E in
    // wake_slot_bits publishes it; without, the thread sleeps on this very
    // word, and only needs to see the value.
    if (!access::wake_state(*entry).compare_exchange_strong(expected, interrupted,
                                                            std::memory_order_relaxed))
      return;
    if (platform::masked_waits())
      wake_slot_bits(slot_for(access::address(*entry)),
                     std::uint32_t{1} << access::wake_bit(*entry));
    else
      platform::wake_one(access::wake_state(*entry));
  }
};

}  // namespace

namespace detail {

park_result park(const void* address, function_ref<bool()> validate,
                 function_ref<void()> before_sleep, function_ref<void(bool)> timed_out,
                 token park_token, deadline until, const std::stop_token* stop,
                 const wait_site& site) noexcept {
  waiter self;
  access::address(self) = address;
  access::park_token(self) = park_token;
  // For beacon/inspect.hpp; before the lock, so the lock is held no longer.
  access::site(self) = site;
  access::thread(self) = std::this_thread::get_id();
  access::since_ns(self) = platform::coarse_now_ns();
  access::wake_bit(self) = this_thread_wake_bit();  // before the lock that publishes it
  bool grow_now;
  {
    bucket_guard g(address);
    if (!validate()) return {park_status::invalid, default_token};
    grow_now = g.enqueue(self);
  }
  before_sleep();
  // A rehash moves our queue whole, under every bucket lock: an unparker
  // finds us in whichever table is current when it takes its lock.
  if (grow_now) grow();

  park_status why = park_status::timed_out;
  {
    // Registered after the entry is queued: a stop requested earlier runs
    // the interrupter right here, and the loop below sees `interrupted`.
    std::optional<std::stop_callback<interrupter>> on_stop;
    if (stop && stop->stop_possible()) on_stop.emplace(*stop, interrupter{&self});
    const std::uint32_t s = sleep_while(self, sleeping, until);
    if (s == woken) return {park_status::unparked, access::unpark_token(self)};
    if (s == interrupted) why = park_status::stopped;
  }

  // Timed out or stopped: take ourselves out of the queue, unless an
  // unparker dequeued us first, in which case its wake is on its way and it
  // is ours (a wake-up is never dropped on the floor). The table may have
  // grown since we parked: bucket_guard locks the current one.
  {
    bucket_guard g(address);
    if (access::where(self).load(std::memory_order_relaxed) == access::in_queue) {
      const bool more = g.remove(g.b().find(address), self);
      timed_out(!more);
      return {why, default_token};
    }
  }
  // Until then the state is `sleeping` (timed out) or `interrupted`, and the
  // only change left is the unparker's `woken` (the stop callback is gone).
  for (std::uint32_t s = sleeping;;) {
    s = sleep_while(self, s, deadline::never());
    if (s == woken) return {park_status::unparked, access::unpark_token(self)};
  }
}

namespace {

// Queues a coroutine's `entry` (park_async, park_grouped) unless validate()
// fails; false then.
bool enqueue_coroutine(const void* address, function_ref<bool()> validate, waiter& entry,
                       std::coroutine_handle<> coroutine, token park_token) noexcept {
  access::address(entry) = address;
  access::park_token(entry) = park_token;
  access::coroutine(entry) = coroutine;
  // For beacon/inspect.hpp (the site was set by the awaiter): while the
  // entry is in no queue, before the lock that publishes it.
  access::since_ns(entry) = platform::coarse_now_ns();
  bool grow_now;
  {
    bucket_guard g(address);
    if (!validate()) return false;
    grow_now = g.enqueue(entry);
  }
  // `entry` may be resumed and gone by now; grow() does not touch it.
  if (grow_now) grow();
  return true;
}

}  // namespace

bool park_async(const void* address, function_ref<bool()> validate, waiter& entry,
                std::coroutine_handle<> coroutine, token park_token) noexcept {
  return enqueue_coroutine(address, validate, entry, coroutine, park_token);
}

void resume_here(waiter& entry, std::coroutine_handle<> coroutine) noexcept {
  access::coroutine(entry) = coroutine;
  access::next(entry) = nullptr;
  access::where(entry).store(access::resume_pending, std::memory_order_relaxed);
  resume_queue& q = resumes;
  (q.tail ? access::next(*q.tail) : q.head) = &entry;
  q.tail = &entry;
  drain();
}

cancel_status cancel(waiter& entry, function_ref<void(bool)> on_removed) noexcept {
  if (access::where(entry).load(std::memory_order_acquire) == access::resume_pending) {
    // Woken, not yet resumed: the entry is on this thread's resume queue
    // (withdrawing one pending on another thread would race its resumption;
    // the contract forbids that). Unlink it; O(length of the queue).
    resume_queue& q = resumes;
    waiter* prev = nullptr;
    for (waiter* w = q.head; w; prev = w, w = access::next(*w)) {
      if (w != &entry) continue;
      (prev ? access::next(*prev) : q.head) = access::next(*w);
      if (q.tail == w) q.tail = prev;
      access::next(*w) = nullptr;
      access::where(*w).store(access::idle, std::memory_order_relaxed);
      return cancel_status::woken;
    }
    // Not on this thread's queue: another thread is about to resume the
    // coroutine, which the caller is withdrawing at the same time. That race
    // is outside the contract, and no answer is safe (`woken` would make the
    // caller pass on a grant the coroutine also consumes; `not_waiting` would
    // let it destroy a frame about to be resumed): debug builds stop here.
    assert(false && "parking_lot::cancel(): resumption pending on another thread");
    return cancel_status::woken;
  }
  const void* address = access::address(entry);
  bucket_guard g(address);
  if (access::where(entry).load(std::memory_order_relaxed) != access::in_queue)
    return cancel_status::not_waiting;
  const bool more = g.remove(g.b().find(address), entry);
  on_removed(!more);
  return cancel_status::removed;
}

unpark_result unpark_one(const void* address,
                         function_ref<token(unpark_result)> callback) noexcept {
  unpark_result r;
  wake_list list;
  {
    bucket_guard g(address);
    bool taken = false, more = false;
    list = dequeue(g, address, more, [&](waiter&) {
      if (taken) return filter_op::stop;
      taken = true;
      return filter_op::unpark;
    });
    r.unparked = list.count;
    if (r.unparked) {
      r.have_more = more;
      r.be_fair = g.b().fair_due();
    }
    list.set_token(callback(r));
  }
  wake(list.head);
  notify(list.observers);
  return r;
}

std::size_t unpark_all(const void* address, token unpark_token) noexcept {
  wake_list list;
  {
    bucket_guard g(address);
    bool more = false;
    list = dequeue(g, address, more, [](waiter&) { return filter_op::unpark; });
    list.set_token(unpark_token);
  }
  const std::size_t n = list.count;
  wake(list.head);
  notify(list.observers);
  return n;
}

unpark_result unpark_filter(const void* address, function_ref<filter_op(token)> filter,
                            function_ref<token(unpark_result)> callback) noexcept {
  unpark_result r;
  wake_list list;
  {
    bucket_guard g(address);
    bool more = false;
    list = dequeue(g, address, more,
                   [&](waiter& w) { return filter(access::park_token(w)); });
    r.unparked = list.count;
    r.have_more = more;
    if (r.unparked) r.be_fair = g.b().fair_due();
    list.set_token(callback(r));
  }
  wake(list.head);
  notify(list.observers);
  return r;
}

std::size_t queued_at(const void* address) noexcept {
  bucket_guard g(address);
  std::size_t n = 0;
  for (waiter* w = g.b().first_at(address); w; w = access::next(*w))
    ++n;
  return n;
}

}  // namespace detail
}  // namespace beacon::parking_lot

namespace beacon::detail {

// for_each_waiter's walk. Copies each bucket's entries, and the frames of
// their recorded traces, under that bucket's lock only, into room reserved
// before taking it (no allocation, which may run a user's operator new,
// under a lock); a bucket that does not fit is counted, unlocked, made room
// for and read again. A rehash moves queues between tables: if the table was
// replaced during the walk, the copies may miss or double entries that moved,
// so the walk starts again on the new table (tables only grow, so this ends).
// A trace (wait_site::trace) belongs to its waiter and does not change while
// it is queued, so the lock that keeps the entry queued keeps the copy
// whole. The traces' spans are set at the end, once `frames` no longer
// grows: while walking, each holds only its length.
waiter_snapshot snapshot_waiters() {
  using parking_lot::access;
  using parking_lot::current;
  using parking_lot::waiter;
  waiter_snapshot snap;
  std::vector<waiter_info>& out = snap.waiters;
  std::vector<void*>& frames = snap.frames;
  for (bool done = false; !done;) {
    out.clear();
    frames.clear();
    done = true;
    parking_lot::table* t = current.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < t->size && done;) {
      parking_lot::bucket& b = t->buckets[i];
      std::size_t needed = 0, needed_frames = 0;
      {
        std::lock_guard lock(b.lock);
        if (current.load(std::memory_order_relaxed) != t) {
          done = false;  // replaced: start again on the current table
          break;
        }
        b.for_each_waiter([&](waiter& w) {
          ++needed;
          if (const trace_record* r = access::site(w).trace) needed_frames += r->size;
        });
        if (out.size() + needed <= out.capacity() &&
            frames.size() + needed_frames <= frames.capacity()) {
          b.for_each_waiter([&](waiter& w) {
            const parking_lot::wait_site& site = access::site(w);
            waiter_info& info = out.emplace_back();
            info.address = access::address(w);
            info.primitive = site.name ? site.name : "";
            info.coroutine = static_cast<bool>(access::coroutine(w));
            if (info.coroutine)
              info.frame = access::coroutine(w).address();
            else
              info.thread = access::thread(w);
            // Stored as a duration since the epoch; made a wait time below.
            info.waiting = std::chrono::nanoseconds(access::since_ns(w));
            info.where = site.where;
            info.group = reinterpret_cast<std::uintptr_t>(access::group(w));
            if (site.trace && site.trace->size) {
              // Its length only; the span is made below.
              const std::span<void* const> from = site.trace->view();
              info.trace = {frames.data() + frames.size(), from.size()};
              frames.insert(frames.end(), from.begin(), from.end());  // fits: reserved
            }
          });
          ++i;
          continue;
        }
      }
      // Not enough room: grow with no lock held, then read the bucket again.
      out.reserve(std::max(out.size() + needed + 16, 2 * out.capacity()));
      frames.reserve(std::max(frames.size() + needed_frames, 2 * frames.capacity()));
    }
  }
  const auto now = std::chrono::nanoseconds(platform::coarse_now_ns());
  std::size_t at = 0;  // the traces' frames lie in `frames` in the waiters' order
  for (waiter_info& w : out) {
    w.waiting = now - w.waiting;
    const std::size_t n = w.trace.size();
    w.trace = std::span<void* const>(frames.data() + at, n);
    at += n;
  }
  return snap;
}

}  // namespace beacon::detail

namespace beacon::parking_lot {
namespace detail {

void copy_trace_at(const void* address, beacon::detail::trace_record& out) noexcept {
  out.size = 0;
  bucket_guard g(address);
  for (waiter* w = g.b().first_at(address); w; w = access::next(*w)) {
    // Under the queue lock, while the waiter (and the trace it owns) is queued.
    if (const beacon::detail::trace_record* r = access::site(*w).trace; r && r->size) {
      out = *r;
      return;
    }
  }
}

void rehash_for_testing(std::size_t buckets) noexcept {
  // Retried only when another rehash got in first; gives up if allocation fails.
  for (int tries = 0; tries < 100; ++tries)
    if (rehash(current.load(std::memory_order_acquire), buckets)) return;
}

std::size_t wake_slot_for_testing(const void* address) noexcept {
  return slot_index(address);
}

void set_wake_bit_for_testing(unsigned bit) noexcept {
  thread_wake_bit = static_cast<std::uint8_t>(bit % 32);
}

std::size_t bucket_count_for_testing() noexcept {
  return current.load(std::memory_order_acquire)->size;
}

void free_retired_tables_for_testing() noexcept {
  table* t = current.load(std::memory_order_acquire);
  table* old = std::exchange(t->previous, nullptr);
  while (old) {
    table* next = old->previous;
    if (old->allocated) {
      delete[] old->buckets;
      delete old;
    }
    old = next;
  }
}

// --- Waits on several addresses (wait_group; see parking_lot.hpp) ---------

bool park_grouped(const void* address, function_ref<bool()> validate, waiter& entry,
                  wait_group& group, token park_token) noexcept {
  access::group(entry) = &group;
  // A thread owner's entries are the thread's own (inspect.hpp).
  if (!group.coroutine) access::thread(entry) = std::this_thread::get_id();
  return enqueue_coroutine(address, validate, entry, group.coroutine, park_token);
}

bool claim_for_owner(wait_group& group) noexcept {
  for (unsigned spins = 0;; ++spins) {
    std::uint32_t c = wait_group::open;
    // Acquire: on failure with `won`, the winner (written before the release
    // store in end_claim) is visible.
    if (group.claim.compare_exchange_weak(c, wait_group::by_owner,
                                          std::memory_order_acquire,
                                          std::memory_order_acquire))
      return true;
    if (c == wait_group::won) return false;
    if (c == wait_group::pending) claim_pause(spins);
  }
}

namespace {
struct group_interrupter {
  wait_group* group;
  void operator()() const noexcept {
    group->signal.fetch_or(wait_group::interrupted, std::memory_order_relaxed);
    platform::wake_one(group->signal);
  }
};
}  // namespace

bool sleep_grouped(wait_group& group, deadline until,
                   const std::stop_token* stop) noexcept {
  std::optional<std::stop_callback<group_interrupter>> on_stop;
  if (stop && stop->stop_possible()) on_stop.emplace(*stop, group_interrupter{&group});
  for (;;) {
    // D, for groups: acquire pairs with the release fetch_or in wake().
    const std::uint32_t s = group.signal.load(std::memory_order_acquire);
    if (s & wait_group::woken) return true;
    if (s & wait_group::interrupted) return false;
    if (!platform::wait(group.signal, s, until)) return false;  // deadline passed
  }
}

void wait_woken(wait_group& group) noexcept {
  for (;;) {
    const std::uint32_t s = group.signal.load(std::memory_order_acquire);  // D
    if (s & wait_group::woken) return;
    platform::wait(group.signal, s, deadline::never());
  }
}

bool finish_queuing(wait_group& group) noexcept {
  // Acquire: pairs with wake()'s acq_rel fetch_or, when it came first.
  return (group.signal.fetch_and(~wait_group::queuing, std::memory_order_acq_rel) &
          wait_group::woken) != 0;
}

}  // namespace detail
}  // namespace beacon::parking_lot
