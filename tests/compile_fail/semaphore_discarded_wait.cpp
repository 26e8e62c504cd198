// Must NOT compile with -Werror=unused-result: a discarded semaphore wait
// gives its permit back at once ([[nodiscard]]). With -DKEEP_THE_GUARD it
// must compile (the control that proves the failure is the discard).
#include "beacon/semaphore.hpp"

#include <chrono>

void discard(beacon::semaphore& s) {
#if defined(KEEP_THE_GUARD)
  auto a = s.wait();
  auto b = s.try_wait();
  auto c = s.wait_for(std::chrono::milliseconds(1));
  a.forget();
  (void)b;
  (void)c;
#elif defined(DISCARD_TRY_WAIT)
  s.try_wait();
#elif defined(DISCARD_WAIT_FOR)
  s.wait_for(std::chrono::milliseconds(1));
#else
  s.wait();
#endif
}
