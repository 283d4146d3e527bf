// Which of a device's XAddrs a client should use ("best_xaddr").
//
// Devices list several transport addresses: http and https, a 169.254.x.x
// link-local address next to the routable one, IPv6 [fe80::...] hosts
// (PROTOCOL.md). In order of preference:
//   0. an IP host inside a subnet of an interface the device answered on
//      (the path the Probe and its reply just proved; IPv4 and IPv6
//      prefixes alike);
//   1. an IP host equal to a source address of the device's replies
//      (compared as addresses, so "fd77:0::2" is "fd77::2");
//   2. any other routable host: a global IP (ULA included), or a DNS name;
//   3. a link-local host (169.254/16, fe80::/10), used only when nothing
//      better exists. An IPv6 one is unusable without a zone, and a zone the
//      device wrote names one of ITS interfaces, not ours (RFC 6874 section
//      1), so it gets the zone of the first interface the device answered
//      on, percent-encoded as RFC 6874 says: "http://[fe80::1%25n0]/...";
//   4. loopback; 5. a URL whose host cannot be read.
// Ties in 0-2 prefer an IPv4 host to an IPv6 one (what clients handle most widely;
// and a dual-stack device's XAddrs, merged from both families' replies, are
// listed in whichever order they arrived), then keep the device's order.
// Pure: no sockets, no DNS.

#ifndef ONVIF_ENGINE_SWEEP_XADDR_RANK_H_
#define ONVIF_ENGINE_SWEEP_XADDR_RANK_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/net/address.h"

namespace onvif::sweep {

// An interface the device answered on: its name and addresses.
struct ArrivalInterface {
  std::string name;
  std::vector<net::InterfaceAddress> addresses;
};

// The host part of an absolute URL "scheme://[userinfo@]host[:port][/...]":
// `host` without brackets and without a zone; `zone` the decoded zone of a
// bracketed IPv6 literal ("%25n0" -> "n0"), empty when none; [begin, end)
// the bytes of the host as written (brackets excluded).
struct UrlHost {
  std::string_view host;
  std::string_view zone;
  std::size_t begin = 0;
  std::size_t end = 0;
  bool bracketed = false;
};
std::optional<UrlHost> ParseUrlHost(std::string_view url);

// The best of `xaddrs` by the order above, or nullopt when there are none.
// `source_addresses` as the sweep prints them: "10.77.0.2", "fd77::2",
// "fe80::2%n0" (a zone is ignored when comparing). Spans, so a caller
// ranking at one arrival copies nothing.
std::optional<std::string> BestXAddr(const std::vector<std::string>& xaddrs,
                                     std::span<const ArrivalInterface> arrived_on,
                                     std::span<const std::string> source_addresses);
// The same into `out`, reusing the storage of the string it holds (a storm
// ranks every new device's XAddrs).
void AssignBestXAddr(const std::vector<std::string>& xaddrs, std::span<const ArrivalInterface> arrived_on,
                     std::span<const std::string> source_addresses, std::optional<std::string>& out);

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_XADDR_RANK_H_
