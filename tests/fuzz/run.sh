#!/usr/bin/env bash
# Runs the scanner-vs-reference fuzzer for a bounded time.
#   tests/fuzz/run.sh BUILD_DIR SECONDS
# BUILD_DIR is a configured ONVIF_FUZZ=ON build (e.g. build/fuzz from
# `cmake --preset fuzz`) with scanner_fuzz built. The seed corpus
# (tests/corpus/{valid,malformed,regress}) is copied into a scratch dir under
# BUILD_DIR, so nothing in the source tree changes. Exits non-zero on any
# crash, sanitizer report or scanner/reference disagreement; crash inputs are
# left in BUILD_DIR/fuzz-run/artifacts/ (copy the ones worth keeping to
# tests/corpus/regress/). Prints the number of executions and the shape
# cache's hits and misses (the fuzzer also compares it with a cold scan).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build_dir=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
corpus_src="$here/../corpus"
fuzzer="$build_dir/tests/fuzz/scanner_fuzz"
if [[ ! -x "$fuzzer" ]]; then
  echo "run.sh: $fuzzer not found; build it first:" >&2
  echo "  cmake --preset fuzz && cmake --build --preset fuzz --target scanner_fuzz" >&2
  exit 2
fi

work="$build_dir/fuzz-run"
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
for group in valid malformed regress; do
  if [[ -d "$corpus_src/$group" ]]; then
    for f in "$corpus_src/$group"/*; do
      [[ -f "$f" ]] && cp "$f" "$work/corpus/$group--$(basename "$f")"
    done
  fi
done

log="$work/fuzz.log"
status=0
"$fuzzer" "$work/corpus" \
  -dict="$here/wsd.dict" \
  -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=70000 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
  >"$log" 2>&1 || status=$?

execs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -n 1)
if [[ -z "$execs" ]]; then
  execs=$(grep -oE '#[0-9]+' "$log" | tail -n 1 | tr -d '#')
fi
crashes=$(find "$work/artifacts" -type f | wc -l)
echo "scanner_fuzz: ${execs:-0} executions in ${seconds}s, exit status $status, $crashes artifact(s)"
grep -E '^scanner_fuzz: shape cache hits' "$log" | tail -n 1 || true
if [[ $status -ne 0 || $crashes -ne 0 ]]; then
  echo "run.sh: fuzzing failed; the log tail follows (full log: $log)" >&2
  tail -n 60 "$log" >&2
  find "$work/artifacts" -type f -exec echo "  crash input: {}" \; >&2
  exit 1
fi
