// Which network interfaces a sweep uses.
//
// ReadInterfaces() snapshots getifaddrs(3) for the calling thread's network
// namespace; SelectInterfaces() is the pure filter (unit-tested on synthetic
// lists); ListInterfaces() is both.
//
// Eligible, as systemd-resolved's link_relevant() and Avahi decide for mDNS:
// IFF_UP, lower-up (IFF_LOWER_UP or IFF_RUNNING: carrier present),
// IFF_MULTICAST, not IFF_POINTOPOINT, and a requested family it can
// multicast in (MulticastFamilies). Loopback is used only when named
// explicitly (`--iface lo`): it is where tests and demos run, never what a
// sweep of a host means.
//
// Naming: with no include list every eligible interface is used and the
// others are skipped silently; an interface named in `include` must exist and
// be eligible, or the whole selection fails with a message naming it and
// why. `exclude` removes names (unknown names are ignored: excluding what is
// not there is already true).

#ifndef ONVIF_ENGINE_NET_INTERFACES_H_
#define ONVIF_ENGINE_NET_INTERFACES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/net/address.h"

namespace onvif::net {

struct Interface {
  std::string name;
  unsigned ifindex = 0;
  // IFF_* as getifaddrs reports them (netlink ifi_flags, so IFF_LOWER_UP is
  // included, unlike the 16-bit SIOCGIFFLAGS).
  unsigned flags = 0;
  std::vector<InterfaceAddress> ipv4;  // in kernel order: primary first
  std::vector<InterfaceAddress> ipv6;  // link-local and global; scope_id set for link-local

  const std::vector<InterfaceAddress>& Addresses(Family family) const {
    return family == Family::kIPv4 ? ipv4 : ipv6;
  }
  // IPv4 then IPv6.
  std::vector<InterfaceAddress> AllAddresses() const;
  // The address a probe socket binds to: IPv4 the primary address; IPv6 the
  // link-local one (FF02::C replies come back to it), else the first.
  std::optional<InterfaceAddress> PrimaryAddress(Family family) const;
  bool IsLoopback() const;
  // The families of `wanted` (in that order) this interface has an address
  // of and can send WS-Discovery multicast in: IPv4 on any link (lo too,
  // though it lacks IFF_MULTICAST: LAB.md); IPv6 only with IFF_MULTICAST,
  // since FF02::C does not work on lo (LAB.md).
  std::vector<Family> MulticastFamilies(const std::vector<Family>& wanted) const;
};

// --family: "v4" -> {kIPv4}, "v6" -> {kIPv6}, "both" -> {kIPv4, kIPv6};
// InvalidArgument otherwise.
absl::StatusOr<std::vector<Family>> ParseFamilies(std::string_view text);

// A zone usable on this host for scope id `scope_id`: the name of that
// interface in the calling thread's network namespace (if_indextoname,
// "n0"), or the index as text when no interface has it (any more). "" for 0.
// A syscall: setup, output and error paths only, never per datagram.
std::string ZoneName(std::uint32_t scope_id);
// The scope id a zone names: a number as it is, else the index of the
// interface of that name (if_nametoindex); nullopt when there is none.
// A syscall, like ZoneName.
std::optional<std::uint32_t> ZoneIndex(std::string_view zone);
// `ip` as people and URLs need it: "fe80::1%n0" for a link-local address
// with a zone (ZoneName), IpAddress::ToString otherwise.
std::string DisplayString(const IpAddress& ip);
std::string DisplayString(const SocketAddress& address);
// DisplayString of a source address heard on interface (ifindex, name):
// its zone is named without a syscall when it is that interface, the usual
// case for a link-local source.
std::string DisplayString(const IpAddress& ip, std::uint32_t ifindex, std::string_view name);

struct InterfaceFilter {
  std::vector<std::string> include;  // --iface NAME (repeatable); empty = all eligible
  std::vector<std::string> exclude;  // --exclude NAME (repeatable)
  // An interface needs at least one of these families (MulticastFamilies).
  std::vector<Family> families = {Family::kIPv4};
};

// Why `iface` cannot be used under `filter` ("down", "no carrier (not
// lower-up)", "loopback", ...); nullopt when eligible. `named` = listed in
// filter.include, which admits loopback.
std::optional<std::string> IneligibleReason(const Interface& iface,
                                            const InterfaceFilter& filter, bool named);

// Every interface of the calling thread's network namespace, by ifindex.
absl::StatusOr<std::vector<Interface>> ReadInterfaces();

// Applies `filter` to `all`. Errors: INVALID_ARGUMENT when a name is both
// included and excluded; NOT_FOUND / FAILED_PRECONDITION naming each included
// interface that is missing or not eligible (and why); FAILED_PRECONDITION
// when nothing is left, listing why each interface was skipped. The result is
// in include order when names are given, else by ifindex.
absl::StatusOr<std::vector<Interface>> SelectInterfaces(std::vector<Interface> all,
                                                        const InterfaceFilter& filter);

// SelectInterfaces(ReadInterfaces(), filter).
absl::StatusOr<std::vector<Interface>> ListInterfaces(const InterfaceFilter& filter);

}  // namespace onvif::net

#endif  // ONVIF_ENGINE_NET_INTERFACES_H_
