#include "engine/net/udp_socket.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <cerrno>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/errno_status.h"

namespace onvif::net {
namespace {

using base::ErrnoError;

// One socket being set up on one interface; every step reports its failure
// as "<OPTION> on <interface>: <strerror>".
class Setup {
 public:
  Setup(const Interface& iface, OsSysCalls& sys) : iface_(iface), sys_(sys) {}

  absl::Status Open(int domain) {
    const SysCallResult r =
        sys_.Socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (!r.ok()) {
      return ErrnoError(r.err, domain == AF_INET ? "socket(AF_INET, SOCK_DGRAM)"
                                                 : "socket(AF_INET6, SOCK_DGRAM)",
                        iface_.name);
    }
    fd_.reset(static_cast<int>(r.rc));
    return absl::OkStatus();
  }

  absl::Status Set(int level, int name, const void* value, socklen_t len) {
    const SysCallResult r = sys_.SetSockOpt(fd_.get(), level, name, value, len);
    if (!r.ok()) return ErrnoError(r.err, SockOptName(level, name), iface_.name);
    return absl::OkStatus();
  }

  absl::Status SetInt(int level, int name, int value) {
    return Set(level, name, &value, sizeof(value));
  }

  // SO_RCVBUFFORCE when permitted (CAP_NET_ADMIN: beyond rmem_max), else
  // SO_RCVBUF (silently capped at rmem_max by the kernel); then reads back
  // what was obtained, which the caller reports (LAB.md).
  absl::Status SizeReceiveBuffer(int bytes, BoundSocket* out) {
    if (bytes > 0) {
      SysCallResult r =
          sys_.SetSockOpt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes));
      if (r.ok()) {
        out->rcvbuf_forced = true;
      } else if (r.err == EPERM) {
        if (auto s = SetInt(SOL_SOCKET, SO_RCVBUF, bytes); !s.ok()) return s;
      } else {
        return ErrnoError(r.err, "SO_RCVBUFFORCE", iface_.name);
      }
    }
    int obtained = 0;
    socklen_t len = sizeof(obtained);
    const SysCallResult r = sys_.GetSockOpt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &obtained, &len);
    if (!r.ok()) return ErrnoError(r.err, "getsockopt SO_RCVBUF", iface_.name);
    out->rcvbuf_bytes = obtained;
    return absl::OkStatus();
  }

  absl::Status Bind(const SocketAddress& address) {
    sockaddr_storage storage;
    const socklen_t length = address.ToSockaddr(storage);
    const SysCallResult r = sys_.Bind(fd_.get(), reinterpret_cast<const sockaddr*>(&storage), length);
    if (!r.ok()) return ErrnoError(r.err, absl::StrCat("bind ", address.ToString()), iface_.name);
    return absl::OkStatus();
  }

  absl::StatusOr<SocketAddress> LocalAddress() {
    sockaddr_storage storage{};
    socklen_t len = sizeof(storage);
    const SysCallResult r =
        sys_.GetSockName(fd_.get(), reinterpret_cast<sockaddr*>(&storage), &len);
    if (!r.ok()) return ErrnoError(r.err, "getsockname", iface_.name);
    const SocketAddress address =
        SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage), len);
    if (address.empty()) {
      return absl::InternalError(
          absl::StrCat("getsockname on ", iface_.name, ": unexpected address family"));
    }
    return address;
  }

  // Drops the membership before adding it, as systemd-resolved and Avahi do
  // (a veth quirk: a membership still present makes the add fail with
  // EADDRINUSE).
  // The drop's answer is ignored: "not a member" (EADDRNOTAVAIL) is the
  // normal case.
  absl::Status JoinGroupV4(const ip_mreqn& mreq) {
    (void)sys_.SetSockOpt(fd_.get(), IPPROTO_IP, IP_DROP_MEMBERSHIP, &mreq, sizeof(mreq));
    return Set(IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq));
  }

  // The same for IPv6 (IPV6_LEAVE_GROUP, then IPV6_JOIN_GROUP).
  absl::Status JoinGroupV6(const ipv6_mreq& mreq) {
    (void)sys_.SetSockOpt(fd_.get(), IPPROTO_IPV6, IPV6_LEAVE_GROUP, &mreq, sizeof(mreq));
    return Set(IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof(mreq));
  }

  absl::Status BindToDevice(const std::string& name) {
    return Set(SOL_SOCKET, SO_BINDTODEVICE, name.c_str(), static_cast<socklen_t>(name.size()));
  }

  base::UniqueFd TakeFd() { return std::move(fd_); }

 private:
  const Interface& iface_;
  OsSysCalls& sys_;
  base::UniqueFd fd_;
};

ip_mreqn MulticastRequest(const Interface& iface, in_addr group, in_addr local) {
  ip_mreqn mreq{};
  mreq.imr_multiaddr = group;
  mreq.imr_address = local;
  mreq.imr_ifindex = static_cast<int>(iface.ifindex);
  return mreq;
}

in_addr WsdGroupV4() {
  in_addr group{};
  inet_pton(AF_INET, std::string(kWsdIpv4Group).c_str(), &group);
  return group;
}

in6_addr WsdGroupV6() {
  in6_addr group{};
  inet_pton(AF_INET6, std::string(kWsdIpv6Group).c_str(), &group);
  return group;
}

// Options common to probe and listener sockets (IPv4).
absl::Status ConfigureV4(Setup& setup, const Interface& iface, const SocketOptions& options,
                         in_addr local, BoundSocket* out) {
  if (auto s = setup.SizeReceiveBuffer(options.rcvbuf_bytes, out); !s.ok()) return s;
  if (auto s = setup.SetInt(SOL_SOCKET, SO_RXQ_OVFL, 1); !s.ok()) return s;
  if (auto s = setup.SetInt(IPPROTO_IP, IP_PKTINFO, 1); !s.ok()) return s;
  if (options.bind_to_device) {
    if (auto s = setup.BindToDevice(iface.name); !s.ok()) return s;
  }
  // ip_mreqn with the ifindex: the interface is chosen by index, not by an
  // address that may be shared or change.
  const ip_mreqn mreq = MulticastRequest(iface, in_addr{}, local);
  if (auto s = setup.Set(IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)); !s.ok()) return s;
  if (auto s = setup.SetInt(IPPROTO_IP, IP_MULTICAST_TTL, options.multicast_hops); !s.ok()) {
    return s;
  }
  const bool loop = options.multicast_loop.value_or(iface.IsLoopback());
  return setup.SetInt(IPPROTO_IP, IP_MULTICAST_LOOP, loop ? 1 : 0);
}

// Options common to probe and listener sockets (IPv6). `bind_to_device`:
// listeners always (see OpenListenerSocket), probes when asked.
absl::Status ConfigureV6(Setup& setup, const Interface& iface, const SocketOptions& options,
                         bool bind_to_device, BoundSocket* out) {
  // One family per socket: without V6ONLY an AF_INET6 socket on [::] would
  // also take IPv4 (as v4-mapped addresses) next to our IPv4 sockets.
  if (auto s = setup.SetInt(IPPROTO_IPV6, IPV6_V6ONLY, 1); !s.ok()) return s;
  if (auto s = setup.SizeReceiveBuffer(options.rcvbuf_bytes, out); !s.ok()) return s;
  if (auto s = setup.SetInt(SOL_SOCKET, SO_RXQ_OVFL, 1); !s.ok()) return s;
  if (auto s = setup.SetInt(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1); !s.ok()) return s;
  if (bind_to_device) {
    if (auto s = setup.BindToDevice(iface.name); !s.ok()) return s;
  }
  // FF02::C is link-scope: the interface index says which link.
  if (auto s = setup.SetInt(IPPROTO_IPV6, IPV6_MULTICAST_IF, static_cast<int>(iface.ifindex)); !s.ok()) {
    return s;
  }
  if (auto s = setup.SetInt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, options.multicast_hops); !s.ok()) return s;
  const bool loop = options.multicast_loop.value_or(iface.IsLoopback());
  return setup.SetInt(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, loop ? 1 : 0);
}

// The IPv6 address a probe socket binds to: the link-local one, zoned by
// the interface (see OpenProbeSocket), else the first.
IpAddress ProbeBindAddressV6(const Interface& iface) {
  const IpAddress primary = iface.PrimaryAddress(Family::kIPv6)->address;
  if (primary.IsLinkLocal()) return IpAddress::V6(primary.v6(), iface.ifindex);
  return IpAddress::V6(primary.v6());
}

absl::StatusOr<BoundSocket> Finish(Setup& setup, const Interface& iface, Family family,
                                   BoundSocket out) {
  auto local = setup.LocalAddress();
  if (!local.ok()) return local.status();
  out.fd = setup.TakeFd();
  out.family = family;
  out.interface_name = iface.name;
  out.ifindex = iface.ifindex;
  out.local = *local;
  return out;
}

absl::Status CheckAddress(const Interface& iface, Family family, const char* what) {
  if (iface.PrimaryAddress(family)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(FamilyName(family), " ", what, " on ",
                                                    iface.name, ": interface has no ",
                                                    FamilyName(family), " address"));
}

}  // namespace

absl::StatusOr<BoundSocket> OpenProbeSocket(const Interface& iface, Family family,
                                            const SocketOptions& options, OsSysCalls& sys) {
  if (auto s = CheckAddress(iface, family, "probe socket"); !s.ok()) return s;
  Setup setup(iface, sys);
  BoundSocket out;
  if (family == Family::kIPv6) {
    if (auto s = setup.Open(AF_INET6); !s.ok()) return s;
    if (auto s = ConfigureV6(setup, iface, options, options.bind_to_device, &out); !s.ok()) return s;
    if (auto s = setup.Bind(SocketAddress(ProbeBindAddressV6(iface), options.port.value_or(0))); !s.ok()) {
      return s;
    }
    return Finish(setup, iface, family, std::move(out));
  }
  const in_addr local = iface.PrimaryAddress(family)->address.v4();
  if (auto s = setup.Open(AF_INET); !s.ok()) return s;
  if (auto s = ConfigureV4(setup, iface, options, local, &out); !s.ok()) return s;
  if (auto s = setup.Bind(SocketAddress(IpAddress::V4(local), options.port.value_or(0)));
      !s.ok()) {
    return s;
  }
  return Finish(setup, iface, family, std::move(out));
}

absl::StatusOr<BoundSocket> OpenUnicastProbeSocket(Family family, const SocketOptions& options, OsSysCalls& sys) {
  Interface unicast;
  unicast.name = "unicast";
  Setup setup(unicast, sys);
  BoundSocket out;
  const bool v6 = family == Family::kIPv6;
  if (auto s = setup.Open(v6 ? AF_INET6 : AF_INET); !s.ok()) return s;
  if (v6) {
    if (auto s = setup.SetInt(IPPROTO_IPV6, IPV6_V6ONLY, 1); !s.ok()) return s;
  }
  if (auto s = setup.SizeReceiveBuffer(options.rcvbuf_bytes, &out); !s.ok()) return s;
  if (auto s = setup.SetInt(SOL_SOCKET, SO_RXQ_OVFL, 1); !s.ok()) return s;
  if (auto s = v6 ? setup.SetInt(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) : setup.SetInt(IPPROTO_IP, IP_PKTINFO, 1);
      !s.ok()) {
    return s;
  }
  const IpAddress any = v6 ? IpAddress::V6(in6addr_any) : IpAddress::V4(in_addr{htonl(INADDR_ANY)});
  if (auto s = setup.Bind(SocketAddress(any, options.port.value_or(0))); !s.ok()) return s;
  return Finish(setup, unicast, family, std::move(out));
}

absl::StatusOr<BoundSocket> OpenListenerSocket(const Interface& iface, Family family,
                                               const SocketOptions& options, OsSysCalls& sys) {
  if (auto s = CheckAddress(iface, family, "listener socket"); !s.ok()) return s;
  Setup setup(iface, sys);
  BoundSocket out;
  if (auto s = setup.Open(FamilyToAf(family)); !s.ok()) return s;
  // One listener per interface shares *:3702 with the others (and with other
  // responders on the host).
  if (auto s = setup.SetInt(SOL_SOCKET, SO_REUSEADDR, 1); !s.ok()) return s;
  if (options.reuse_port) {
    if (auto s = setup.SetInt(SOL_SOCKET, SO_REUSEPORT, 1); !s.ok()) return s;
  }
  if (family == Family::kIPv6) {
    // A socket on [::]:3702 gets FF02::C from every interface any socket
    // joined it on (LAB.md), and IPV6_MULTICAST_ALL=0 does not help: its
    // filter matches the group, not the interface it was joined on
    // (measured: two listeners joined on n0 and n1 both got n0's datagram).
    // SO_BINDTODEVICE keeps each listener to its own interface.
    if (auto s = ConfigureV6(setup, iface, options, /*bind_to_device=*/true, &out); !s.ok()) return s;
    if (auto s = setup.Bind(SocketAddress(IpAddress::V6(in6addr_any), options.port.value_or(kWsdPort)));
        !s.ok()) {
      return s;
    }
    ipv6_mreq mreq{};
    mreq.ipv6mr_multiaddr = WsdGroupV6();
    mreq.ipv6mr_interface = iface.ifindex;
    if (auto s = setup.JoinGroupV6(mreq); !s.ok()) return s;
    return Finish(setup, iface, family, std::move(out));
  }
  const in_addr local = iface.PrimaryAddress(family)->address.v4();
  // Only the groups joined here, on the interface joined here (LAB.md).
  if (auto s = setup.SetInt(IPPROTO_IP, IP_MULTICAST_ALL, 0); !s.ok()) return s;
  if (auto s = ConfigureV4(setup, iface, options, local, &out); !s.ok()) return s;
  if (auto s = setup.Bind(SocketAddress(IpAddress::V4(in_addr{htonl(INADDR_ANY)}),
                                        options.port.value_or(kWsdPort)));
      !s.ok()) {
    return s;
  }
  const ip_mreqn mreq = MulticastRequest(iface, WsdGroupV4(), in_addr{});
  if (auto s = setup.JoinGroupV4(mreq); !s.ok()) return s;
  return Finish(setup, iface, family, std::move(out));
}

}  // namespace onvif::net
