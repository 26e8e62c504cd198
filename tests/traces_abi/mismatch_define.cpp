// Built with BEACON_AWAITER_TRACES=1: defines a function taking a once
// type. mismatch_call.cpp, built with 0, calls it: the link must fail (the
// two see different types), where it used to link and share one layout.
#include "beacon/once_event.hpp"

int take(beacon::once_event<int>& ev) { return ev.is_bound() ? 1 : 0; }
