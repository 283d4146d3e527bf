// The engine's address vocabulary: SocketAddress (the compact value in every
// Datagram) against the kernel's sockaddr forms, and its text.

#include "engine/net/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "gtest/gtest.h"

namespace onvif::net {
namespace {

IpAddress Ip(const char* text, std::uint32_t scope_id = 0) {
  const std::optional<IpAddress> ip = IpAddress::Parse(text);
  EXPECT_TRUE(ip.has_value()) << text;
  if (!ip) return IpAddress();
  return ip->family() == Family::kIPv6 ? IpAddress::V6(ip->v6(), scope_id) : *ip;
}

TEST(SocketAddressTest, RoundTripsThroughSockaddr) {
  for (const SocketAddress& address :
       {SocketAddress(Ip("192.0.2.7"), 3702), SocketAddress(Ip("fe80::1", 4), 3702),
        SocketAddress(Ip("0.0.0.0"), 3702), SocketAddress(Ip("2001:db8::5"), 1)}) {
    sockaddr_storage storage;
    const socklen_t length = address.ToSockaddr(storage);
    ASSERT_EQ(length, address.family() == Family::kIPv4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    EXPECT_EQ(SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage), length), address)
        << address.ToString();
  }
  EXPECT_EQ(SocketAddress(Ip("192.0.2.7"), 3702).ToString(), "192.0.2.7:3702");
  EXPECT_EQ(SocketAddress(Ip("fe80::1", 2), 3702).ToString(), "[fe80::1%2]:3702");
  EXPECT_EQ(SocketAddress(Ip("0.0.0.0"), 3702).ToString(), "0.0.0.0:3702");
  EXPECT_EQ(SocketAddress().ToString(), "unspecified");
  sockaddr_storage storage;
  EXPECT_EQ(SocketAddress().ToSockaddr(storage), 0u);
  EXPECT_TRUE(SocketAddress::FromSockaddr(nullptr, 0).empty());
  EXPECT_EQ(SocketAddress::FromSockaddr(nullptr, 0).af(), AF_UNSPEC);
}

TEST(AddressTextTest, ZoneAsANameWhereOneIsGiven) {
  EXPECT_EQ(Ip("fe80::1", 3).ToString(), "fe80::1%3");
  EXPECT_EQ(Ip("fe80::1", 3).ToStringWithZone("n0"), "fe80::1%n0");
  EXPECT_EQ(Ip("fe80::1", 3).ToStringWithZone(""), "fe80::1%3");
  // No scope, no zone: a global address stays as it is.
  EXPECT_EQ(Ip("fd77:1::2").ToStringWithZone("n0"), "fd77:1::2");
  EXPECT_EQ(Ip("10.77.0.1").ToStringWithZone("n0"), "10.77.0.1");
  EXPECT_EQ(SocketAddress(Ip("fe80::1", 3), 3702).ToStringWithZone("n1"), "[fe80::1%n1]:3702");
  EXPECT_EQ(SocketAddress(Ip("fd77::2"), 3702).ToStringWithZone("n1"), "[fd77::2]:3702");
  EXPECT_EQ(SocketAddress(Ip("10.77.0.2"), 3702).ToStringWithZone("n1"), "10.77.0.2:3702");
  EXPECT_EQ(SocketAddress().ToStringWithZone("n1"), "unspecified");
}

TEST(SocketAddressTest, ToSockaddrIsWhatTheKernelExpects) {
  sockaddr_storage storage;
  ASSERT_EQ(SocketAddress(Ip("10.77.3.1"), 3702).ToSockaddr(storage), sizeof(sockaddr_in));
  sockaddr_in v4;
  std::memcpy(&v4, &storage, sizeof(v4));
  EXPECT_EQ(v4.sin_family, AF_INET);
  EXPECT_EQ(ntohs(v4.sin_port), 3702);
  EXPECT_EQ(ntohl(v4.sin_addr.s_addr), 0x0a4d0301u);

  ASSERT_EQ(SocketAddress(Ip("fe80::c", 7), 40000).ToSockaddr(storage), sizeof(sockaddr_in6));
  sockaddr_in6 v6;
  std::memcpy(&v6, &storage, sizeof(v6));
  EXPECT_EQ(v6.sin6_family, AF_INET6);
  EXPECT_EQ(ntohs(v6.sin6_port), 40000);
  EXPECT_EQ(v6.sin6_scope_id, 7u);
  EXPECT_EQ(v6.sin6_addr.s6_addr[0], 0xfe);
  EXPECT_EQ(v6.sin6_addr.s6_addr[15], 0x0c);
}

TEST(SocketAddressTest, AccessorsAndEquality) {
  const SocketAddress v4(Ip("10.77.0.2"), 3702);
  EXPECT_FALSE(v4.empty());
  EXPECT_EQ(v4.af(), AF_INET);
  EXPECT_EQ(v4.family(), Family::kIPv4);
  EXPECT_EQ(v4.ip(), Ip("10.77.0.2"));
  EXPECT_EQ(v4.port(), 3702);
  EXPECT_EQ(v4.scope_id(), 0u);

  const SocketAddress v6(Ip("fe80::1", 3), 5);
  EXPECT_EQ(v6.af(), AF_INET6);
  EXPECT_EQ(v6.family(), Family::kIPv6);
  EXPECT_EQ(v6.ip(), Ip("fe80::1", 3));
  EXPECT_EQ(v6.ip().scope_id(), 3u);
  EXPECT_EQ(v6.port(), 5);

  EXPECT_EQ(v4, SocketAddress(Ip("10.77.0.2"), 3702));
  EXPECT_NE(v4, SocketAddress(Ip("10.77.0.2"), 3703));
  EXPECT_NE(v4, SocketAddress(Ip("10.77.0.3"), 3702));
  EXPECT_NE(v6, SocketAddress(Ip("fe80::1", 4), 5));  // the scope is part of the value
  EXPECT_NE(SocketAddress(Ip("0.0.0.0"), 0), SocketAddress());  // 0.0.0.0 is not "no address"
  EXPECT_TRUE(SocketAddress().empty());
  EXPECT_EQ(SocketAddress().port(), 0);
}

TEST(SocketAddressTest, FromSockaddrRejectsShortAndForeignAddresses) {
  sockaddr_storage storage;
  const socklen_t v4_length = SocketAddress(Ip("192.0.2.1"), 9).ToSockaddr(storage);
  const auto* sa = reinterpret_cast<const sockaddr*>(&storage);
  EXPECT_TRUE(SocketAddress::FromSockaddr(sa, v4_length - 1).empty());
  EXPECT_TRUE(SocketAddress::FromSockaddr(sa, 1).empty());
  EXPECT_FALSE(SocketAddress::FromSockaddr(sa, sizeof(storage)).empty());  // longer is fine

  const socklen_t v6_length = SocketAddress(Ip("::1"), 9).ToSockaddr(storage);
  EXPECT_TRUE(SocketAddress::FromSockaddr(sa, v6_length - 1).empty());

  sockaddr_storage unix_address{};
  unix_address.ss_family = AF_UNIX;
  EXPECT_TRUE(
      SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&unix_address), sizeof(unix_address))
          .empty());

  // msg_name buffers promise no alignment: parse from an odd address.
  alignas(8) unsigned char unaligned[sizeof(sockaddr_in6) + 1];
  SocketAddress(Ip("2001:db8::9"), 3702).ToSockaddr(storage);
  std::memcpy(unaligned + 1, &storage, sizeof(sockaddr_in6));
  EXPECT_EQ(SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(unaligned + 1), sizeof(sockaddr_in6)),
            SocketAddress(Ip("2001:db8::9"), 3702));
}

TEST(WsdGroupTest, Ipv4GroupAndZonedIpv6Group) {
  EXPECT_EQ(WsdGroup(Family::kIPv4, 7).ToString(), "239.255.255.250:3702");
  const SocketAddress v6 = WsdGroup(Family::kIPv6, 7);
  EXPECT_EQ(v6.af(), AF_INET6);
  EXPECT_EQ(v6.scope_id(), 7u) << "FF02::C is link-scope: the zone names the link";
  EXPECT_EQ(v6.port(), kWsdPort);
  EXPECT_EQ(v6.ip(), IpAddress::V6(IpAddress::Parse("ff02::c")->v6(), 7));
}

}  // namespace
}  // namespace onvif::net
