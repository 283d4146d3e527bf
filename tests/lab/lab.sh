#!/usr/bin/env bash
# lab.sh: the network sandbox for onvif-sweep's integration tests, benches and
# the README demo. Everything lives in network namespaces this script creates;
# nothing is added to the host's own namespace (LAB.md).
#
#   lab.sh up   --name PFX --nics N [--bridge] [--family v4|v6|both] [--addresses-per-nic K]
#               [--loss PCT]
#   lab.sh down --name PFX                    # idempotent
#   lab.sh exec --name PFX host|cam<i> -- CMD [ARG...]
#   lab.sh list --name PFX                    # the lab's namespaces, one a line
#
# Layout made by `up` (i = 0..N-1; in fd77:<i>:: the second group is i's
# decimal digits):
#   PFX-host   NICs n<i> = 10.77.<i>.1 and fd77:<i>::1, a 224.0.0.0/4 route
#       via n0, lo up
#   separate segments (default): PFX-cam<i> holds c<i> = 10.77.<i>.2/24 and
#       fd77:<i>::2/64, the peer of n<i>; n<i> = 10.77.<i>.1/24, fd77:<i>::1/64
#   --bridge: one segment 10.77.0.0/16 and fd77::/16; PFX-cam0 holds
#       c0..c<N-1> as ports of bridge br0, and br0 carries 10.77.<i>.2/16 and
#       fd77:<i>::2/16 for every i; n<i> = 10.77.<i>.1/16, fd77:<i>::1/16
#   Every link also has its IPv6 link-local fe80:: address (the kernel's),
#   unless --family v4.
#   --family v4|v6|both (default both): which families the lab links carry.
#       v6: an IPv6-only segment, no IPv4 address on any lab link (nor the
#       224.0.0.0/4 routes); v4: an IPv4-only segment, IPv6 disabled on every
#       lab link (disable_ipv6=1: no ULA and no link-local address either).
#   --addresses-per-nic K: K more IPv4 camera addresses per camera namespace,
#       for per-camera source addresses: 10.<100+j>.0.1 .. (host-order
#       consecutive, /32 each) on c<j> (separate) or br0 (bridge, j = 0); the
#       host namespace routes 10.<100+j>.0.0/16 to n<j>. Not with --family v6.
#   --loss PCT: nftables on each camera link c<i> (netdev egress) drops PCT% of
#       the UDP datagrams from port 3702 the cameras send, each independently;
#       the sender is not told (there is no netem in this kernel: LAB.md).
# Every namespace gets accept_dad=0 before its links exist (IPv6 link-local
# addresses are otherwise tentative for ~2 s: LAB.md), and the ULA addresses
# are added `nodad`, so every IPv6 address is usable when `up` returns. The
# host namespace gets arp_ignore=1 / arp_announce=2 so that, on one bridged
# segment, each NIC answers ARP only for its own address (no ARP flux between
# n0 and n1).
#
# `up` refuses a prefix that already has namespaces and, if any step fails,
# deletes what it created (trap) before exiting non-zero. `down` first ends the
# processes still running inside the lab's namespaces (they were started there
# by the lab's user), then deletes the namespaces; veth pairs, bridges and nft
# tables go with them.
#
# --fail-at STEP (namespaces|links|addresses|routes|loss) makes `up` fail right
# after STEP on purpose: tests use it to prove the cleanup path.

set -euo pipefail

readonly kMaxNics=150          # 10.<100+j> extra-address blocks must stay below 10.250
readonly kMaxExtras=65000      # one /16 per camera namespace

die() { echo "lab.sh: $*" >&2; exit 2; }

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

# check_name CMD NAME: dies unless NAME is a valid lab prefix.
check_name() {
  [[ "$2" =~ ^[A-Za-z0-9_][A-Za-z0-9_.]{0,31}$ ]] ||
    die "$1: --name must be 1-32 of [A-Za-z0-9_.] (got '$2')"
}

# name_only CMD ARGS...: for subcommands whose only option is --name; prints
# the checked name (call as name=$(name_only CMD "$@") || exit 2).
name_only() {
  local cmd=$1 name=""
  shift
  while (($#)); do
    case "$1" in
      --name) name=${2:?--name needs a value}; shift 2 ;;
      *) die "$cmd: unknown option '$1'" ;;
    esac
  done
  check_name "$cmd" "$name"
  echo "$name"
}

# The lab's namespaces: exactly PFX-host and PFX-cam<digits>, so prefix "t1"
# never matches the lab "t12".
lab_namespaces() {
  local pfx=$1
  ip netns list 2>/dev/null | awk '{print $1}' |
    grep -E "^${pfx//./\\.}-(host|cam[0-9]+)\$" || true
}

delete_namespace() {
  local ns=$1 pids
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  if [[ -n "$pids" ]]; then
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      pids=$(ip netns pids "$ns" 2>/dev/null || true)
      [[ -z "$pids" ]] && break
      sleep 0.1
    done
    # shellcheck disable=SC2086
    [[ -n "$pids" ]] && kill -KILL $pids 2>/dev/null || true
  fi
  ip netns del "$ns" 2>/dev/null || true
}

# Waits (up to 5 s) until every link of namespace $1 but lo is operationally up.
wait_links_up() {
  local ns=$1 tries
  for ((tries = 0; tries < 500; tries++)); do
    if ! ip -n "$ns" -o link show | grep -v ': lo:' | grep -qv 'state UP'; then return 0; fi
    sleep 0.01
  done
  echo "lab.sh: links in $ns not up after 5 s:" >&2
  ip -n "$ns" -br link >&2
  return 1
}

# Dotted quad of 10.<a>.0.0 + offset.
extra_address() {
  local block=$1 offset=$2
  echo "10.${block}.$(((offset >> 8) & 255)).$((offset & 255))"
}

cmd_up() {
  local name="" nics="" bridge=0 family=both extras=0 loss=0 fail_at=""
  while (($#)); do
    case "$1" in
      --name) name=${2:?--name needs a value}; shift 2 ;;
      --nics) nics=${2:?--nics needs a value}; shift 2 ;;
      --bridge) bridge=1; shift ;;
      --family) family=${2:?--family needs a value}; shift 2 ;;
      --addresses-per-nic) extras=${2:?--addresses-per-nic needs a value}; shift 2 ;;
      --loss) loss=${2:?--loss needs a value}; shift 2 ;;
      --fail-at) fail_at=${2:?--fail-at needs a value}; shift 2 ;;
      *) die "up: unknown option '$1'" ;;
    esac
  done
  check_name up "$name"
  [[ "$nics" =~ ^[0-9]+$ ]] && ((nics >= 1 && nics <= kMaxNics)) ||
    die "up: --nics must be 1..$kMaxNics (got '$nics')"
  [[ "$extras" =~ ^[0-9]+$ ]] && ((extras <= kMaxExtras)) ||
    die "up: --addresses-per-nic must be 0..$kMaxExtras (got '$extras')"
  [[ "$loss" =~ ^[0-9]+$ ]] && ((loss <= 100)) || die "up: --loss must be 0..100 (got '$loss')"
  case "$family" in
    v4 | v6 | both) ;;
    *) die "up: --family must be v4, v6 or both (got '$family')" ;;
  esac
  [[ "$family" == v6 ]] && ((extras > 0)) &&
    die "up: --addresses-per-nic adds IPv4 addresses; not with --family v6"
  local v4=1 v6=1
  [[ "$family" == v6 ]] && v4=0
  [[ "$family" == v4 ]] && v6=0
  case "$fail_at" in
    "" | namespaces | links | addresses | routes | loss) ;;
    *) die "up: --fail-at must be namespaces|links|addresses|routes|loss (got '$fail_at')" ;;
  esac
  [[ $(id -u) -eq 0 ]] || die "up: needs root (network namespaces)"
  local existing
  existing=$(lab_namespaces "$name")
  [[ -z "$existing" ]] || die "up: lab '$name' exists ($(echo $existing)); run: lab.sh down --name $name"

  local host="$name-host" cams=() i
  if ((bridge)); then cams=("$name-cam0"); else
    for ((i = 0; i < nics; i++)); do cams+=("$name-cam$i"); done
  fi

  # From here on, any failure removes what this invocation created.
  CREATED=()
  trap 'rc=$?; if ((rc != 0)); then echo "lab.sh: up failed (exit $rc); removing lab $name" >&2;
        for ns in "${CREATED[@]}"; do delete_namespace "$ns"; done; fi' EXIT
  step_done() { [[ "$fail_at" == "$1" ]] && { echo "lab.sh: failing after '$1' (--fail-at)" >&2; exit 1; }; return 0; }

  local ns
  for ns in "$host" "${cams[@]}"; do
    ip netns add "$ns"
    CREATED+=("$ns")
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip -n "$ns" link set lo up
  done
  ip netns exec "$host" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
  step_done namespaces

  local prefix=24
  ((bridge)) && prefix=16
  if ((bridge)); then
    ip -n "${cams[0]}" link add br0 type bridge
    ip -n "${cams[0]}" link set br0 up
  fi
  for ((i = 0; i < nics; i++)); do
    local cam_ns=${cams[0]}
    ((bridge)) || cam_ns=${cams[$i]}
    # Created directly inside the namespaces: nothing ever appears on the host.
    ip link add "n$i" netns "$host" type veth peer name "c$i" netns "$cam_ns"
    ((bridge)) && ip -n "$cam_ns" link set "c$i" master br0
    if ((!v6)); then
      # Before the links come up, so no link-local address ever appears.
      ip netns exec "$host" sysctl -qw "net.ipv6.conf.n$i.disable_ipv6=1"
      ip netns exec "$cam_ns" sysctl -qw "net.ipv6.conf.c$i.disable_ipv6=1"
    fi
  done
  ((bridge && !v6)) && ip netns exec "${cams[0]}" sysctl -qw net.ipv6.conf.br0.disable_ipv6=1
  step_done links

  local prefix6=64
  ((bridge)) && prefix6=16
  for ((i = 0; i < nics; i++)); do
    local cam_dev="c$i" cam_ns=${cams[0]}
    ((bridge)) && cam_dev=br0
    ((bridge)) || cam_ns=${cams[$i]}
    if ((v4)); then
      ip -n "$host" addr add "10.77.$i.1/$prefix" dev "n$i"
      ip -n "$cam_ns" addr add "10.77.$i.2/$prefix" dev "$cam_dev"
    fi
    if ((v6)); then
      ip -n "$host" addr add "fd77:$i::1/$prefix6" dev "n$i" nodad
      ip -n "$cam_ns" addr add "fd77:$i::2/$prefix6" dev "$cam_dev" nodad
    fi
  done
  if ((extras > 0)); then
    local j
    for ((j = 0; j < ${#cams[@]}; j++)); do
      local dev="c$j"
      ((bridge)) && dev=br0
      {
        local k
        for ((k = 1; k <= extras; k++)); do
          echo "addr add $(extra_address $((100 + j)) "$k")/32 dev $dev"
        done
      } | ip -n "${cams[$j]}" -batch -
    done
  fi
  step_done addresses

  for ((i = 0; i < nics; i++)); do
    ip -n "$host" link set "n$i" up
    local cam_ns=${cams[0]}
    ((bridge)) || cam_ns=${cams[$i]}
    ip -n "$cam_ns" link set "c$i" up
  done
  # Carrier changes are applied by linkwatch, which batches them (measured:
  # with 3 NICs the last link reaches "state UP" ~1 s after "link set up").
  # Until then IFF_RUNNING is clear and a link whose carrier came up late may
  # still have its noop qdisc; wait so the lab is settled when `up` returns.
  for ns in "$host" "${cams[@]}"; do wait_links_up "$ns"; done
  # Tools that do not set IP_MULTICAST_IF need a multicast route (LAB.md).
  # (IPv6 needs none: FF02::C is link-scope, every sender names the link.)
  if ((v4)); then
    ip -n "$host" route add 224.0.0.0/4 dev n0
    for ((j = 0; j < ${#cams[@]}; j++)); do
      local dev="c$j"
      ((bridge)) && dev=br0
      ip -n "${cams[$j]}" route add 224.0.0.0/4 dev "$dev"
      ((extras > 0)) && ip -n "$host" route add "10.$((100 + j)).0.0/16" dev "n$j"
    done
  fi
  step_done routes

  if ((loss > 0)); then
    # On the wire, not at the socket: a drop in the output hook fails the
    # sender's sendmsg with EPERM, so the sender knows and can retry, which is
    # not loss. The netdev egress hook drops after the socket layer (UDP
    # ignores the ENOBUFS it yields), like a lossy link.
    for ((i = 0; i < nics; i++)); do
      local cam_ns=${cams[0]}
      ((bridge)) || cam_ns=${cams[$i]}
      ip netns exec "$cam_ns" nft -f - <<EOF
table netdev lab_c$i {
  chain out {
    type filter hook egress device "c$i" priority 0; policy accept;
    udp sport 3702 numgen random mod 100 < $loss drop
  }
}
EOF
    done
  fi
  step_done loss

  trap - EXIT
  local families="IPv4 + IPv6"
  ((v4)) || families="IPv6 only"
  ((v6)) || families="IPv4 only"
  echo "lab $name up: $nics NIC(s), $( ((bridge)) && echo "one bridged segment" || echo "separate segments"), $families"
  # NIC i's host / camera addresses as printed ("10.77.0.1/24,fd77:0::1/64").
  nic_addrs() {
    local side=$1 i=$2 list=()
    ((v4)) && list+=("10.77.$i.$side/$prefix")
    ((v6)) && list+=("fd77:$i::$side/$prefix6")
    local IFS=,
    echo -n "${list[*]}"
  }
  local line="  $host:"
  for ((i = 0; i < nics; i++)); do line+=" n$i=$(nic_addrs 1 "$i")"; done
  echo "$line"
  for ((j = 0; j < ${#cams[@]}; j++)); do
    if ((bridge)); then
      local sep=""
      line="  ${cams[0]}: br0[c0..c$((nics - 1))]="
      for ((i = 0; i < nics; i++)); do line+="${sep}$(nic_addrs 2 "$i")"; sep=","; done
    else
      line="  ${cams[$j]}: c$j=$(nic_addrs 2 "$j")"
    fi
    ((extras > 0)) && line+=" +$extras extra $(extra_address $((100 + j)) 1)-$(extra_address $((100 + j)) "$extras")"
    ((loss > 0)) && line+=" loss=${loss}%"
    echo "$line"
  done
}

cmd_down() {
  local name
  name=$(name_only down "$@") || exit 2
  local ns removed=0
  for ns in $(lab_namespaces "$name"); do
    delete_namespace "$ns"
    removed=$((removed + 1))
  done
  echo "lab $name down: removed $removed namespace(s)"
}

cmd_exec() {
  local name=""
  while (($#)); do
    case "$1" in
      --name) name=${2:?--name needs a value}; shift 2 ;;
      --) shift; break ;;
      host | cam[0-9]*) local where=$1; shift ;;
      *) die "exec: unexpected '$1' (usage: exec --name PFX host|cam<i> -- CMD...)" ;;
    esac
  done
  check_name exec "$name"
  [[ -n "${where:-}" ]] || die "exec: say where: host or cam<i>"
  (($#)) || die "exec: no command after --"
  exec ip netns exec "$name-$where" "$@"
}

cmd_list() {
  local name
  name=$(name_only list "$@") || exit 2
  lab_namespaces "$name"
}

(($#)) || usage
sub=$1
shift
case "$sub" in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  exec) cmd_exec "$@" ;;
  list) cmd_list "$@" ;;
  -h | --help | help) usage 0 ;;
  *) die "unknown subcommand '$sub' (up|down|exec|list)" ;;
esac
