#include "engine/net/interfaces.h"

#include <ifaddrs.h>
#include <net/if.h>  // before linux/if.h: libc-compat.h then adds only IFF_LOWER_UP & co.
#include <linux/if.h>
#include <linux/if_packet.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <map>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/errno_status.h"

namespace onvif::net {
namespace {

int PrefixLength(const sockaddr* netmask) {
  if (netmask == nullptr) return 0;
  int bits = 0;
  if (netmask->sa_family == AF_INET) {
    bits = std::popcount(reinterpret_cast<const sockaddr_in*>(netmask)->sin_addr.s_addr);
  } else if (netmask->sa_family == AF_INET6) {
    for (unsigned char byte : reinterpret_cast<const sockaddr_in6*>(netmask)->sin6_addr.s6_addr) {
      bits += std::popcount(byte);
    }
  }
  return bits;
}

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

std::vector<InterfaceAddress> Interface::AllAddresses() const {
  std::vector<InterfaceAddress> all = ipv4;
  all.insert(all.end(), ipv6.begin(), ipv6.end());
  return all;
}

std::optional<InterfaceAddress> Interface::PrimaryAddress(Family family) const {
  const auto& addresses = Addresses(family);
  if (addresses.empty()) return std::nullopt;
  if (family == Family::kIPv6) {
    for (const auto& a : addresses) {
      if (a.address.IsLinkLocal()) return a;
    }
  }
  return addresses.front();
}

bool Interface::IsLoopback() const { return (flags & IFF_LOOPBACK) != 0; }

std::vector<Family> Interface::MulticastFamilies(const std::vector<Family>& wanted) const {
  std::vector<Family> out;
  for (Family family : wanted) {
    if (Addresses(family).empty()) continue;
    if (family == Family::kIPv6 && (flags & IFF_MULTICAST) == 0) continue;
    if (std::find(out.begin(), out.end(), family) == out.end()) out.push_back(family);
  }
  return out;
}

absl::StatusOr<std::vector<Family>> ParseFamilies(std::string_view text) {
  if (text == "v4") return std::vector<Family>{Family::kIPv4};
  if (text == "v6") return std::vector<Family>{Family::kIPv6};
  if (text == "both") return std::vector<Family>{Family::kIPv4, Family::kIPv6};
  return absl::InvalidArgumentError(absl::StrCat("unknown family '", absl::string_view(text.data(), text.size()),
                                                 "' (expected v4, v6 or both)"));
}

std::string ZoneName(std::uint32_t scope_id) {
  if (scope_id == 0) return "";
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(scope_id, name) != nullptr) return name;
  return std::to_string(scope_id);
}

std::optional<std::uint32_t> ZoneIndex(std::string_view zone) {
  if (zone.empty()) return std::nullopt;
  std::uint32_t number = 0;
  if (absl::SimpleAtoi(absl::string_view(zone.data(), zone.size()), &number)) {
    return number == 0 ? std::nullopt : std::optional<std::uint32_t>(number);
  }
  const unsigned index = if_nametoindex(std::string(zone).c_str());
  return index == 0 ? std::nullopt : std::optional<std::uint32_t>(index);
}

std::string DisplayString(const IpAddress& ip) {
  if (ip.family() != Family::kIPv6 || ip.scope_id() == 0) return ip.ToString();
  return ip.ToStringWithZone(ZoneName(ip.scope_id()));
}

std::string DisplayString(const IpAddress& ip, std::uint32_t ifindex, std::string_view name) {
  if (ip.family() != Family::kIPv6 || ip.scope_id() == 0) return ip.ToString();
  return ip.scope_id() == ifindex ? ip.ToStringWithZone(name) : DisplayString(ip);
}

std::string DisplayString(const SocketAddress& address) {
  if (address.af() != AF_INET6 || address.scope_id() == 0) return address.ToString();
  return address.ToStringWithZone(ZoneName(address.scope_id()));
}

std::optional<std::string> IneligibleReason(const Interface& iface,
                                            const InterfaceFilter& filter, bool named) {
  if ((iface.flags & IFF_UP) == 0) return "down (not IFF_UP)";
  if ((iface.flags & (unsigned{IFF_LOWER_UP} | unsigned{IFF_RUNNING})) == 0) return "no carrier (not lower-up)";
  if (iface.IsLoopback()) {
    if (!named) return "loopback (used only when named with --iface)";
  } else if ((iface.flags & IFF_MULTICAST) == 0) {
    // lo lacks IFF_MULTICAST yet delivers IPv4 multicast (LAB.md), so the
    // check applies to real links only.
    return "not multicast-capable";
  }
  if ((iface.flags & IFF_POINTOPOINT) != 0) return "point-to-point";
  if (!iface.MulticastFamilies(filter.families).empty()) return std::nullopt;
  std::vector<const char*> missing;
  bool ipv6_without_multicast = false;
  for (Family family : filter.families) {
    // Only lo (no IFF_MULTICAST, exempt above) has IPv6 and still gets here.
    if (family == Family::kIPv6 && !iface.ipv6.empty()) {
      ipv6_without_multicast = true;
    } else {
      missing.push_back(FamilyName(family));
    }
  }
  std::string why;
  if (!missing.empty()) why = absl::StrCat("no ", absl::StrJoin(missing, " or "), " address");
  if (ipv6_without_multicast) {
    absl::StrAppend(&why, why.empty() ? "" : "; ", "no IPv6 multicast (FF02::C needs IFF_MULTICAST)");
  }
  return why;
}

absl::StatusOr<std::vector<Interface>> ReadInterfaces() {
  ifaddrs* raw = nullptr;
  if (getifaddrs(&raw) != 0) return base::LastErrnoError("getifaddrs", "");
  std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> list(raw, &freeifaddrs);

  std::map<std::string, Interface> by_name;
  for (const ifaddrs* ifa = raw; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_name == nullptr) continue;
    // IPv4 addresses with a label ("eth0:1") belong to the base device.
    std::string name(ifa->ifa_name);
    if (auto colon = name.find(':'); colon != std::string::npos) name.resize(colon);
    Interface& iface = by_name[name];
    iface.name = name;
    iface.flags = ifa->ifa_flags;
    if (ifa->ifa_addr == nullptr) continue;
    switch (ifa->ifa_addr->sa_family) {
      case AF_PACKET:
        iface.ifindex = reinterpret_cast<const sockaddr_ll*>(ifa->ifa_addr)->sll_ifindex;
        break;
      case AF_INET:
        iface.ipv4.push_back(
            {IpAddress::V4(reinterpret_cast<const sockaddr_in*>(ifa->ifa_addr)->sin_addr),
             PrefixLength(ifa->ifa_netmask)});
        break;
      case AF_INET6: {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ifa->ifa_addr);
        iface.ipv6.push_back(
            {IpAddress::V6(sin6->sin6_addr, sin6->sin6_scope_id), PrefixLength(ifa->ifa_netmask)});
        break;
      }
      default:
        break;
    }
  }

  std::vector<Interface> out;
  out.reserve(by_name.size());
  for (auto& [name, iface] : by_name) {
    if (iface.ifindex == 0) iface.ifindex = if_nametoindex(name.c_str());
    if (iface.ifindex == 0) continue;  // vanished meanwhile
    out.push_back(std::move(iface));
  }
  std::sort(out.begin(), out.end(),
            [](const Interface& a, const Interface& b) { return a.ifindex < b.ifindex; });
  return out;
}

absl::StatusOr<std::vector<Interface>> SelectInterfaces(std::vector<Interface> all,
                                                        const InterfaceFilter& filter) {
  for (const auto& name : filter.include) {
    if (Contains(filter.exclude, name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("interface ", name, " is both included (--iface) and excluded (--exclude)"));
    }
  }

  std::vector<Interface> out;
  if (!filter.include.empty()) {
    std::vector<std::string> missing;
    std::vector<std::string> unusable;
    std::vector<std::string> seen;
    for (const auto& name : filter.include) {
      if (Contains(seen, name)) continue;
      seen.push_back(name);
      auto it = std::find_if(all.begin(), all.end(),
                             [&](const Interface& i) { return i.name == name; });
      if (it == all.end()) {
        missing.push_back(name);
      } else if (auto why = IneligibleReason(*it, filter, /*named=*/true)) {
        unusable.push_back(absl::StrCat(name, ": ", *why));
      } else {
        out.push_back(*it);
      }
    }
    if (!missing.empty()) {
      return absl::NotFoundError(
          absl::StrCat("no such interface: ", absl::StrJoin(missing, ", ")));
    }
    if (!unusable.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("interface not usable: ", absl::StrJoin(unusable, "; ")));
    }
    return out;
  }

  std::vector<std::string> skipped;
  for (auto& iface : all) {
    if (Contains(filter.exclude, iface.name)) {
      skipped.push_back(absl::StrCat(iface.name, ": excluded"));
    } else if (auto why = IneligibleReason(iface, filter, /*named=*/false)) {
      skipped.push_back(absl::StrCat(iface.name, ": ", *why));
    } else {
      out.push_back(std::move(iface));
    }
  }
  if (out.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no usable interface (need up, lower-up, multicast, not point-to-point, with an address)",
        skipped.empty() ? "" : "; skipped ", absl::StrJoin(skipped, "; ")));
  }
  return out;
}

absl::StatusOr<std::vector<Interface>> ListInterfaces(const InterfaceFilter& filter) {
  auto all = ReadInterfaces();
  if (!all.ok()) return all.status();
  return SelectInterfaces(*std::move(all), filter);
}

}  // namespace onvif::net
