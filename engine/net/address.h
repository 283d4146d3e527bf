// Address families and IP/socket address values for engine/net.
//
// The family is a parameter everywhere (DESIGN.md): IPv4 is implemented in
// this issue, IPv6 is designed in (types, constants) and implemented later.

#ifndef ONVIF_ENGINE_NET_ADDRESS_H_
#define ONVIF_ENGINE_NET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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
  std::string ToString() const;

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

// A socket address (sockaddr_in or sockaddr_in6) that can be passed to
// bind/sendto as is.
class SocketAddress {
 public:
  SocketAddress() = default;
  SocketAddress(const IpAddress& ip, std::uint16_t port);
  // Copies a kernel-filled sockaddr; nullopt for other families.
  static std::optional<SocketAddress> FromSockaddr(const sockaddr* sa, socklen_t len);

  Family family() const;
  IpAddress ip() const;
  std::uint16_t port() const;
  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  // "10.77.0.1:3702", "[fe80::1%3]:3702".
  std::string ToString() const;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

}  // namespace onvif::net

#endif  // ONVIF_ENGINE_NET_ADDRESS_H_
