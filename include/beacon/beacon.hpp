// beacon/beacon.hpp — every public beacon header.
#pragma once

#include "beacon/auto_reset_event.hpp"
#include "beacon/countdown_event.hpp"
#include "beacon/event_count.hpp"
#include "beacon/inspect.hpp"
#include "beacon/local_once_event.hpp"
#include "beacon/manual_reset_event.hpp"
#include "beacon/once_event.hpp"
#include "beacon/parking_lot.hpp"
#include "beacon/semaphore.hpp"
#include "beacon/waitable.hpp"

#if defined(__linux__)  // eventfd and epoll
#include "beacon/os_event.hpp"
#include "beacon/wait_context.hpp"
#endif

/// @namespace beacon
/// Event synchronization primitives that a blocked thread and a coroutine can
/// wait on alike (see README.md). Each type's comment states its contract,
/// memory ordering and lifetime; the `waitable` concept states the rules that
/// every wait follows.
