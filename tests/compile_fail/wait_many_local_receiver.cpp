// Must NOT compile: wait_any / wait_all / when_any / when_all refuse a
// local_once_event's receiver (its sender runs on the waiting thread and
// cannot reach a waiter queued with other objects), with a message that says
// so (ctest checks it). With -DONCE_EVENT_RECEIVER (a once_event's receiver)
// it must compile: the control that proves the failure is the receiver's kind.
#include "beacon/local_once_event.hpp"
#include "beacon/once_event.hpp"
#include "beacon/wait_many.hpp"

void wait_on(beacon::auto_reset_event& e) {
#if defined(ONCE_EVENT_RECEIVER)
  auto [tx, rx] = beacon::make_once<int>();
#else
  auto [tx, rx] = beacon::make_local_once<int>();
#endif
#if defined(WAIT_ALL)
  (void)beacon::wait_all(e, rx);
#else
  (void)beacon::wait_any(e, rx);
#endif
}
