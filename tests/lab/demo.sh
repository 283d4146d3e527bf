#!/usr/bin/env bash
# The README's run command: a sweep of a simulated site, entirely inside a
# network sandbox. Installs missing Debian packages, builds (release preset),
# creates a lab with 3 NICs and 1000 spec-mode cameras behind each (onvif-swarm,
# a different seed per NIC), runs onvif-sweep across all NICs from the lab's
# host namespace and prints its table. The lab is removed on exit, also on
# failure or Ctrl-C. Needs root (network namespaces).
#   ONVIF_DEMO_CAMERAS  cameras per NIC (default 1000)
#   ONVIF_DEMO_FORMAT   table|json|ndjson (default table)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ $(id -u) -ne 0 ]]; then
  echo "demo.sh: needs root to create network namespaces (try: sudo $0)" >&2
  exit 2
fi
third_party/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target onvif-sweep onvif-swarm >/dev/null

cameras=${ONVIF_DEMO_CAMERAS:-1000}
format=${ONVIF_DEMO_FORMAT:-table}
lab=demo$$
nics=3
swarm=build/release/cli/onvif-swarm
sweep=build/release/cli/onvif-sweep
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  tests/lab/lab.sh down --name "$lab" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

tests/lab/lab.sh up --name "$lab" --nics "$nics" >/dev/null
for ((i = 0; i < nics; i++)); do
  tests/lab/lab.sh exec --name "$lab" "cam$i" -- \
    "$swarm" --cameras "$cameras" --mode spec --seed "$((i + 1))" --hello=false --bye=false \
    --exit-after 60s >/dev/null &
  pids+=("$!")
done
sleep 0.5  # let each swarm bind and join the group
echo "sweeping $nics NICs with $cameras cameras behind each (lab $lab)" >&2
tests/lab/lab.sh exec --name "$lab" host -- "$sweep" --format "$format" --expect $((cameras * nics))
