// once_traces_mixed_test: two translation units built with different
// BEACON_AWAITER_TRACES link into one program and each works (see
// mixed_unit.cpp).
#include <cstdio>

int run_traces_0();
int run_traces_1();

int main() {
  const int failures = run_traces_0() + run_traces_1();
  if (failures == 0) std::puts("units with and without awaiter traces work side by side");
  return failures == 0 ? 0 : 1;
}
