#!/usr/bin/env bash
# The storm benchmark: onvif-sweep against a swarm answering in storm mode
# (every camera at once), next to the floor, a raw drain of the same storm
# (bench/raw_drain: the same sockets, recvmmsg batches, only counting). Runs in
# the network sandbox (tests/lab/lab.sh); needs root.
#
# For each NIC count and camera count (cameras in total, split evenly over the
# NICs, one swarm behind each NIC) it runs --runs rounds; a round is one sweep
# per backend and one raw drain, so machine load hits all alike. Per case it
# prints one JSON line with medians over the rounds:
#   {"cameras","nics","backend","found","datagrams","kernel_drops",
#    "engine_ns_per_datagram","raw_ns_per_datagram","ratio",
#    "storm_datagrams_per_s","runs"}
# found, datagrams, kernel_drops: the worst round (fewest found, most drops).
# engine_ns_per_datagram: the sweep's own CPU time (stats.cpu_us: user + sys
# from its first send to its end) over the datagrams it received.
# raw_ns_per_datagram: the same for the raw drain. ratio = raw / engine
# (1.0: the sweep costs what draining alone costs), the median of per-round
# ratios. storm_datagrams_per_s: datagrams over the span between the first and
# the last new device.
#
#   bench/storm_bench.sh [--build-dir build/release] [--cameras "1000 10000 100000"]
#                        [--nics "1 3"] [--backends "epoll uring"] [--runs 3]
#                        [--sweep-args "..."] [--out FILE]
# --out FILE also writes the JSON lines to FILE (bench/plot_storm.sh reads it).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/release cameras_list="1000 10000 100000" nics_list="1 3" backends="epoll uring" runs=3
sweep_args="" out=""
while (($#)); do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --cameras) cameras_list=$2; shift 2 ;;
    --nics) nics_list=$2; shift 2 ;;
    --backends) backends=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --sweep-args) sweep_args=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "storm_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "storm_bench.sh: needs root (network namespaces)" >&2; exit 2; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "storm_bench.sh: --runs must be a positive count" >&2; exit 2; }
sweep=$build/cli/onvif-sweep
swarm=$build/cli/onvif-swarm
drain=$build/bench/raw_drain
for bin in "$sweep" "$swarm" "$drain"; do
  [[ -x "$bin" ]] || { echo "storm_bench.sh: $bin not built" >&2; exit 2; }
done
[[ -n "$out" ]] && : >"$out"

lab="" swarm_pids=() tmp=$(mktemp -d)
cleanup() {
  for pid in "${swarm_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n "$lab" ]] && tests/lab/lab.sh down --name "$lab" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print 0; else print a[int((NR + 1) / 2)]}'; }
# Sum of every "key":NUMBER in a JSON line (the per-interface counters).
json_sum() { grep -o "\"$1\":[0-9]*" <<<"$2" | awk -F: '{s += $2} END {print s + 0}'; }
json_get() { grep -o "\"$1\":[0-9.]*" <<<"$2" | head -1 | cut -d: -f2; }

# Starts one storm swarm per NIC with `per_nic` cameras and waits until each listens.
start_swarms() {
  local nics=$1 per_nic=$2 i
  swarm_pids=()
  for ((i = 0; i < nics; i++)); do
    tests/lab/lab.sh exec --name "$lab" "cam$i" -- "$swarm" --cameras "$per_nic" --mode storm \
      --seed "$((i + 1))" --rate-limit 0 --hello=false --bye=false --exit-after 1800s 2>/dev/null &
    swarm_pids+=("$!")
  done
  for ((i = 0; i < nics; i++)); do
    local tries=0
    until ip netns exec "$lab-cam$i" ss -Hunl 'sport = :3702' | grep -q 3702; do
      ((++tries < 600)) || { echo "storm_bench.sh: swarm behind n$i did not start" >&2; exit 1; }
      sleep 0.1
    done
  done
}

for nics in $nics_list; do
  lab=storm$$x$nics
  tests/lab/lab.sh up --name "$lab" --nics "$nics" --family v4 >/dev/null  # the raw drain reads IPv4
  ifaces=$(seq -s, -f 'n%g' 0 $((nics - 1)))
  drain_ifaces=()
  for ((i = 0; i < nics; i++)); do drain_ifaces+=(--iface "n$i"); done
  for cameras in $cameras_list; do
    per_nic=$((cameras / nics))
    total=$((per_nic * nics))
    start_swarms "$nics" "$per_nic"
    declare -A engine_ns=() ratios=() found=() datagrams=() drops=() rates=()
    raw_ns=""
    for ((run = 0; run < runs; run++)); do
      raw=$(tests/lab/lab.sh exec --name "$lab" host -- "$drain" "${drain_ifaces[@]}")
      raw_per=$(json_get ns_per_datagram "$raw")
      raw_ns+="$raw_per "
      for backend in $backends; do
        # shellcheck disable=SC2086  # --sweep-args is a word list on purpose
        # One Probe variant, as the raw drain sends: N cameras, N replies each.
        tests/lab/lab.sh exec --name "$lab" host -- "$sweep" --iface "$ifaces" --format ndjson \
          --types dn:NetworkVideoTransmitter --backend "$backend" --timeout 30s $sweep_args \
          >"$tmp/sweep.ndjson" 2>"$tmp/sweep.err" || {
          echo "storm_bench.sh: onvif-sweep --backend $backend failed: $(cat "$tmp/sweep.err")" >&2
          exit 1
        }
        summary=$(grep '"event":"summary"' "$tmp/sweep.ndjson")
        n=$(grep -c '"event":"found"' "$tmp/sweep.ndjson" || true)
        got=$(json_sum datagrams "$summary")
        lost=$(json_sum kernel_drops "$summary")
        cpu_us=$(json_get cpu_us "$summary")
        per=$(awk -v c="$cpu_us" -v d="$got" 'BEGIN {printf "%.1f", (d > 0 ? c * 1000 / d : 0)}')
        span_ms=$(grep -o '"first_seen_ms":[0-9]*' "$tmp/sweep.ndjson" | cut -d: -f2 |
          awk 'NR == 1 {lo = $1; hi = $1} {if ($1 < lo) lo = $1; if ($1 > hi) hi = $1} END {print hi - lo}')
        rate=$(awk -v d="$got" -v ms="$span_ms" 'BEGIN {printf "%.0f", (ms > 0 ? d * 1000 / ms : 0)}')
        engine_ns[$backend]+="$per "
        ratios[$backend]+="$(awk -v r="$raw_per" -v e="$per" 'BEGIN {printf "%.3f", (e > 0 ? r / e : 0)}') "
        rates[$backend]+="$rate "
        # The worst round: fewest found, then most drops.
        if [[ -z "${found[$backend]:-}" ]] || ((n < found[$backend])); then
          found[$backend]=$n datagrams[$backend]=$got drops[$backend]=$lost
        fi
      done
    done
    raw_median=$(tr ' ' '\n' <<<"$raw_ns" | grep . | median)
    for backend in $backends; do
      line=$(printf '{"cameras":%d,"nics":%d,"backend":"%s","found":%d,"datagrams":%d,"kernel_drops":%d,"engine_ns_per_datagram":%s,"raw_ns_per_datagram":%s,"ratio":%s,"storm_datagrams_per_s":%s,"runs":%d}' \
        "$total" "$nics" "$backend" "${found[$backend]}" "${datagrams[$backend]}" "${drops[$backend]}" \
        "$(tr ' ' '\n' <<<"${engine_ns[$backend]}" | grep . | median)" "$raw_median" \
        "$(tr ' ' '\n' <<<"${ratios[$backend]}" | grep . | median)" \
        "$(tr ' ' '\n' <<<"${rates[$backend]}" | grep . | median)" "$runs")
      echo "$line"
      [[ -n "$out" ]] && echo "$line" >>"$out"
    done
    for pid in "${swarm_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait "${swarm_pids[@]}" 2>/dev/null || true
    swarm_pids=()
  done
  tests/lab/lab.sh down --name "$lab" >/dev/null
  lab=""
done
