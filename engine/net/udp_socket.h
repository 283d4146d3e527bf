// Per-interface UDP sockets for WS-Discovery: the only place that calls
// socket(2) (through OsSysCalls).
//
// OpenProbeSocket: what a sweep sends Probes from and receives the unicast
// ProbeMatches on (WS-Discovery 2005/04 section 5.3: matches go back to the
// Probe's source address and port). Bound to the interface's address on an
// ephemeral port; multicast leaves through that interface by ifindex
// (IP_MULTICAST_IF with ip_mreqn / IPV6_MULTICAST_IF) with TTL / hop limit 1
// (section 2.4); loop off except on lo; SO_RCVBUF sized for a reply storm;
// SO_RXQ_OVFL and IP_PKTINFO / IPV6_RECVPKTINFO so the receive path can count
// kernel drops and learn the arrival interface (ParseReceiveInfo,
// engine/net/receive_info.h).
//
// IPv6 probe sockets bind to the interface's link-local address, zoned by
// its ifindex (fe80::1%3), not to a global or ULA one: FF02::C is
// link-scope, so the Probe only ever reaches the link, and the kernel's own
// source choice for a link-scope destination is the link-local address
// (RFC 6724 rule 2). A camera on the link can always answer it, even one with
// no global address or no route back to our prefix (cameras with SLAAC off,
// IPv6-only segments without a router). Replies then carry the link's zone
// (sin6_scope_id) up to the sweep. Only an interface without a link-local
// address binds to its first (global / ULA) one.
//
// OpenListenerSocket: *:3702 (SO_REUSEADDR; see SocketOptions::reuse_port for
// why not SO_REUSEPORT) joined to the group on one interface
// (239.255.255.250 with ip_mreqn, FF02::C with ipv6_mreq), for the swarm and
// for watching Hello/Bye. One socket per interface because one IPv4 socket
// can join on at most igmp_max_memberships (20) interfaces (LAB.md).
// Sockets bound to *:3702 receive every interface's multicast unless told
// otherwise (LAB.md): IPv4 listeners set IP_MULTICAST_ALL=0; its IPv6
// counterpart filters by group only, not by the interface joined on, so IPv6
// listeners are always SO_BINDTODEVICE'd to their interface instead (which
// needs CAP_NET_RAW). Membership is dropped before it is added, the
// veth quirk systemd-resolved and Avahi work around (a membership still
// present makes the add fail with EADDRINUSE). IPv6 sockets of both kinds
// are IPV6_V6ONLY: each family has its own sockets.
//
// Errors name the protocol option, the operation and the interface, e.g.
// "IP_ADD_MEMBERSHIP on cam3: No buffer space available", and carry the
// absl::ErrnoToStatusCode of the errno. Nothing is left open on failure.

#ifndef ONVIF_ENGINE_NET_UDP_SOCKET_H_
#define ONVIF_ENGINE_NET_UDP_SOCKET_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/base/unique_fd.h"
#include "engine/net/address.h"
#include "engine/net/interfaces.h"
#include "engine/net/os_sys_calls.h"
#include "engine/net/receive_info.h"  // what the receive path parses: ParseReceiveInfo

namespace onvif::net {

// 128 MiB requested (the kernel accounts twice that; udp_mem still caps UDP
// as a whole). It is a limit, not an allocation: memory is taken only while
// replies wait to be read. Measured on veth (docs/performance.md): a storm
// arrives faster than a sweep reads (~500k replies/s sent, ~190k/s read),
// so the buffer must hold the backlog. 8 MiB overflowed at ~9,100 of a
// 10,000-camera storm when the sweep got no CPU during the burst; 32 MiB
// (~36,000 replies) lost about half of a 100,000-camera storm on one NIC,
// 64 MiB 15-20%; 128 MiB found all 100,000 with no kernel drop. The 212992 B
// kernel default holds ~92.
inline constexpr int kDefaultRcvbufBytes = 128 << 20;

struct SocketOptions {
  // Requested SO_RCVBUF in bytes; 0 leaves the kernel default. Tried with
  // SO_RCVBUFFORCE first (beyond rmem_max, needs CAP_NET_ADMIN), SO_RCVBUF
  // (capped at rmem_max) when that gives EPERM.
  int rcvbuf_bytes = kDefaultRcvbufBytes;
  // IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP; unset = on for loopback only
  // (where the peer is local).
  std::optional<bool> multicast_loop;
  // IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS; WS-Discovery section 2.4 /
  // SOAP-over-UDP: 1.
  int multicast_hops = 1;
  // Local port; unset = ephemeral for probes, kWsdPort for listeners.
  std::optional<std::uint16_t> port;
  // SO_BINDTODEVICE on IPv4 sockets and IPv6 probe sockets too (pins
  // unicast to this interface's listener instead of SO_REUSEPORT's hash).
  // Needs CAP_NET_RAW. IPv6 listeners always have it.
  bool bind_to_device = false;
  // SO_REUSEPORT on listeners. Off by default: measured on this kernel (6.x,
  // veth), two listeners on *:3702 in one SO_REUSEPORT group get each
  // multicast datagram on ONE socket picked by the 4-tuple hash, whatever
  // interface it arrived on and whatever IP_MULTICAST_ALL=0 says, so the
  // per-interface split breaks. SO_REUSEADDR alone lets UDP sockets share the
  // port and keeps per-interface multicast delivery exact.
  bool reuse_port = false;
};

// An open, configured socket and what it is bound to.
struct BoundSocket {
  base::UniqueFd fd;
  Family family = Family::kIPv4;
  std::string interface_name;
  unsigned ifindex = 0;
  SocketAddress local;  // getsockname: the ephemeral port is filled in
  // SO_RCVBUF as getsockopt reports it (the kernel doubles the request for
  // its bookkeeping, so 128 MiB requested reads back as 256 MiB when forced).
  int rcvbuf_bytes = 0;
  bool rcvbuf_forced = false;  // SO_RCVBUFFORCE was accepted
};
using ProbeSocket = BoundSocket;

absl::StatusOr<BoundSocket> OpenProbeSocket(const Interface& iface, Family family,
                                            const SocketOptions& options = {},
                                            OsSysCalls& sys = RealSysCalls());

// OpenUnicastProbeSocket: what directed (unicast) Probes go out of and their
// replies come back to: 0.0.0.0 / [::] (IPV6_V6ONLY) on an ephemeral port
// (the routing table, or a link-local target's zone, picks the interface per
// target), SO_RCVBUF, SO_RXQ_OVFL and IP_PKTINFO / IPV6_RECVPKTINFO as for
// probe sockets. interface_name is "unicast".
absl::StatusOr<BoundSocket> OpenUnicastProbeSocket(Family family, const SocketOptions& options = {},
                                                   OsSysCalls& sys = RealSysCalls());

absl::StatusOr<BoundSocket> OpenListenerSocket(const Interface& iface, Family family,
                                               const SocketOptions& options = {},
                                               OsSysCalls& sys = RealSysCalls());

}  // namespace onvif::net

#endif  // ONVIF_ENGINE_NET_UDP_SOCKET_H_
