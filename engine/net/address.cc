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

bool operator==(const IpAddress& a, const IpAddress& b) {
  if (a.family_ != b.family_) return false;
  if (a.family_ == Family::kIPv4) return a.v4_.s_addr == b.v4_.s_addr;
  return std::memcmp(&a.v6_, &b.v6_, sizeof(in6_addr)) == 0 && a.scope_id_ == b.scope_id_;
}

SocketAddress::SocketAddress(const IpAddress& ip, std::uint16_t port) {
  if (ip.family() == Family::kIPv4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage_);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr = ip.v4();
    length_ = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage_);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_addr = ip.v6();
    sin6->sin6_scope_id = ip.scope_id();
    length_ = sizeof(sockaddr_in6);
  }
}

std::optional<SocketAddress> SocketAddress::FromSockaddr(const sockaddr* sa, socklen_t len) {
  if (sa == nullptr) return std::nullopt;
  SocketAddress out;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&out.storage_, sa, sizeof(sockaddr_in));
    out.length_ = sizeof(sockaddr_in);
    return out;
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&out.storage_, sa, sizeof(sockaddr_in6));
    out.length_ = sizeof(sockaddr_in6);
    return out;
  }
  return std::nullopt;
}

Family SocketAddress::family() const {
  return storage_.ss_family == AF_INET6 ? Family::kIPv6 : Family::kIPv4;
}

IpAddress SocketAddress::ip() const {
  if (family() == Family::kIPv4) {
    return IpAddress::V4(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr);
  }
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
  return IpAddress::V6(sin6->sin6_addr, sin6->sin6_scope_id);
}

std::uint16_t SocketAddress::port() const {
  if (family() == Family::kIPv4) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
}

std::string SocketAddress::ToString() const {
  if (family() == Family::kIPv4) return absl::StrCat(ip().ToString(), ":", port());
  return absl::StrCat("[", ip().ToString(), "]:", port());
}

}  // namespace onvif::net
