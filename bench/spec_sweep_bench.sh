#!/usr/bin/env bash
# How long a sweep of spec-mode cameras takes and how many it finds, in the
# network sandbox (tests/lab/lab.sh; needs root). One lab, one swarm of
# --cameras spec-mode cameras (each answers after rand[0, 500 ms]), then
# --runs sweeps for each --repeat value, interleaved so machine load hits
# every setting alike. Prints one JSON line per sweep and one summary line per
# setting with the median elapsed_ms and the smallest count found.
#   bench/spec_sweep_bench.sh [--build-dir build/release] [--cameras 1000]
#                             [--runs 7] [--repeats "4 2"] [--check]
# --check: exit 1 when a sweep found fewer than --cameras (CI uses it).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/release cameras=1000 runs=7 repeats="4 2" check=0
while (($#)); do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --cameras) cameras=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --check) check=1; shift ;;
    *) echo "spec_sweep_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "spec_sweep_bench.sh: needs root (network namespaces)" >&2; exit 2; }
[[ "$cameras" =~ ^[0-9]+$ && "$runs" =~ ^[0-9]+$ ]] || { echo "spec_sweep_bench.sh: --cameras and --runs are counts" >&2; exit 2; }
sweep=$build/cli/onvif-sweep
swarm=$build/cli/onvif-swarm
for bin in "$sweep" "$swarm"; do
  [[ -x "$bin" ]] || { echo "spec_sweep_bench.sh: $bin not built" >&2; exit 2; }
done

lab=ssb$$
swarm_pid=""
cleanup() {
  [[ -n "$swarm_pid" ]] && kill "$swarm_pid" 2>/dev/null
  wait 2>/dev/null || true
  tests/lab/lab.sh down --name "$lab" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

tests/lab/lab.sh up --name "$lab" --nics 1 --family v4 >/dev/null  # IPv4 figures, comparable run to run
# The rate limit is per source and second; the sweeps follow each other closely.
tests/lab/lab.sh exec --name "$lab" cam0 -- "$swarm" --cameras "$cameras" --mode spec \
  --hello=false --bye=false --rate-limit 0 --exit-after 600s 2>/dev/null &
swarm_pid=$!
for _ in $(seq 100); do
  ip netns exec "$lab-cam0" ss -Hunl 'sport = :3702' | grep -q 3702 && break
  sleep 0.1
done

declare -A elapsed found
short=0
for ((run = 0; run < runs; run++)); do
  for repeat in $repeats; do
    out=$(tests/lab/lab.sh exec --name "$lab" host -- "$sweep" --iface n0 --format ndjson \
      --repeat "$repeat" --timeout 10s)
    n=$(grep -c '"event":"found"' <<<"$out" || true)
    ms=$(grep '"event":"summary"' <<<"$out" | sed -E 's/.*"elapsed_ms":([0-9]+).*/\1/')
    echo "{\"cameras\":$cameras,\"repeat\":$repeat,\"run\":$run,\"found\":$n,\"elapsed_ms\":$ms}"
    elapsed[$repeat]+="$ms "
    ((n == cameras)) || short=1
    found[$repeat]+="$n "
  done
done
for repeat in $repeats; do
  median=$(tr ' ' '\n' <<<"${elapsed[$repeat]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  least=$(tr ' ' '\n' <<<"${found[$repeat]}" | grep . | sort -n | head -1)
  echo "{\"summary\":true,\"cameras\":$cameras,\"repeat\":$repeat,\"runs\":$runs,\"median_elapsed_ms\":$median,\"min_found\":$least}"
done
if ((check && short)); then
  echo "spec_sweep_bench.sh: a sweep found fewer than $cameras cameras" >&2
  exit 1
fi
