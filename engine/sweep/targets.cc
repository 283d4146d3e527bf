#include "engine/sweep/targets.h"

#include <arpa/inet.h>

#include <cstdio>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/strings.h"
#include "engine/net/interfaces.h"

namespace onvif::sweep {
namespace {

constexpr std::size_t kPrefixSize = 28;  // "urn:uuid:" + "8-4-4-" of the UUID
constexpr std::size_t kIdSize = 45;

bool Hex(std::string_view text, std::uint64_t* out) {
  std::uint64_t value = 0;
  for (const char c : text) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return false;
    }
    value = value * 16 + static_cast<std::uint64_t>(digit);
  }
  *out = value;
  return true;
}

}  // namespace

absl::StatusOr<std::vector<net::IpAddress>> ParseTargets(const std::vector<std::string>& specs) {
  std::vector<net::IpAddress> out;
  absl::flat_hash_set<std::string> seen;  // family, address bytes, scope
  const auto add = [&](const net::IpAddress& ip) -> absl::Status {
    std::string key(1, ip.family() == net::Family::kIPv4 ? '4' : '6');
    if (ip.family() == net::Family::kIPv4) {
      key.append(reinterpret_cast<const char*>(&ip.v4()), sizeof(in_addr));
    } else {
      key.append(reinterpret_cast<const char*>(&ip.v6()), sizeof(in6_addr));
      key.append(std::to_string(ip.scope_id()));
    }
    if (!seen.insert(std::move(key)).second) return absl::OkStatus();
    if (out.size() == kMaxTargets) {
      return absl::InvalidArgumentError(
          absl::StrCat("--target: more than ", kMaxTargets, " addresses; probe smaller ranges"));
    }
    out.push_back(ip);
    return absl::OkStatus();
  };
  for (const std::string& spec : specs) {
    const std::size_t slash = spec.find('/');
    std::string_view host = std::string_view(spec).substr(0, slash);
    std::string_view zone;
    if (const std::size_t percent = host.find('%'); percent != std::string_view::npos) {
      zone = host.substr(percent + 1);
      host = host.substr(0, percent);
    }
    const std::optional<net::IpAddress> parsed = net::IpAddress::Parse(host);
    if (!parsed.has_value() || (parsed->family() == net::Family::kIPv4 && !zone.empty())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--target '", spec,
          "': expected an IPv4 address or CIDR (e.g. 10.0.0.5, 10.0.0.0/24) or an IPv6 one (fd00::5, "
          "fd00::/120, fe80::5%eth0)"));
    }
    const int max_prefix = parsed->family() == net::Family::kIPv4 ? 32 : 128;
    int prefix = max_prefix;
    if (slash != std::string::npos &&
        (!absl::SimpleAtoi(base::ToAbsl(std::string_view(spec).substr(slash + 1)), &prefix) || prefix < 0 ||
         prefix > max_prefix)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--target '", spec, "': prefix length must be 0..", max_prefix));
    }
    const int host_bits = max_prefix - prefix;
    static_assert(kMaxTargets == 65536, "a range is at most 16 host bits");
    if (host_bits > 16) {
      const std::string count =
          host_bits < 63 ? absl::StrCat(std::uint64_t{1} << host_bits) : absl::StrCat("2^", host_bits);
      return absl::InvalidArgumentError(absl::StrCat("--target '", spec, "' has ", count, " addresses, more than ",
                                                     kMaxTargets, "; probe smaller ranges"));
    }
    const std::uint64_t size = std::uint64_t{1} << host_bits;

    if (parsed->family() == net::Family::kIPv4) {
      const std::uint32_t address = ntohl(parsed->v4().s_addr);
      const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
      const std::uint32_t network = slash == std::string::npos ? address : address & mask;
      // Below /31 the first and last addresses are the network and broadcast.
      const std::uint64_t first = size > 2 ? 1 : 0;
      const std::uint64_t last = size > 2 ? size - 2 : size - 1;
      for (std::uint64_t i = first; i <= last; ++i) {
        if (auto s = add(net::IpAddress::V4(in_addr{htonl(network + static_cast<std::uint32_t>(i))})); !s.ok()) {
          return s;
        }
      }
      continue;
    }

    std::uint32_t scope_id = 0;
    if (parsed->IsLinkLocal()) {
      if (zone.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--target '", spec, "': a link-local address needs the interface as its zone, e.g. ",
            parsed->ToString(), "%eth0"));
      }
      const std::optional<std::uint32_t> index = net::ZoneIndex(zone);
      if (!index.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--target '", spec, "': no interface '", base::ToAbsl(zone), "' on this host"));
      }
      scope_id = *index;
    } else if (!zone.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--target '", spec, "': only link-local (fe80::/10) addresses take a zone"));
    }
    // The host part is at most 16 bits (checked above): the last two bytes.
    in6_addr network = parsed->v6();
    for (int bit = prefix; bit < 128; ++bit) network.s6_addr[bit / 8] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
    const std::uint64_t first = size > 2 ? 1 : 0;
    for (std::uint64_t i = first; i < size; ++i) {
      in6_addr ip = network;
      const unsigned base = (ip.s6_addr[14] << 8) | ip.s6_addr[15];
      const unsigned value = base + static_cast<unsigned>(i);
      ip.s6_addr[14] = static_cast<std::uint8_t>(value >> 8);
      ip.s6_addr[15] = static_cast<std::uint8_t>(value & 0xFF);
      if (auto s = add(net::IpAddress::V6(ip, scope_id)); !s.ok()) return s;
    }
  }
  return out;
}

std::string NewUnicastIdPrefix(absl::BitGenRef gen) {
  const std::uint64_t a = absl::Uniform<std::uint64_t>(gen);
  return absl::StrFormat("urn:uuid:%08x-%04x-4%03x-", static_cast<std::uint32_t>(a >> 32),
                         static_cast<std::uint32_t>((a >> 16) & 0xFFFF), static_cast<std::uint32_t>(a & 0xFFF));
}

std::string UnicastMessageId(std::string_view prefix, unsigned variant, std::uint64_t target) {
  return absl::StrFormat("%s8%03x-%012x", base::ToAbsl(prefix), variant & 0xFFF, target & 0xFFFFFFFFFFFF);
}

std::optional<UnicastProbeRef> ParseUnicastMessageId(std::string_view prefix, std::string_view id) {
  if (prefix.size() != kPrefixSize || id.size() != kIdSize || id.substr(0, kPrefixSize) != prefix ||
      id[kPrefixSize] != '8' || id[kPrefixSize + 4] != '-') {
    return std::nullopt;
  }
  std::uint64_t variant = 0;
  std::uint64_t target = 0;
  if (!Hex(id.substr(kPrefixSize + 1, 3), &variant) || !Hex(id.substr(kPrefixSize + 5), &target)) {
    return std::nullopt;
  }
  return UnicastProbeRef{static_cast<unsigned>(variant), target};
}

}  // namespace onvif::sweep
