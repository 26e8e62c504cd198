// Built with BEACON_AWAITER_TRACES=0: calls take(), defined in a unit built
// with 1 (mismatch_define.cpp). Must not link.
#include "beacon/once_event.hpp"

int take(beacon::once_event<int>& ev);

int main() {
  beacon::once_event<int> ev;
  return take(ev);
}
