// once_traces_mixed_test's second unit: mixed_unit.cpp again, built with
// BEACON_AWAITER_TRACES=0 (tests/CMakeLists.txt), so it defines run_traces_0.
#include "mixed_unit.cpp"  // NOLINT(bugprone-suspicious-include)
