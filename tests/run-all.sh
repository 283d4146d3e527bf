#!/usr/bin/env bash
# The README's test command. Installs missing Debian packages, then builds and
# runs every test: unit and differential tests (release, ASan+UBSan, TSan),
# the libFuzzer target for a bounded time, and each benchmark's built-in
# correctness check with a token timing run.
#   ONVIF_FUZZ_SECONDS  fuzzing time (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
third_party/install-deps.sh

jobs=$(nproc)
fuzz_seconds=${ONVIF_FUZZ_SECONDS:-60}
passed=0
failed=0

# run_ctest PRESET: build and test one preset, adding its counts to the totals.
run_ctest() {
  local preset=$1 log
  log=$(mktemp)
  echo "=== $preset: configure, build, test"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j"$jobs"
  if ctest --preset "$preset" -j"$jobs" 2>&1 | tee "$log"; then :; fi
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1 || true)
  rm -f "$log"
  if [[ -z "$line" ]]; then
    echo "run-all: $preset ran no tests" >&2
    exit 1
  fi
  local fail total
  fail=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
  passed=$((passed + total - fail))
  failed=$((failed + fail))
  if [[ "$fail" -ne 0 ]]; then
    echo "run-all: $preset: $fail of $total tests failed" >&2
    echo "$passed passed, $failed failed"
    exit 1
  fi
}

run_ctest release
run_ctest asan
run_ctest tsan

echo "=== fuzz: scanner vs pugixml reference for ${fuzz_seconds}s (clang, ASan+UBSan)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$jobs" --target scanner_fuzz
tests/fuzz/run.sh build/fuzz "$fuzz_seconds"
passed=$((passed + 1))

echo "=== benchmarks: built-in correctness checks, token timing"
build/release/bench/scanner_bench --benchmark_min_time=0.01 >/dev/null
build/release/bench/seen_table_bench --benchmark_min_time=0.01 >/dev/null
bench/spec_sweep_bench.sh --cameras 200 --runs 1 --repeats "4 1" --check >/dev/null
passed=$((passed + 3))

echo "=== perf gate: bench/perf_gate against bench/baseline.json"
bench/perf_gate --build-dir build/release
passed=$((passed + 1))

echo "$passed passed, $failed failed"
