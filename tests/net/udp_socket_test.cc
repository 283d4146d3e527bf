// Probe and listener sockets: the exact setup sequence and error messages
// with FakeOsSysCalls (no root, no network), then real sockets inside lab
// namespaces (root; skipped otherwise).

#include "engine/net/udp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <poll.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/lab/lab.h"
#include "tests/net/fake_os_sys_calls.h"

namespace onvif::net {
namespace {

constexpr int kForcedRcvbuf = 2 * kDefaultRcvbufBytes;  // the kernel doubles it

// Designated initializers would trip g++ 12's -Wmissing-field-initializers.
SocketOptions WithRcvbuf(int bytes) {
  SocketOptions options;
  options.rcvbuf_bytes = bytes;
  return options;
}
SocketOptions WithPort(std::uint16_t port) {
  SocketOptions options;
  options.port = port;
  return options;
}
SocketOptions BoundToDeviceReusePort() {
  SocketOptions options;
  options.bind_to_device = true;
  options.reuse_port = true;
  return options;
}
InterfaceFilter Only(std::string name) {
  InterfaceFilter filter;
  filter.include = {std::move(name)};
  return filter;
}

Interface Cam3() {
  Interface iface;
  iface.name = "cam3";
  iface.ifindex = 7;
  iface.flags = unsigned{IFF_UP} | unsigned{IFF_LOWER_UP} | unsigned{IFF_RUNNING} | unsigned{IFF_MULTICAST};
  iface.ipv4.push_back({*IpAddress::Parse("10.77.3.1"), 24});
  return iface;
}

// --- Fake syscalls ---

TEST(ProbeSocketFakeTest, ConfiguresEverythingAndBindsEphemeral) {
  FakeOsSysCalls sys;
  auto sock = OpenProbeSocket(Cam3(), Family::kIPv4, {}, sys);
  ASSERT_TRUE(sock.ok()) << sock.status();
  EXPECT_TRUE(sock->fd.valid());
  EXPECT_EQ(sock->interface_name, "cam3");
  EXPECT_EQ(sock->ifindex, 7u);
  EXPECT_EQ(sock->local.ToString(), "10.77.3.1:40000");
  EXPECT_TRUE(sock->rcvbuf_forced);
  EXPECT_EQ(sock->rcvbuf_bytes, kForcedRcvbuf);

  ASSERT_EQ(sys.calls().front().op, "socket");
  EXPECT_EQ(sys.calls().front().level, AF_INET);
  EXPECT_EQ(sys.calls().front().name, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
  EXPECT_EQ(sys.ValueOf<int>(SOL_SOCKET, SO_RCVBUFFORCE), kDefaultRcvbufBytes);
  EXPECT_FALSE(sys.WasSet(SOL_SOCKET, SO_RCVBUF));
  EXPECT_EQ(sys.ValueOf<int>(SOL_SOCKET, SO_RXQ_OVFL), 1);
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IP, IP_PKTINFO), 1);
  EXPECT_EQ(sys.ValueOf<ip_mreqn>(IPPROTO_IP, IP_MULTICAST_IF).imr_ifindex, 7);
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IP, IP_MULTICAST_TTL), 1);
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IP, IP_MULTICAST_LOOP), 0);
  EXPECT_FALSE(sys.WasSet(IPPROTO_IP, IP_ADD_MEMBERSHIP));  // probes join nothing
  EXPECT_FALSE(sys.WasSet(SOL_SOCKET, SO_BINDTODEVICE));
  EXPECT_EQ(sys.bound().ToString(), "10.77.3.1:40000");
}

TEST(ProbeSocketFakeTest, LoopbackTurnsMulticastLoopOn) {
  FakeOsSysCalls sys;
  Interface lo = Cam3();
  lo.name = "lo";
  lo.flags |= IFF_LOOPBACK;
  ASSERT_TRUE(OpenProbeSocket(lo, Family::kIPv4, {}, sys).ok());
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IP, IP_MULTICAST_LOOP), 1);
}

TEST(ProbeSocketFakeTest, EpermOnRcvbufForceFallsBackToRcvbuf) {
  FakeOsSysCalls sys;
  sys.FailSetSockOpt(SOL_SOCKET, SO_RCVBUFFORCE, EPERM);  // not CAP_NET_ADMIN
  auto sock = OpenProbeSocket(Cam3(), Family::kIPv4, {}, sys);
  ASSERT_TRUE(sock.ok()) << sock.status();
  EXPECT_FALSE(sock->rcvbuf_forced);
  EXPECT_EQ(sys.ValueOf<int>(SOL_SOCKET, SO_RCVBUF), kDefaultRcvbufBytes);
  // Capped at rmem_max (4 MiB), doubled: what getsockopt says is what is reported.
  EXPECT_EQ(sock->rcvbuf_bytes, 2 * (4 << 20));
}

TEST(ProbeSocketFakeTest, ZeroRcvbufLeavesTheDefault) {
  FakeOsSysCalls sys;
  auto sock = OpenProbeSocket(Cam3(), Family::kIPv4, WithRcvbuf(0), sys);
  ASSERT_TRUE(sock.ok());
  EXPECT_FALSE(sys.WasSet(SOL_SOCKET, SO_RCVBUFFORCE));
  EXPECT_EQ(sock->rcvbuf_bytes, 212992);
}

TEST(ProbeSocketFakeTest, ErrorsNameOptionInterfaceAndCause) {
  struct Case {
    int level, name, err;
    absl::StatusCode code;
    const char* message;
  };
  for (const Case& c : {
           Case{SOL_SOCKET, SO_RCVBUFFORCE, ENOMEM, absl::StatusCode::kResourceExhausted,
                "SO_RCVBUFFORCE on cam3: Cannot allocate memory"},
           Case{SOL_SOCKET, SO_RXQ_OVFL, ENOPROTOOPT, absl::StatusCode::kInvalidArgument,
                "SO_RXQ_OVFL on cam3: Protocol not available"},
           Case{IPPROTO_IP, IP_MULTICAST_IF, ENODEV, absl::StatusCode::kNotFound,
                "IP_MULTICAST_IF on cam3: No such device"},
           Case{IPPROTO_IP, IP_MULTICAST_TTL, EINVAL, absl::StatusCode::kInvalidArgument,
                "IP_MULTICAST_TTL on cam3: Invalid argument"},
       }) {
    FakeOsSysCalls sys;
    sys.FailSetSockOpt(c.level, c.name, c.err);
    auto sock = OpenProbeSocket(Cam3(), Family::kIPv4, {}, sys);
    ASSERT_FALSE(sock.ok()) << c.message;
    EXPECT_EQ(sock.status().code(), c.code) << sock.status();
    EXPECT_EQ(sock.status().message(), c.message);
  }
}

TEST(ProbeSocketFakeTest, SocketAndBindFailures) {
  FakeOsSysCalls no_socket;
  no_socket.FailSocket(EMFILE);
  auto s1 = OpenProbeSocket(Cam3(), Family::kIPv4, {}, no_socket);
  ASSERT_FALSE(s1.ok());
  EXPECT_EQ(s1.status().message(), "socket(AF_INET, SOCK_DGRAM) on cam3: Too many open files");

  FakeOsSysCalls in_use;
  in_use.FailBind(EADDRINUSE);
  auto s2 = OpenProbeSocket(Cam3(), Family::kIPv4, WithPort(5000), in_use);
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s2.status().message(), "bind 10.77.3.1:5000 on cam3: Address already in use");
}

TEST(ProbeSocketFakeTest, InterfaceWithoutAddressIsRejectedBeforeAnySyscall) {
  FakeOsSysCalls sys;
  Interface bare = Cam3();
  bare.ipv4.clear();
  auto sock = OpenProbeSocket(bare, Family::kIPv4, {}, sys);
  ASSERT_FALSE(sock.ok());
  EXPECT_EQ(sock.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(sock.status().message(), "IPv4 probe socket on cam3: interface has no IPv4 address");
  EXPECT_TRUE(sys.calls().empty());
}

// --- IPv6, fake syscalls ---

// Cam3 with a global address listed before its link-local one (getifaddrs
// order varies): the probe socket must still pick the link-local one.
Interface Cam3Dual() {
  Interface iface = Cam3();
  iface.ipv6.push_back({*IpAddress::Parse("fd77:3::1"), 64});
  in6_addr link_local{};
  inet_pton(AF_INET6, "fe80::1", &link_local);
  iface.ipv6.push_back({IpAddress::V6(link_local, 7), 64});
  return iface;
}

Interface Cam3V6Only() {
  Interface iface = Cam3Dual();
  iface.ipv4.clear();
  return iface;
}

// Index of the first call named `op` ("bind", "socket", ...), or -1.
int IndexOfOp(const FakeOsSysCalls& sys, const std::string& op) {
  for (size_t i = 0; i < sys.calls().size(); ++i) {
    if (sys.calls()[i].op == op) return static_cast<int>(i);
  }
  return -1;
}

// Whether any setsockopt at `level` was made.
bool AnyAtLevel(const FakeOsSysCalls& sys, int level) {
  for (const auto& call : sys.calls()) {
    if (call.op == "setsockopt" && call.level == level) return true;
  }
  return false;
}

std::string GroupText(const in6_addr& group) {
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &group, text, sizeof(text));
  return text;
}

TEST(Ipv6ProbeSocketFakeTest, BindsTheZonedLinkLocalAddressAndSetsTheIpv6Options) {
  FakeOsSysCalls sys;
  auto sock = OpenProbeSocket(Cam3V6Only(), Family::kIPv6, {}, sys);
  ASSERT_TRUE(sock.ok()) << sock.status();
  EXPECT_EQ(sock->family, Family::kIPv6);
  EXPECT_EQ(sock->ifindex, 7u);
  EXPECT_EQ(sock->local.ToString(), "[fe80::1%7]:40000");
  EXPECT_EQ(sock->local.scope_id(), 7u);
  EXPECT_TRUE(sock->rcvbuf_forced);
  EXPECT_EQ(sock->rcvbuf_bytes, kForcedRcvbuf);

  ASSERT_EQ(sys.calls().front().op, "socket");
  EXPECT_EQ(sys.calls().front().level, AF_INET6);
  EXPECT_EQ(sys.calls().front().name, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IPV6, IPV6_V6ONLY), 1);
  EXPECT_EQ(sys.ValueOf<int>(SOL_SOCKET, SO_RCVBUFFORCE), kDefaultRcvbufBytes);
  EXPECT_EQ(sys.ValueOf<int>(SOL_SOCKET, SO_RXQ_OVFL), 1);
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IPV6, IPV6_RECVPKTINFO), 1);
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IPV6, IPV6_MULTICAST_IF), 7);
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IPV6, IPV6_MULTICAST_HOPS), 1);
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IPV6, IPV6_MULTICAST_LOOP), 0);
  EXPECT_FALSE(sys.WasSet(IPPROTO_IPV6, IPV6_JOIN_GROUP));  // probes join nothing
  EXPECT_FALSE(sys.WasSet(SOL_SOCKET, SO_BINDTODEVICE));
  EXPECT_FALSE(AnyAtLevel(sys, IPPROTO_IP)) << "no IPv4 option on an IPv6 socket";
  // Every option is in place before the socket is bound.
  const int bind = IndexOfOp(sys, "bind");
  ASSERT_GE(bind, 0);
  EXPECT_LT(sys.IndexOf(IPPROTO_IPV6, IPV6_V6ONLY), bind);
  EXPECT_LT(sys.IndexOf(IPPROTO_IPV6, IPV6_MULTICAST_IF), bind);
  EXPECT_EQ(sys.bound().ToString(), "[fe80::1%7]:40000");
}

TEST(Ipv6ProbeSocketFakeTest, WithoutLinkLocalBindsTheFirstAddressUnzoned) {
  FakeOsSysCalls sys;
  Interface iface = Cam3V6Only();
  iface.ipv6.pop_back();  // only fd77:3::1 left
  auto sock = OpenProbeSocket(iface, Family::kIPv6, {}, sys);
  ASSERT_TRUE(sock.ok()) << sock.status();
  EXPECT_EQ(sock->local.ToString(), "[fd77:3::1]:40000");
  EXPECT_EQ(sock->local.scope_id(), 0u);
}

TEST(Ipv6ProbeSocketFakeTest, LinkLocalWithoutScopeGetsTheInterfaceIndex) {
  FakeOsSysCalls sys;
  Interface iface = Cam3();
  iface.ipv6.push_back({*IpAddress::Parse("fe80::9"), 64});  // synthetic: scope 0
  auto sock = OpenProbeSocket(iface, Family::kIPv6, {}, sys);
  ASSERT_TRUE(sock.ok()) << sock.status();
  EXPECT_EQ(sys.bound().ToString(), "[fe80::9%7]:40000");
}

TEST(Ipv6ProbeSocketFakeTest, LoopbackTurnsMulticastLoopOn) {
  FakeOsSysCalls sys;
  Interface lo = Cam3V6Only();
  lo.flags |= IFF_LOOPBACK;
  ASSERT_TRUE(OpenProbeSocket(lo, Family::kIPv6, {}, sys).ok());
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IPV6, IPV6_MULTICAST_LOOP), 1);
}

TEST(Ipv6ProbeSocketFakeTest, ErrorsNameOptionInterfaceAndCause) {
  struct Case {
    int level, name, err;
    const char* message;
  };
  for (const Case& c : {
           Case{IPPROTO_IPV6, IPV6_V6ONLY, EINVAL, "IPV6_V6ONLY on cam3: Invalid argument"},
           Case{SOL_SOCKET, SO_RCVBUFFORCE, ENOMEM, "SO_RCVBUFFORCE on cam3: Cannot allocate memory"},
           Case{IPPROTO_IPV6, IPV6_RECVPKTINFO, ENOPROTOOPT, "IPV6_RECVPKTINFO on cam3: Protocol not available"},
           Case{IPPROTO_IPV6, IPV6_MULTICAST_IF, ENODEV, "IPV6_MULTICAST_IF on cam3: No such device"},
           Case{IPPROTO_IPV6, IPV6_MULTICAST_HOPS, EINVAL, "IPV6_MULTICAST_HOPS on cam3: Invalid argument"},
           Case{IPPROTO_IPV6, IPV6_MULTICAST_LOOP, EINVAL, "IPV6_MULTICAST_LOOP on cam3: Invalid argument"},
       }) {
    FakeOsSysCalls sys;
    sys.FailSetSockOpt(c.level, c.name, c.err);
    auto sock = OpenProbeSocket(Cam3Dual(), Family::kIPv6, {}, sys);
    ASSERT_FALSE(sock.ok()) << c.message;
    EXPECT_EQ(sock.status().message(), c.message);
  }
  FakeOsSysCalls no_socket;
  no_socket.FailSocket(EAFNOSUPPORT);  // a kernel booted with ipv6.disable=1
  auto s1 = OpenProbeSocket(Cam3Dual(), Family::kIPv6, {}, no_socket);
  ASSERT_FALSE(s1.ok());
  EXPECT_EQ(s1.status().message(),
            "socket(AF_INET6, SOCK_DGRAM) on cam3: Address family not supported by protocol");
  FakeOsSysCalls tentative;
  tentative.FailBind(EADDRNOTAVAIL);  // a link-local address still in DAD (LAB.md)
  auto s2 = OpenProbeSocket(Cam3Dual(), Family::kIPv6, WithPort(5000), tentative);
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.status().message(), "bind [fe80::1%7]:5000 on cam3: Cannot assign requested address");
}

TEST(Ipv6ProbeSocketFakeTest, InterfaceWithoutIpv6AddressIsRejectedBeforeAnySyscall) {
  FakeOsSysCalls sys;
  auto sock = OpenProbeSocket(Cam3(), Family::kIPv6, {}, sys);
  ASSERT_FALSE(sock.ok());
  EXPECT_EQ(sock.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(sock.status().message(), "IPv6 probe socket on cam3: interface has no IPv6 address");
  auto listener = OpenListenerSocket(Cam3(), Family::kIPv6, {}, sys);
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(listener.status().message(), "IPv6 listener socket on cam3: interface has no IPv6 address");
  EXPECT_TRUE(sys.calls().empty());
}

TEST(Ipv6ListenerSocketFakeTest, BindsToTheDeviceAndJoinsFf02cWithLeaveFirst) {
  FakeOsSysCalls sys;
  auto sock = OpenListenerSocket(Cam3Dual(), Family::kIPv6, {}, sys);
  ASSERT_TRUE(sock.ok()) << sock.status();
  EXPECT_EQ(sock->local.ToString(), "[::]:3702");
  EXPECT_EQ(sys.calls().front().level, AF_INET6);
  EXPECT_EQ(sys.ValueOf<int>(SOL_SOCKET, SO_REUSEADDR), 1);
  EXPECT_FALSE(sys.WasSet(SOL_SOCKET, SO_REUSEPORT));
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IPV6, IPV6_V6ONLY), 1);
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IPV6, IPV6_RECVPKTINFO), 1);
  EXPECT_EQ(sys.ValueOf<int>(SOL_SOCKET, SO_RXQ_OVFL), 1);
  // No IP_MULTICAST_ALL for IPv6: SO_BINDTODEVICE keeps delivery per
  // interface, and it must be in place before bind.
  EXPECT_FALSE(AnyAtLevel(sys, IPPROTO_IP));
  ASSERT_TRUE(sys.WasSet(SOL_SOCKET, SO_BINDTODEVICE));
  const auto& device = sys.calls()[sys.IndexOf(SOL_SOCKET, SO_BINDTODEVICE)].value;
  EXPECT_EQ(std::string(device.begin(), device.end()), "cam3");
  EXPECT_LT(sys.IndexOf(SOL_SOCKET, SO_BINDTODEVICE), IndexOfOp(sys, "bind"));
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IPV6, IPV6_MULTICAST_IF), 7);
  const auto join = sys.ValueOf<ipv6_mreq>(IPPROTO_IPV6, IPV6_JOIN_GROUP);
  EXPECT_EQ(join.ipv6mr_interface, 7u);
  EXPECT_EQ(GroupText(join.ipv6mr_multiaddr), "ff02::c");
  const int leave = sys.IndexOf(IPPROTO_IPV6, IPV6_LEAVE_GROUP);
  ASSERT_GE(leave, 0);
  EXPECT_LT(leave, sys.IndexOf(IPPROTO_IPV6, IPV6_JOIN_GROUP));
  EXPECT_LT(IndexOfOp(sys, "bind"), leave);
  EXPECT_EQ(sys.ValueOf<ipv6_mreq>(IPPROTO_IPV6, IPV6_LEAVE_GROUP).ipv6mr_interface, 7u);
}

TEST(Ipv6ListenerSocketFakeTest, Failures) {
  struct Case {
    int level, name, err;
    const char* message;
  };
  for (const Case& c : {
           Case{SOL_SOCKET, SO_BINDTODEVICE, EPERM, "SO_BINDTODEVICE on cam3: Operation not permitted"},
           Case{IPPROTO_IPV6, IPV6_JOIN_GROUP, ENOBUFS, "IPV6_JOIN_GROUP on cam3: No buffer space available"},
           Case{IPPROTO_IPV6, IPV6_V6ONLY, EINVAL, "IPV6_V6ONLY on cam3: Invalid argument"},
       }) {
    FakeOsSysCalls sys;
    sys.FailSetSockOpt(c.level, c.name, c.err);
    auto sock = OpenListenerSocket(Cam3Dual(), Family::kIPv6, {}, sys);
    ASSERT_FALSE(sock.ok()) << c.message;
    EXPECT_EQ(sock.status().message(), c.message);
  }
  FakeOsSysCalls not_member;
  not_member.FailSetSockOpt(IPPROTO_IPV6, IPV6_LEAVE_GROUP, EADDRNOTAVAIL);  // the normal case
  EXPECT_TRUE(OpenListenerSocket(Cam3Dual(), Family::kIPv6, {}, not_member).ok());
  FakeOsSysCalls in_use;
  in_use.FailBind(EADDRINUSE);
  auto sock = OpenListenerSocket(Cam3Dual(), Family::kIPv6, {}, in_use);
  ASSERT_FALSE(sock.ok());
  EXPECT_EQ(sock.status().message(), "bind [::]:3702 on cam3: Address already in use");
}

TEST(UnicastProbeSocketFakeTest, Ipv4AndIpv6) {
  FakeOsSysCalls v4;
  auto s4 = OpenUnicastProbeSocket(Family::kIPv4, {}, v4);
  ASSERT_TRUE(s4.ok()) << s4.status();
  EXPECT_EQ(s4->interface_name, "unicast");
  EXPECT_EQ(s4->local.ToString(), "0.0.0.0:40000");
  EXPECT_EQ(v4.ValueOf<int>(IPPROTO_IP, IP_PKTINFO), 1);

  FakeOsSysCalls v6;
  auto s6 = OpenUnicastProbeSocket(Family::kIPv6, {}, v6);
  ASSERT_TRUE(s6.ok()) << s6.status();
  EXPECT_EQ(s6->family, Family::kIPv6);
  EXPECT_EQ(s6->local.ToString(), "[::]:40000");
  EXPECT_EQ(v6.calls().front().level, AF_INET6);
  EXPECT_EQ(v6.ValueOf<int>(IPPROTO_IPV6, IPV6_V6ONLY), 1);
  EXPECT_EQ(v6.ValueOf<int>(IPPROTO_IPV6, IPV6_RECVPKTINFO), 1);
  EXPECT_EQ(v6.ValueOf<int>(SOL_SOCKET, SO_RXQ_OVFL), 1);
  EXPECT_FALSE(AnyAtLevel(v6, IPPROTO_IP));
  FakeOsSysCalls failing;
  failing.FailSetSockOpt(IPPROTO_IPV6, IPV6_RECVPKTINFO, ENOPROTOOPT);
  auto bad = OpenUnicastProbeSocket(Family::kIPv6, {}, failing);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "IPV6_RECVPKTINFO on unicast: Protocol not available");
}

TEST(ListenerSocketFakeTest, JoinsOnTheInterfaceWithDropFirst) {
  FakeOsSysCalls sys;
  auto sock = OpenListenerSocket(Cam3(), Family::kIPv4, {}, sys);
  ASSERT_TRUE(sock.ok()) << sock.status();
  EXPECT_EQ(sock->local.ToString(), "0.0.0.0:3702");
  EXPECT_EQ(sys.ValueOf<int>(SOL_SOCKET, SO_REUSEADDR), 1);
  // Not SO_REUSEPORT: it breaks per-interface multicast delivery (udp_socket.h).
  EXPECT_FALSE(sys.WasSet(SOL_SOCKET, SO_REUSEPORT));
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IP, IP_MULTICAST_ALL), 0);
  EXPECT_EQ(sys.ValueOf<int>(IPPROTO_IP, IP_PKTINFO), 1);
  const auto join = sys.ValueOf<ip_mreqn>(IPPROTO_IP, IP_ADD_MEMBERSHIP);
  EXPECT_EQ(join.imr_ifindex, 7);
  char group[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &join.imr_multiaddr, group, sizeof(group));
  EXPECT_STREQ(group, "239.255.255.250");
  const int drop = sys.IndexOf(IPPROTO_IP, IP_DROP_MEMBERSHIP);
  const int add = sys.IndexOf(IPPROTO_IP, IP_ADD_MEMBERSHIP);
  ASSERT_GE(drop, 0);
  EXPECT_LT(drop, add);
  EXPECT_EQ(sys.ValueOf<ip_mreqn>(IPPROTO_IP, IP_DROP_MEMBERSHIP).imr_ifindex, 7);
}

TEST(ListenerSocketFakeTest, DropFailureIsIgnored) {
  FakeOsSysCalls sys;
  sys.FailSetSockOpt(IPPROTO_IP, IP_DROP_MEMBERSHIP, EADDRNOTAVAIL);  // not a member: normal
  EXPECT_TRUE(OpenListenerSocket(Cam3(), Family::kIPv4, {}, sys).ok());
}

TEST(ListenerSocketFakeTest, EnobufsOnMembershipNamesTheInterface) {
  FakeOsSysCalls sys;
  // What the 21st join on one socket gets (igmp_max_memberships = 20, LAB.md).
  sys.FailSetSockOpt(IPPROTO_IP, IP_ADD_MEMBERSHIP, ENOBUFS);
  auto sock = OpenListenerSocket(Cam3(), Family::kIPv4, {}, sys);
  ASSERT_FALSE(sock.ok());
  EXPECT_EQ(sock.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(sock.status().message(), "IP_ADD_MEMBERSHIP on cam3: No buffer space available");
}

TEST(ListenerSocketFakeTest, OtherFailures) {
  struct Case {
    int level, name, err;
    const char* message;
  };
  for (const Case& c :
       {Case{SOL_SOCKET, SO_REUSEPORT, ENOPROTOOPT, "SO_REUSEPORT on cam3: Protocol not available"},
        Case{IPPROTO_IP, IP_MULTICAST_ALL, EINVAL, "IP_MULTICAST_ALL on cam3: Invalid argument"},
        Case{SOL_SOCKET, SO_BINDTODEVICE, EPERM, "SO_BINDTODEVICE on cam3: Operation not permitted"}}) {
    FakeOsSysCalls sys;
    sys.FailSetSockOpt(c.level, c.name, c.err);
    auto sock = OpenListenerSocket(Cam3(), Family::kIPv4, BoundToDeviceReusePort(), sys);
    EXPECT_TRUE(sys.WasSet(c.level, c.name));
    ASSERT_FALSE(sock.ok()) << c.message;
    EXPECT_EQ(sock.status().message(), c.message);
  }
  FakeOsSysCalls in_use;
  in_use.FailBind(EADDRINUSE);
  auto sock = OpenListenerSocket(Cam3(), Family::kIPv4, {}, in_use);
  ASSERT_FALSE(sock.ok());
  EXPECT_EQ(sock.status().message(), "bind 0.0.0.0:3702 on cam3: Address already in use");
}

// --- Real sockets, inside namespaces only (root) ---

struct Received {
  std::string payload;
  SocketAddress peer;
  ReceiveInfo info;
};

// Waits up to timeout_ms for one datagram.
std::optional<Received> ReceiveOne(const BoundSocket& sock, int timeout_ms) {
  pollfd pfd{sock.fd.get(), POLLIN, 0};
  if (poll(&pfd, 1, timeout_ms) != 1) return std::nullopt;
  char buf[2048];
  alignas(cmsghdr) char control[kControlBufferBytes];
  sockaddr_storage peer{};
  iovec iov{buf, sizeof(buf)};
  msghdr msg{};
  msg.msg_name = &peer;
  msg.msg_namelen = sizeof(peer);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const SysCallResult r = RealSysCalls().RecvMsg(sock.fd.get(), &msg, 0);
  if (!r.ok()) return std::nullopt;
  Received out;
  out.payload.assign(buf, static_cast<size_t>(r.rc));
  out.peer = SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&peer), msg.msg_namelen);
  if (out.peer.empty()) return std::nullopt;
  out.info = ParseReceiveInfo(msg);
  return out;
}

bool SendTo(const BoundSocket& sock, std::string_view payload, const SocketAddress& to) {
  sockaddr_storage storage;
  const socklen_t length = to.ToSockaddr(storage);
  return RealSysCalls()
      .SendTo(sock.fd.get(), payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&storage),
              length)
      .ok();
}

SocketAddress Group() { return SocketAddress(*IpAddress::Parse(kWsdIpv4Group), kWsdPort); }

// Opens a socket on the named interface from inside `netns`.
absl::StatusOr<BoundSocket> OpenIn(const std::string& netns, const std::string& iface,
                                   bool listener, Family family = Family::kIPv4) {
  absl::StatusOr<BoundSocket> out = absl::UnknownError("not run");
  auto entered = lab::RunInNetns(netns, [&] {
    InterfaceFilter filter = Only(iface);
    filter.families = {family};
    auto list = ListInterfaces(filter);
    if (!list.ok()) {
      out = list.status();
      return;
    }
    out = listener ? OpenListenerSocket(list->front(), family)
                   : OpenProbeSocket(list->front(), family);
  });
  if (!entered.ok()) return entered;
  return out;
}

class LabSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LAB_SKIP_UNLESS_ROOT("runs inside its own network namespaces");
    lab::LabOptions options;
    options.nics = 2;
    auto lab = lab::Lab::Up(options);
    ASSERT_TRUE(lab.ok()) << lab.status();
    lab_.emplace(*std::move(lab));
  }
  std::optional<lab::Lab> lab_;
};

TEST_F(LabSocketTest, ProbeSocketsOnTwoNicsGetUnicastWithArrivalIfindex) {
  for (int i = 0; i < 2; ++i) {
    auto probe = OpenIn(lab_->HostNamespace(), lab::Lab::HostNic(i), /*listener=*/false);
    ASSERT_TRUE(probe.ok()) << probe.status();
    EXPECT_EQ(probe->local.ip().ToString(), lab::Lab::HostAddress(i));
    EXPECT_NE(probe->local.port(), 0);
    EXPECT_TRUE(fcntl(probe->fd.get(), F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(fcntl(probe->fd.get(), F_GETFD) & FD_CLOEXEC);
    // As root SO_RCVBUFFORCE goes beyond rmem_max (4 MiB, LAB.md).
    EXPECT_TRUE(probe->rcvbuf_forced);
    EXPECT_GE(probe->rcvbuf_bytes, kDefaultRcvbufBytes);

    // A camera answers unicast to the probe's address and port.
    auto camera = OpenIn(lab_->CamNamespace(i), lab_->CamNic(i), /*listener=*/true);
    ASSERT_TRUE(camera.ok()) << camera.status();
    ASSERT_TRUE(SendTo(*camera, "match", probe->local));
    auto got = ReceiveOne(*probe, 2000);
    ASSERT_TRUE(got.has_value()) << "nothing arrived on " << probe->interface_name;
    EXPECT_EQ(got->payload, "match");
    EXPECT_EQ(got->info.arrival_ifindex, probe->ifindex);
    ASSERT_FALSE(got->info.destination.empty());
    EXPECT_EQ(got->info.destination.ip().ToString(), lab::Lab::HostAddress(i));
    EXPECT_EQ(got->info.destination.port(), 0);
    EXPECT_EQ(got->peer.ToString(), lab::Lab::CamAddress(i) + ":3702");
    EXPECT_FALSE(got->info.kernel_drops.has_value());  // SO_RXQ_OVFL reports only drops > 0
  }
}

TEST_F(LabSocketTest, ListenerGetsOnlyItsOwnInterfacesMulticast) {
  auto l0 = OpenIn(lab_->HostNamespace(), "n0", /*listener=*/true);
  auto l1 = OpenIn(lab_->HostNamespace(), "n1", /*listener=*/true);
  ASSERT_TRUE(l0.ok()) << l0.status();
  ASSERT_TRUE(l1.ok()) << l1.status();
  BoundSocket* listeners[2] = {&*l0, &*l1};
  for (int from = 0; from < 2; ++from) {
    auto camera = OpenIn(lab_->CamNamespace(from), lab_->CamNic(from), /*listener=*/false);
    ASSERT_TRUE(camera.ok()) << camera.status();
    const std::string hello = "hello from cam" + std::to_string(from);
    ASSERT_TRUE(SendTo(*camera, hello, Group()));
    auto got = ReceiveOne(*listeners[from], 2000);
    ASSERT_TRUE(got.has_value()) << "listener on n" << from << " got nothing";
    EXPECT_EQ(got->payload, hello);
    EXPECT_EQ(got->info.arrival_ifindex, listeners[from]->ifindex);
    ASSERT_FALSE(got->info.destination.empty());
    EXPECT_EQ(got->info.destination.ip().ToString(), kWsdIpv4Group);
    EXPECT_EQ(got->peer.ip().ToString(), lab::Lab::CamAddress(from));
    // IP_MULTICAST_ALL=0: the other NIC's listener, also on *:3702, hears nothing.
    auto other = ReceiveOne(*listeners[1 - from], 300);
    EXPECT_FALSE(other.has_value()) << "n" << 1 - from << " got: " << other->payload;
  }
}

TEST_F(LabSocketTest, ProbeMulticastLeavesByItsOwnNicAndTheReplyComesBack) {
  // The host's 224.0.0.0/4 route points at n0: only IP_MULTICAST_IF (by
  // ifindex) sends n1's Probe out of n1.
  auto probe = OpenIn(lab_->HostNamespace(), "n1", /*listener=*/false);
  auto cam0 = OpenIn(lab_->CamNamespace(0), "c0", /*listener=*/true);
  auto cam1 = OpenIn(lab_->CamNamespace(1), "c1", /*listener=*/true);
  ASSERT_TRUE(probe.ok()) << probe.status();
  ASSERT_TRUE(cam0.ok()) << cam0.status();
  ASSERT_TRUE(cam1.ok()) << cam1.status();
  ASSERT_TRUE(SendTo(*probe, "probe", Group()));
  auto got = ReceiveOne(*cam1, 2000);
  ASSERT_TRUE(got.has_value()) << "the probe did not reach cam1";
  EXPECT_EQ(got->peer.ToString(), probe->local.ToString());
  EXPECT_EQ(got->info.arrival_ifindex, cam1->ifindex);
  EXPECT_FALSE(ReceiveOne(*cam0, 300).has_value()) << "n1's probe leaked onto n0";

  ASSERT_TRUE(SendTo(*cam1, "probe-match", got->peer));
  auto reply = ReceiveOne(*probe, 2000);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->payload, "probe-match");
  EXPECT_EQ(reply->info.arrival_ifindex, probe->ifindex);
}

// FF02::C on the link of `sock` (the zone says which link: RFC 4007).
SocketAddress GroupV6On(const BoundSocket& sock) {
  return SocketAddress(IpAddress::V6(IpAddress::Parse(kWsdIpv6Group)->v6(), sock.ifindex), kWsdPort);
}

// IpAddress without its zone, to compare an address seen from both ends of
// a link (each end zones it with its own interface index).
std::string Unzoned(const SocketAddress& address) { return IpAddress::V6(address.ip().v6()).ToString(); }

// The default lab is dual-stack: every NIC has a link-local (and a ULA)
// IPv6 address.
TEST_F(LabSocketTest, Ipv6ProbeMulticastReachesOnlyItsLinkAndTheZonedReplyComesBack) {
  auto probe = OpenIn(lab_->HostNamespace(), "n1", /*listener=*/false, Family::kIPv6);
  auto cam0 = OpenIn(lab_->CamNamespace(0), "c0", /*listener=*/true, Family::kIPv6);
  auto cam1 = OpenIn(lab_->CamNamespace(1), "c1", /*listener=*/true, Family::kIPv6);
  ASSERT_TRUE(probe.ok()) << probe.status();
  ASSERT_TRUE(cam0.ok()) << cam0.status();
  ASSERT_TRUE(cam1.ok()) << cam1.status();
  ASSERT_TRUE(probe->local.ip().IsLinkLocal()) << probe->local.ToString();
  EXPECT_EQ(probe->local.scope_id(), probe->ifindex);
  EXPECT_NE(probe->local.port(), 0);
  EXPECT_TRUE(probe->rcvbuf_forced);

  ASSERT_TRUE(SendTo(*probe, "probe6", GroupV6On(*probe)));
  auto got = ReceiveOne(*cam1, 2000);
  ASSERT_TRUE(got.has_value()) << "the IPv6 probe did not reach cam1";
  EXPECT_EQ(got->payload, "probe6");
  EXPECT_EQ(got->info.arrival_ifindex, cam1->ifindex);
  ASSERT_FALSE(got->info.destination.empty());
  EXPECT_EQ(got->info.destination.ip().ToString(), "ff02::c");
  // The source is the probe's link-local address, zoned by cam1's end.
  EXPECT_EQ(got->peer.family(), Family::kIPv6);
  EXPECT_EQ(Unzoned(got->peer), Unzoned(probe->local));
  EXPECT_EQ(got->peer.port(), probe->local.port());
  EXPECT_EQ(got->peer.scope_id(), cam1->ifindex);
  EXPECT_FALSE(ReceiveOne(*cam0, 300).has_value()) << "n1's IPv6 probe leaked onto n0";

  // The ProbeMatch goes back unicast to that zoned source.
  ASSERT_TRUE(SendTo(*cam1, "probe-match6", got->peer));
  auto reply = ReceiveOne(*probe, 2000);
  ASSERT_TRUE(reply.has_value()) << "the reply did not come back";
  EXPECT_EQ(reply->payload, "probe-match6");
  EXPECT_EQ(reply->info.arrival_ifindex, probe->ifindex);
  ASSERT_TRUE(reply->peer.ip().IsLinkLocal()) << reply->peer.ToString();
  EXPECT_EQ(reply->peer.scope_id(), probe->ifindex) << "a link-local source must carry its zone";
  EXPECT_EQ(reply->peer.port(), kWsdPort);
  EXPECT_EQ(Unzoned(reply->info.destination), Unzoned(probe->local));
  // Printed with the zone as a name usable on this host.
  std::string shown;
  ASSERT_TRUE(lab::RunInNetns(lab_->HostNamespace(), [&] { shown = DisplayString(reply->peer); }).ok());
  EXPECT_EQ(shown, absl::StrCat("[", Unzoned(reply->peer), "%n1]:3702"));
}

TEST_F(LabSocketTest, Ipv6ListenersGetOnlyTheirOwnInterfacesMulticast) {
  auto l0 = OpenIn(lab_->HostNamespace(), "n0", /*listener=*/true, Family::kIPv6);
  auto l1 = OpenIn(lab_->HostNamespace(), "n1", /*listener=*/true, Family::kIPv6);
  ASSERT_TRUE(l0.ok()) << l0.status();
  ASSERT_TRUE(l1.ok()) << l1.status();
  EXPECT_EQ(l0->local.ToString(), "[::]:3702");
  BoundSocket* listeners[2] = {&*l0, &*l1};
  for (int from = 0; from < 2; ++from) {
    auto camera = OpenIn(lab_->CamNamespace(from), lab_->CamNic(from), /*listener=*/false, Family::kIPv6);
    ASSERT_TRUE(camera.ok()) << camera.status();
    const std::string hello = "hello6 from cam" + std::to_string(from);
    ASSERT_TRUE(SendTo(*camera, hello, GroupV6On(*camera)));
    auto got = ReceiveOne(*listeners[from], 2000);
    ASSERT_TRUE(got.has_value()) << "IPv6 listener on n" << from << " got nothing";
    EXPECT_EQ(got->payload, hello);
    EXPECT_EQ(got->info.arrival_ifindex, listeners[from]->ifindex);
    EXPECT_EQ(got->info.destination.ip().ToString(), "ff02::c");
    EXPECT_EQ(Unzoned(got->peer), Unzoned(camera->local));
    EXPECT_EQ(got->peer.scope_id(), listeners[from]->ifindex);
    // SO_BINDTODEVICE: the other NIC's listener, also on [::]:3702 and
    // joined to the same group, hears nothing.
    auto other = ReceiveOne(*listeners[1 - from], 300);
    EXPECT_FALSE(other.has_value()) << "n" << 1 - from << " got: " << other->payload;
  }
}

// The IPv4 and IPv6 listeners of one interface share port 3702 and each
// gets only its own family.
TEST_F(LabSocketTest, Ipv4AndIpv6ListenersShareThePortPerFamily) {
  auto l4 = OpenIn(lab_->HostNamespace(), "n0", /*listener=*/true, Family::kIPv4);
  auto l6 = OpenIn(lab_->HostNamespace(), "n0", /*listener=*/true, Family::kIPv6);
  ASSERT_TRUE(l4.ok()) << l4.status();
  ASSERT_TRUE(l6.ok()) << l6.status();
  auto cam4 = OpenIn(lab_->CamNamespace(0), "c0", /*listener=*/false, Family::kIPv4);
  auto cam6 = OpenIn(lab_->CamNamespace(0), "c0", /*listener=*/false, Family::kIPv6);
  ASSERT_TRUE(cam4.ok()) << cam4.status();
  ASSERT_TRUE(cam6.ok()) << cam6.status();
  ASSERT_TRUE(SendTo(*cam6, "six", GroupV6On(*cam6)));
  auto got6 = ReceiveOne(*l6, 2000);
  ASSERT_TRUE(got6.has_value());
  EXPECT_EQ(got6->payload, "six");
  EXPECT_FALSE(ReceiveOne(*l4, 300).has_value()) << "IPv6 multicast reached the IPv4 listener";
  ASSERT_TRUE(SendTo(*cam4, "four", Group()));
  auto got4 = ReceiveOne(*l4, 2000);
  ASSERT_TRUE(got4.has_value());
  EXPECT_EQ(got4->payload, "four");
  EXPECT_FALSE(ReceiveOne(*l6, 300).has_value()) << "IPv4 multicast reached the IPv6 listener";
}

TEST(LoopbackSocketTest, ProbeAndListenerOnLoInAPrivateNamespace) {
  LAB_SKIP_UNLESS_ROOT("runs inside its own network namespaces");
  absl::StatusOr<BoundSocket> probe = absl::UnknownError("not run");
  absl::StatusOr<BoundSocket> listener = absl::UnknownError("not run");
  ASSERT_TRUE(lab::RunInPrivateNetns([&] {
                auto lo = ListInterfaces(Only("lo"));
                if (!lo.ok()) {
                  probe = lo.status();
                  listener = lo.status();
                  return;
                }
                probe = OpenProbeSocket(lo->front(), Family::kIPv4);
                listener = OpenListenerSocket(lo->front(), Family::kIPv4);
              }).ok());
  ASSERT_TRUE(probe.ok()) << probe.status();
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_EQ(probe->local.ip().ToString(), "127.0.0.1");
  ASSERT_TRUE(SendTo(*probe, "probe", Group()));
  auto got = ReceiveOne(*listener, 2000);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->payload, "probe");
  EXPECT_EQ(got->info.arrival_ifindex, 1u);
  EXPECT_EQ(got->peer.ToString(), probe->local.ToString());
}

TEST(LoopbackSocketTest, RealEaddrinuseNamesAddressAndInterface) {
  LAB_SKIP_UNLESS_ROOT("runs inside its own network namespaces");
  absl::StatusOr<BoundSocket> first = absl::UnknownError("not run");
  absl::StatusOr<BoundSocket> second = absl::UnknownError("not run");
  ASSERT_TRUE(lab::RunInPrivateNetns([&] {
                auto lo = ListInterfaces(Only("lo"));
                if (!lo.ok()) return;
                first = OpenProbeSocket(lo->front(), Family::kIPv4, WithPort(40001));
                second = OpenProbeSocket(lo->front(), Family::kIPv4, WithPort(40001));
              }).ok());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(), "bind 127.0.0.1:40001 on lo: Address already in use");
}

}  // namespace
}  // namespace onvif::net
