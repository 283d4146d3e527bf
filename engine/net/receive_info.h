// What the kernel says about one received datagram besides its payload and
// source: the ancillary data (control messages) of recvmsg / recvmmsg.
//
// The one parser of IP_PKTINFO, IPV6_PKTINFO and SO_RXQ_OVFL in the engine:
// engine/io's loops use it on every datagram, engine/net's tests on single
// receives. It allocates nothing, builds no strings and no Status, makes no
// syscall, and ignores control messages it does not know or that are too
// short for their type.
//
// Which sockets carry what: IP_PKTINFO (IPv4) / IPV6_RECVPKTINFO (IPv6) give
// the arrival interface and the header destination (engine/net enables them
// on every socket it opens); SO_RXQ_OVFL gives the socket's cumulative drop
// counter, attached only once the socket has dropped something.

#ifndef ONVIF_ENGINE_NET_RECEIVE_INFO_H_
#define ONVIF_ENGINE_NET_RECEIVE_INFO_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "engine/net/address.h"

namespace onvif::net {

struct ReceiveInfo {
  // ipi_ifindex / ipi6_ifindex: the interface the datagram arrived on; 0
  // without PKTINFO.
  std::uint32_t arrival_ifindex = 0;
  // ipi_addr / ipi6_addr: the header destination (a group or a unicast
  // address), port 0, scope 0; empty without PKTINFO.
  SocketAddress destination;
  // SO_RXQ_OVFL: the socket's cumulative drop counter (a wrapping u32) as it
  // was when this datagram was queued; absent until the socket has dropped.
  // Turning that into "new drops" is the receiver's job (EpollLoop keeps the
  // last value and adds the wrapped difference).
  std::optional<std::uint32_t> kernel_drops;
};

// Control buffer bytes per received datagram: IP_PKTINFO or IPV6_PKTINFO plus
// SO_RXQ_OVFL, with room for one more small option a socket owner may have
// enabled. Too small a buffer loses control messages (MSG_CTRUNC).
inline constexpr std::size_t kControlBufferBytes = 256;
static_assert(kControlBufferBytes >= CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo)) +
                                         CMSG_SPACE(sizeof(std::uint32_t)),
              "the control buffer must hold both PKTINFO kinds and the SO_RXQ_OVFL counter");
static_assert(kControlBufferBytes % alignof(cmsghdr) == 0,
              "control buffers laid out back to back must stay cmsghdr-aligned");

// Parses msg.msg_control / msg_controllen as the kernel left them. When a
// message appears twice the last one wins.
ReceiveInfo ParseReceiveInfo(const msghdr& msg);

}  // namespace onvif::net

#endif  // ONVIF_ENGINE_NET_RECEIVE_INFO_H_
