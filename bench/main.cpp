// The main() of every benchmark binary: Google Benchmark's, with the
// binary's report title and the usable CPUs in the JSON's context (read by
// tools/bench_report.py).
#include <benchmark/benchmark.h>

#include <string>

#include "harness.hpp"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("beacon_report", bench::report_title);
  benchmark::AddCustomContext("usable_cpus", std::to_string(bench::usable_cpus()));
  benchmark::AddCustomContext("quick", bench::quick() ? "1" : "0");
  bench::register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
