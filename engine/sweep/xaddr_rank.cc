#include "engine/sweep/xaddr_rank.h"

#include <cstring>

namespace onvif::sweep {
namespace {

enum Rank { kArrivalSubnet = 0, kSourceAddress, kRoutable, kLinkLocal, kLoopback, kUnreadable };

bool InSubnet(const net::IpAddress& ip, const net::InterfaceAddress& net_address) {
  const net::IpAddress& base = net_address.address;
  if (ip.family() != base.family()) return false;
  const auto* a = ip.family() == net::Family::kIPv4 ? reinterpret_cast<const unsigned char*>(&ip.v4())
                                                    : reinterpret_cast<const unsigned char*>(&ip.v6());
  const auto* b = base.family() == net::Family::kIPv4 ? reinterpret_cast<const unsigned char*>(&base.v4())
                                                      : reinterpret_cast<const unsigned char*>(&base.v6());
  const int bits = net_address.prefix_length;
  const int bytes = ip.family() == net::Family::kIPv4 ? 4 : 16;
  if (bits <= 0 || bits > bytes * 8) return false;
  const int whole = bits / 8;
  if (std::memcmp(a, b, static_cast<std::size_t>(whole)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

// Whether `text` ("10.77.0.2", "fe80::2%n0") is the address `ip`, zones aside.
bool SameAddress(const net::IpAddress& ip, std::string_view text) {
  const std::optional<net::IpAddress> other = net::IpAddress::Parse(text.substr(0, text.find('%')));
  if (!other.has_value() || other->family() != ip.family()) return false;
  if (ip.family() == net::Family::kIPv4) return other->v4().s_addr == ip.v4().s_addr;
  return std::memcmp(&other->v6(), &ip.v6(), sizeof(in6_addr)) == 0;
}

// An RFC 6874 ZoneID: unreserved characters as they are, anything else
// percent-encoded (Linux allows more in interface names).
std::string EncodeZone(std::string_view zone) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : zone) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += {'%', kHex[byte >> 4], kHex[byte & 15]};
    }
  }
  return out;
}

}  // namespace

std::optional<UrlHost> ParseUrlHost(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos || scheme == 0) return std::nullopt;
  const std::size_t authority = scheme + 3;
  std::size_t authority_end = url.find_first_of("/?#", authority);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  std::size_t begin = authority;
  if (const std::size_t at = url.substr(authority, authority_end - authority).rfind('@');
      at != std::string_view::npos) {
    begin = authority + at + 1;
  }
  UrlHost out;
  if (begin < authority_end && url[begin] == '[') {
    const std::size_t close = url.find(']', begin);
    if (close == std::string_view::npos || close > authority_end) return std::nullopt;
    out.bracketed = true;
    out.begin = begin + 1;
    out.end = close;
    std::string_view inside = url.substr(out.begin, close - out.begin);
    if (const std::size_t percent = inside.find('%'); percent != std::string_view::npos) {
      std::string_view zone = inside.substr(percent + 1);
      if (zone.substr(0, 2) == "25") zone.remove_prefix(2);  // RFC 6874: "%25" introduces the zone
      out.zone = zone;
      inside = inside.substr(0, percent);
    }
    out.host = inside;
  } else {
    const std::size_t colon = url.find(':', begin);
    out.begin = begin;
    out.end = colon != std::string_view::npos && colon < authority_end ? colon : authority_end;
    out.host = url.substr(out.begin, out.end - out.begin);
  }
  if (out.host.empty()) return std::nullopt;
  return out;
}

namespace {

// The XAddr to use, as an index, and whether its host is an IPv6 link-local
// address whose zone must become the arrival interface's: [zone_begin,
// zone_end) is then replaced by "%25<interface>".
struct Choice {
  std::size_t index = 0;
  bool rezone = false;
  std::size_t zone_begin = 0;
  std::size_t zone_end = 0;
};

std::optional<Choice> Choose(const std::vector<std::string>& xaddrs, std::span<const ArrivalInterface> arrived_on,
                             std::span<const std::string> source_addresses) {
  if (xaddrs.empty()) return std::nullopt;
  int best_rank = kUnreadable + 1;
  bool best_is_v6 = true;
  Choice best;
  for (std::size_t i = 0; i < xaddrs.size(); ++i) {
    const std::string& xaddr = xaddrs[i];
    const std::optional<UrlHost> host = ParseUrlHost(xaddr);
    int rank = kUnreadable;
    bool is_v6 = false;
    Choice choice{.index = i};
    if (host.has_value()) {
      const std::optional<net::IpAddress> ip = net::IpAddress::Parse(host->host);
      is_v6 = ip.has_value() && ip->family() == net::Family::kIPv6;
      if (!ip.has_value()) {
        rank = kRoutable;  // a DNS name
      } else if (ip->IsLoopback()) {
        rank = kLoopback;
      } else if (ip->IsLinkLocal()) {
        rank = kLinkLocal;
        if (ip->family() == net::Family::kIPv6 && host->bracketed && !arrived_on.empty()) {
          // [begin, end) may hold the device's own "%25zone": replaced.
          choice.rezone = true;
          choice.zone_begin = host->begin + host->host.size();
          choice.zone_end = host->end;
        }
      } else {
        rank = kRoutable;
        for (const std::string& source : source_addresses) {
          if (SameAddress(*ip, source)) rank = kSourceAddress;
        }
        for (const ArrivalInterface& iface : arrived_on) {
          for (const net::InterfaceAddress& address : iface.addresses) {
            if (InSubnet(*ip, address)) rank = kArrivalSubnet;
          }
        }
      }
    }
    // The family breaks ties among usable addresses only: a 169.254 host is
    // no better than an fe80 one (an interface may have only IPv6).
    if (rank < best_rank || (rank == best_rank && rank <= kRoutable && best_is_v6 && !is_v6)) {
      best_rank = rank;
      best_is_v6 = is_v6;
      best = choice;
    }
  }
  return best;
}

void Render(const std::vector<std::string>& xaddrs, const Choice& choice,
            std::span<const ArrivalInterface> arrived_on, std::string& out) {
  const std::string& xaddr = xaddrs[choice.index];
  if (!choice.rezone) {
    out.assign(xaddr);
    return;
  }
  out.assign(xaddr, 0, choice.zone_begin);
  out.append("%25");
  out.append(EncodeZone(arrived_on.front().name));
  out.append(xaddr, choice.zone_end);
}

}  // namespace

std::optional<std::string> BestXAddr(const std::vector<std::string>& xaddrs,
                                     std::span<const ArrivalInterface> arrived_on,
                                     std::span<const std::string> source_addresses) {
  const std::optional<Choice> choice = Choose(xaddrs, arrived_on, source_addresses);
  if (!choice.has_value()) return std::nullopt;
  std::string out;
  Render(xaddrs, *choice, arrived_on, out);
  return out;
}

void AssignBestXAddr(const std::vector<std::string>& xaddrs, std::span<const ArrivalInterface> arrived_on,
                     std::span<const std::string> source_addresses, std::optional<std::string>& out) {
  const std::optional<Choice> choice = Choose(xaddrs, arrived_on, source_addresses);
  if (!choice.has_value()) {
    out.reset();
    return;
  }
  if (!out.has_value()) out.emplace();
  Render(xaddrs, *choice, arrived_on, *out);
}

}  // namespace onvif::sweep
