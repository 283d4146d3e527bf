// The engine's address vocabulary: Family, IpAddress, InterfaceAddress and
// SocketAddress (the compact value in every engine/io Datagram).
//
// This header (with receive_info.h) is the part of engine/net that engine/io
// may depend on (CMake target onvif_net_address: no sockets, no syscalls);
// engine/net never depends on engine/io.
//
// The family is a parameter everywhere (DESIGN.md): every type here holds
// IPv4 and IPv6, and an IPv6 link-local address carries its zone (the
// interface index, RFC 4007) from the kernel's sockaddr_in6 to the text.

#ifndef ONVIF_ENGINE_NET_ADDRESS_H_
#define ONVIF_ENGINE_NET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace onvif::net {

enum class Family { kIPv4, kIPv6 };

// "IPv4" / "IPv6".
const char* FamilyName(Family family);
// AF_INET / AF_INET6.
int FamilyToAf(Family family);

// WS-Discovery 2005/04 section 2.4 / SOAP-over-UDP: port 3702, groups
// 239.255.255.250 and FF02::C (link-local scope: needs an interface index).
inline constexpr std::uint16_t kWsdPort = 3702;
inline constexpr std::string_view kWsdIpv4Group = "239.255.255.250";
inline constexpr std::string_view kWsdIpv6Group = "ff02::c";

// An IPv4 or IPv6 address; scope_id is the interface index of an IPv6
// link-local address (0 otherwise).
class IpAddress {
 public:
  static IpAddress V4(in_addr address);
  static IpAddress V6(const in6_addr& address, std::uint32_t scope_id = 0);
  // Parses dotted-quad or RFC 4291 text (no "%scope" suffix).
  static std::optional<IpAddress> Parse(std::string_view text);

  Family family() const { return family_; }
  // Valid only for the matching family.
  const in_addr& v4() const { return v4_; }
  const in6_addr& v6() const { return v6_; }
  std::uint32_t scope_id() const { return scope_id_; }

  bool IsLinkLocal() const;  // 169.254/16 or fe80::/10
  bool IsLoopback() const;   // 127/8 or ::1
  // "10.77.0.1", "fd77::1", "fe80::1%3" (the zone as the interface index).
  std::string ToString() const;
  // The same with the zone written as `zone` (an interface name:
  // "fe80::1%n0", what people and URLs need) when the address has a scope id
  // and `zone` is not empty. net::DisplayString (interfaces.h) looks the
  // name up.
  std::string ToStringWithZone(std::string_view zone) const;

  friend bool operator==(const IpAddress& a, const IpAddress& b);

 private:
  Family family_ = Family::kIPv4;
  in_addr v4_{};
  in6_addr v6_{};
  std::uint32_t scope_id_ = 0;
};

// An address with its prefix length, as assigned to an interface.
struct InterfaceAddress {
  IpAddress address;
  int prefix_length = 0;
};

// An IPv4 or IPv6 address with port: the one socket-address type of the
// engine (engine/io's Datagram carries two of them, so it sits on the
// per-datagram path).
//
// Compact (24 bytes) and trivially copyable: family, port in host byte order,
// IPv6 scope id, 16 address bytes in network byte order (IPv4 uses the first
// 4, the rest stay zero, so == compares values). A Datagram can be copied or
// used as a key without dragging a 128-byte sockaddr_storage along; the
// kernel's sockaddr is built only where a syscall needs one (ToSockaddr).
//
// A default-constructed SocketAddress is empty (AF_UNSPEC): "no address",
// e.g. Datagram::destination when the socket has no PKTINFO. That is not the
// IP unspecified address: 0.0.0.0:3702 (a listener's local address) is a
// SocketAddress like any other.
//
// FromSockaddr, ToSockaddr, the accessors and == allocate nothing;
// ToString allocates (setup, errors and logging only).
class SocketAddress {
 public:
  SocketAddress() = default;
  SocketAddress(const IpAddress& ip, std::uint16_t port);
  // Parses a kernel-filled sockaddr_in / sockaddr_in6 of at least its size;
  // anything else (nullptr, short, other families) gives an empty address.
  // Reads with memcpy: msg_name buffers carry no alignment promise.
  static SocketAddress FromSockaddr(const sockaddr* address, socklen_t length);

  // Fills `out` (zeroing it first) and returns the length to pass to
  // bind / sendto / connect; 0 for an empty address.
  socklen_t ToSockaddr(sockaddr_storage& out) const;

  bool empty() const { return af_ == AF_UNSPEC; }
  // AF_INET, AF_INET6, or AF_UNSPEC when empty.
  int af() const { return af_; }
  // Meaningful only when !empty() (an empty address answers kIPv4).
  Family family() const { return af_ == AF_INET6 ? Family::kIPv6 : Family::kIPv4; }
  // The address with its scope id; 0.0.0.0 when empty.
  IpAddress ip() const;
  std::uint16_t port() const { return port_; }
  // Interface index of an IPv6 link-local address; 0 for IPv4.
  std::uint32_t scope_id() const { return scope_id_; }

  // "10.77.0.1:3702", "[fe80::1%3]:3702", "unspecified" when empty.
  std::string ToString() const;
  // "[fe80::1%n0]:3702": the zone written as `zone`, as IpAddress::ToStringWithZone.
  std::string ToStringWithZone(std::string_view zone) const;

  friend bool operator==(const SocketAddress&, const SocketAddress&) = default;

 private:
  sa_family_t af_ = AF_UNSPEC;
  std::uint16_t port_ = 0;
  std::uint32_t scope_id_ = 0;
  std::array<std::uint8_t, 16> bytes_{};
};
static_assert(sizeof(SocketAddress) == 24, "SocketAddress must stay compact: it is in every Datagram");
static_assert(std::is_trivially_copyable_v<SocketAddress>,
              "SocketAddress is copied per datagram and must stay a plain value");

// The WS-Discovery group of a link, port 3702: 239.255.255.250, or FF02::C
// with `ifindex` as its zone (link scope: the zone names the link).
SocketAddress WsdGroup(Family family, std::uint32_t ifindex);

}  // namespace onvif::net

#endif  // ONVIF_ENGINE_NET_ADDRESS_H_
