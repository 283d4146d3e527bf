#include "engine/net/receive_info.h"

#include <cstring>

namespace onvif::net {

ReceiveInfo ParseReceiveInfo(const msghdr& msg) {
  ReceiveInfo info;
  // CMSG_FIRSTHDR / CMSG_NXTHDR only read through the pointer.
  msghdr& header = const_cast<msghdr&>(msg);
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&header); cmsg != nullptr; cmsg = CMSG_NXTHDR(&header, cmsg)) {
    // memcpy out of CMSG_DATA: control buffers promise cmsghdr alignment
    // only, not that of the payload types.
    if (cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IP_PKTINFO &&
        cmsg->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
      in_pktinfo pktinfo;
      std::memcpy(&pktinfo, CMSG_DATA(cmsg), sizeof(pktinfo));
      info.arrival_ifindex = static_cast<std::uint32_t>(pktinfo.ipi_ifindex);
      info.destination = SocketAddress(IpAddress::V4(pktinfo.ipi_addr), 0);
    } else if (cmsg->cmsg_level == IPPROTO_IPV6 && cmsg->cmsg_type == IPV6_PKTINFO &&
               cmsg->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
      in6_pktinfo pktinfo;
      std::memcpy(&pktinfo, CMSG_DATA(cmsg), sizeof(pktinfo));
      info.arrival_ifindex = pktinfo.ipi6_ifindex;
      info.destination = SocketAddress(IpAddress::V6(pktinfo.ipi6_addr), 0);
    } else if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SO_RXQ_OVFL &&
               cmsg->cmsg_len >= CMSG_LEN(sizeof(std::uint32_t))) {
      std::uint32_t drops;
      std::memcpy(&drops, CMSG_DATA(cmsg), sizeof(drops));
      info.kernel_drops = drops;
    }
  }
  return info;
}

}  // namespace onvif::net
