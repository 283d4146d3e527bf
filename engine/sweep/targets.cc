#include "engine/sweep/targets.h"

#include <arpa/inet.h>

#include <cstdio>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/strings.h"

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
  absl::flat_hash_set<std::uint32_t> seen;
  const auto add = [&](std::uint32_t host_order) -> absl::Status {
    if (!seen.insert(host_order).second) return absl::OkStatus();
    if (out.size() == kMaxTargets) {
      return absl::InvalidArgumentError(
          absl::StrCat("--target: more than ", kMaxTargets, " addresses; probe smaller ranges"));
    }
    out.push_back(net::IpAddress::V4(in_addr{htonl(host_order)}));
    return absl::OkStatus();
  };
  for (const std::string& spec : specs) {
    const std::size_t slash = spec.find('/');
    const std::string_view host = std::string_view(spec).substr(0, slash);
    const std::optional<net::IpAddress> ip = net::IpAddress::Parse(host);
    if (!ip.has_value() || ip->family() != net::Family::kIPv4) {
      return absl::InvalidArgumentError(
          absl::StrCat("--target '", spec, "': expected an IPv4 address or CIDR (e.g. 10.0.0.5, 10.0.0.0/24)"));
    }
    const std::uint32_t address = ntohl(ip->v4().s_addr);
    if (slash == std::string::npos) {
      if (auto s = add(address); !s.ok()) return s;
      continue;
    }
    int prefix = -1;
    if (!absl::SimpleAtoi(base::ToAbsl(std::string_view(spec).substr(slash + 1)), &prefix) || prefix < 0 ||
        prefix > 32) {
      return absl::InvalidArgumentError(absl::StrCat("--target '", spec, "': prefix length must be 0..32"));
    }
    const std::uint64_t size = std::uint64_t{1} << (32 - prefix);
    if (size > kMaxTargets + 2) {
      return absl::InvalidArgumentError(absl::StrCat("--target '", spec, "' has ", size,
                                                     " addresses, more than ", kMaxTargets, "; probe smaller ranges"));
    }
    const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
    const std::uint32_t network = address & mask;
    // Below /31 the first and last addresses are the network and broadcast.
    const std::uint64_t first = size > 2 ? 1 : 0;
    const std::uint64_t last = size > 2 ? size - 2 : size - 1;
    for (std::uint64_t i = first; i <= last; ++i) {
      if (auto s = add(network + static_cast<std::uint32_t>(i)); !s.ok()) return s;
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
