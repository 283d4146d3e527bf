#include "engine/net/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace onvif::net {

const char* FamilyName(Family family) {
  return family == Family::kIPv4 ? "IPv4" : "IPv6";
}

int FamilyToAf(Family family) { return family == Family::kIPv4 ? AF_INET : AF_INET6; }

IpAddress IpAddress::V4(in_addr address) {
  IpAddress ip;
  ip.family_ = Family::kIPv4;
  ip.v4_ = address;
  return ip;
}

IpAddress IpAddress::V6(const in6_addr& address, std::uint32_t scope_id) {
  IpAddress ip;
  ip.family_ = Family::kIPv6;
  ip.v6_ = address;
  ip.scope_id_ = scope_id;
  return ip;
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  const std::string s(text);
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) return V4(v4);
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) return V6(v6);
  return std::nullopt;
}

bool IpAddress::IsLinkLocal() const {
  if (family_ == Family::kIPv4) return (ntohl(v4_.s_addr) >> 16) == 0xa9fe;
  return IN6_IS_ADDR_LINKLOCAL(&v6_);
}

bool IpAddress::IsLoopback() const {
  if (family_ == Family::kIPv4) return (ntohl(v4_.s_addr) >> 24) == 127;
  return IN6_IS_ADDR_LOOPBACK(&v6_);
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family_ == Family::kIPv4) {
    inet_ntop(AF_INET, &v4_, buf, sizeof(buf));
    return buf;
  }
  inet_ntop(AF_INET6, &v6_, buf, sizeof(buf));
  if (scope_id_ != 0) return absl::StrCat(buf, "%", scope_id_);
  return buf;
}

std::string IpAddress::ToStringWithZone(std::string_view zone) const {
  if (family_ == Family::kIPv4 || scope_id_ == 0 || zone.empty()) return ToString();
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, &v6_, buf, sizeof(buf));
  return absl::StrCat(buf, "%", absl::string_view(zone.data(), zone.size()));
}

bool operator==(const IpAddress& a, const IpAddress& b) {
  if (a.family_ != b.family_) return false;
  if (a.family_ == Family::kIPv4) return a.v4_.s_addr == b.v4_.s_addr;
  return std::memcmp(&a.v6_, &b.v6_, sizeof(in6_addr)) == 0 && a.scope_id_ == b.scope_id_;
}

SocketAddress::SocketAddress(const IpAddress& ip, std::uint16_t port) : port_(port) {
  if (ip.family() == Family::kIPv4) {
    af_ = AF_INET;
    std::memcpy(bytes_.data(), &ip.v4(), sizeof(in_addr));
  } else {
    af_ = AF_INET6;
    scope_id_ = ip.scope_id();
    std::memcpy(bytes_.data(), &ip.v6(), sizeof(in6_addr));
  }
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr* address, socklen_t length) {
  SocketAddress result;
  if (address == nullptr || length < static_cast<socklen_t>(sizeof(sa_family_t))) return result;
  sa_family_t af;
  std::memcpy(&af, address, sizeof(af));
  if (af == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in v4;
    std::memcpy(&v4, address, sizeof(v4));
    result.af_ = AF_INET;
    result.port_ = ntohs(v4.sin_port);
    std::memcpy(result.bytes_.data(), &v4.sin_addr, sizeof(v4.sin_addr));
  } else if (af == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 v6;
    std::memcpy(&v6, address, sizeof(v6));
    result.af_ = AF_INET6;
    result.port_ = ntohs(v6.sin6_port);
    result.scope_id_ = v6.sin6_scope_id;
    std::memcpy(result.bytes_.data(), &v6.sin6_addr, sizeof(v6.sin6_addr));
  }
  return result;
}

socklen_t SocketAddress::ToSockaddr(sockaddr_storage& out) const {
  std::memset(&out, 0, sizeof(out));
  if (af_ == AF_INET) {
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port_);
    std::memcpy(&v4.sin_addr, bytes_.data(), sizeof(v4.sin_addr));
    std::memcpy(&out, &v4, sizeof(v4));
    return sizeof(v4);
  }
  if (af_ == AF_INET6) {
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port_);
    v6.sin6_scope_id = scope_id_;
    std::memcpy(&v6.sin6_addr, bytes_.data(), sizeof(v6.sin6_addr));
    std::memcpy(&out, &v6, sizeof(v6));
    return sizeof(v6);
  }
  return 0;
}

IpAddress SocketAddress::ip() const {
  if (af_ == AF_INET6) {
    in6_addr v6;
    std::memcpy(&v6, bytes_.data(), sizeof(v6));
    return IpAddress::V6(v6, scope_id_);
  }
  in_addr v4;
  std::memcpy(&v4, bytes_.data(), sizeof(v4));
  return IpAddress::V4(v4);
}

std::string SocketAddress::ToString() const {
  if (empty()) return "unspecified";
  if (af_ == AF_INET) return absl::StrCat(ip().ToString(), ":", port_);
  return absl::StrCat("[", ip().ToString(), "]:", port_);
}

std::string SocketAddress::ToStringWithZone(std::string_view zone) const {
  if (af_ != AF_INET6) return ToString();
  return absl::StrCat("[", ip().ToStringWithZone(zone), "]:", port_);
}

SocketAddress WsdGroup(Family family, std::uint32_t ifindex) {
  if (family == Family::kIPv4) return SocketAddress(*IpAddress::Parse(kWsdIpv4Group), kWsdPort);
  return SocketAddress(IpAddress::V6(IpAddress::Parse(kWsdIpv6Group)->v6(), ifindex), kWsdPort);
}

}  // namespace onvif::net
