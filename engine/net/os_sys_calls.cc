#include "engine/net/os_sys_calls.h"

#include <netinet/in.h>

#include <cerrno>

namespace onvif::net {
namespace {

SysCallResult Result(long rc) { return {rc, rc == -1 ? errno : 0}; }

}  // namespace

SysCallResult OsSysCallsImpl::Socket(int domain, int type, int protocol) {
  return Result(::socket(domain, type, protocol));
}

SysCallResult OsSysCallsImpl::Bind(int fd, const sockaddr* addr, socklen_t len) {
  return Result(::bind(fd, addr, len));
}

SysCallResult OsSysCallsImpl::SetSockOpt(int fd, int level, int name, const void* value,
                                         socklen_t len) {
  return Result(::setsockopt(fd, level, name, value, len));
}

SysCallResult OsSysCallsImpl::GetSockOpt(int fd, int level, int name, void* value,
                                         socklen_t* len) {
  return Result(::getsockopt(fd, level, name, value, len));
}

SysCallResult OsSysCallsImpl::GetSockName(int fd, sockaddr* addr, socklen_t* len) {
  return Result(::getsockname(fd, addr, len));
}

SysCallResult OsSysCallsImpl::SendTo(int fd, const void* buf, size_t len, int flags,
                                     const sockaddr* addr, socklen_t addr_len) {
  return Result(::sendto(fd, buf, len, flags, addr, addr_len));
}

SysCallResult OsSysCallsImpl::RecvMsg(int fd, msghdr* msg, int flags) {
  return Result(::recvmsg(fd, msg, flags));
}

OsSysCalls& RealSysCalls() {
  static OsSysCallsImpl impl;
  return impl;
}

const char* SockOptName(int level, int name) {
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR: return "SO_REUSEADDR";
      case SO_REUSEPORT: return "SO_REUSEPORT";
      case SO_RCVBUF: return "SO_RCVBUF";
      case SO_RCVBUFFORCE: return "SO_RCVBUFFORCE";
      case SO_RXQ_OVFL: return "SO_RXQ_OVFL";
      case SO_BINDTODEVICE: return "SO_BINDTODEVICE";
      default: break;
    }
  } else if (level == IPPROTO_IP) {
    switch (name) {
      case IP_MULTICAST_IF: return "IP_MULTICAST_IF";
      case IP_MULTICAST_TTL: return "IP_MULTICAST_TTL";
      case IP_MULTICAST_LOOP: return "IP_MULTICAST_LOOP";
      case IP_MULTICAST_ALL: return "IP_MULTICAST_ALL";
      case IP_ADD_MEMBERSHIP: return "IP_ADD_MEMBERSHIP";
      case IP_DROP_MEMBERSHIP: return "IP_DROP_MEMBERSHIP";
      case IP_PKTINFO: return "IP_PKTINFO";
      default: break;
    }
  } else if (level == IPPROTO_IPV6) {
    switch (name) {
      case IPV6_MULTICAST_IF: return "IPV6_MULTICAST_IF";
      case IPV6_MULTICAST_HOPS: return "IPV6_MULTICAST_HOPS";
      case IPV6_MULTICAST_LOOP: return "IPV6_MULTICAST_LOOP";
      case IPV6_JOIN_GROUP: return "IPV6_JOIN_GROUP";
      case IPV6_LEAVE_GROUP: return "IPV6_LEAVE_GROUP";
      case IPV6_RECVPKTINFO: return "IPV6_RECVPKTINFO";
      case IPV6_V6ONLY: return "IPV6_V6ONLY";
      default: break;
    }
  }
  return "setsockopt";
}

}  // namespace onvif::net
