#!/usr/bin/env bash
# The gate must be able to fail: bench/perf_gate against a baseline out of
# reach exits 1 and names the figure, the baseline and the tolerance; against
# a reachable one it exits 0; a broken baseline or an unknown figure is a
# usage error (2).
#   perf_gate_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: perf_gate_test.sh BUILD_DIR}
gate="$(dirname "$0")/../../bench/perf_gate"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

baseline() {  # value of scanner.onvif_probematch.instructions
  cat >"$tmp/baseline.json" <<JSON
{"figures": {"scanner.onvif_probematch.instructions": {"value": $1, "better": "lower", "tolerance": 0.03}}}
JSON
}

baseline 100
"$gate" --build-dir "$build" --baseline "$tmp/baseline.json" >"$tmp/out" 2>"$tmp/err"
code=$?
[[ $code -eq 1 ]] || fail "out-of-reach baseline: exit $code, want 1; $(cat "$tmp/err")"
for want in "REGRESSION scanner.onvif_probematch.instructions" "baseline 100" "tolerance 3%"; do
  grep -qF "$want" "$tmp/err" || fail "stderr lacks '$want': $(cat "$tmp/err")"
done

baseline 1000000000
"$gate" --build-dir "$build" --baseline "$tmp/baseline.json" >"$tmp/out" 2>"$tmp/err"
code=$?
[[ $code -eq 0 ]] || fail "reachable baseline: exit $code, want 0; $(cat "$tmp/err")"
grep -q "scanner.onvif_probematch.instructions .* ok" "$tmp/out" || fail "no ok line: $(cat "$tmp/out")"

echo '{"figures": {' >"$tmp/baseline.json"
"$gate" --build-dir "$build" --baseline "$tmp/baseline.json" >/dev/null 2>"$tmp/err"
code=$?
[[ $code -eq 2 ]] || fail "broken baseline: exit $code, want 2"

baseline 100
"$gate" --build-dir "$build" --baseline "$tmp/baseline.json" --only no.such.figure >/dev/null 2>"$tmp/err"
code=$?
[[ $code -eq 2 ]] || fail "unknown figure: exit $code, want 2"

((failures == 0)) && echo "perf_gate_test: ok"
exit $((failures > 0))
