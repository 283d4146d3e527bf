// Directed (unicast) Probes: where they go and how replies are tied to them.
//
// --target HOST|CIDR (repeatable) names IPv4 or IPv6 addresses; a CIDR
// stands for its host addresses (IPv4: network and broadcast excluded below
// /31; IPv6: the Subnet-Router anycast address, host part all zeros, excluded
// below /127, RFC 4291 section 2.6.1). A link-local IPv6 target needs its
// zone, as a name or an index ("fe80::5%eth0"), resolved on this host. A
// sweep probes at most kMaxTargets addresses: a /8 or a /64 by mistake is
// refused, not sent.
//
// Each (target, variant) Probe has its own MessageID, derived rather than
// stored: a per-sweep random prefix, then the variant and the target index in
// hex, in the RFC 4122 layout ("urn:uuid:PPPPPPPP-PPPP-4PPP-8VVV-TTTTTTTTTTTT").
// A reply's RelatesTo thus names its target and variant with no table, and a
// responder that dedups by MessageID never mistakes one target's Probe for
// another's.

#ifndef ONVIF_ENGINE_SWEEP_TARGETS_H_
#define ONVIF_ENGINE_SWEEP_TARGETS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/statusor.h"
#include "engine/net/address.h"

namespace onvif::sweep {

inline constexpr std::size_t kMaxTargets = 65536;

// InvalidArgument naming the bad item, or when they add up to more than
// kMaxTargets addresses. Duplicates are kept once, in first-seen order.
// Looks zones up in the calling thread's network namespace.
absl::StatusOr<std::vector<net::IpAddress>> ParseTargets(const std::vector<std::string>& specs);

// "urn:uuid:PPPPPPPP-PPPP-4PPP-" (28 characters), random.
std::string NewUnicastIdPrefix(absl::BitGenRef gen);

std::string UnicastMessageId(std::string_view prefix, unsigned variant, std::uint64_t target);

struct UnicastProbeRef {
  unsigned variant = 0;
  std::uint64_t target = 0;
};
// The (variant, target) of a MessageID made by UnicastMessageId with this
// prefix, or nullopt.
std::optional<UnicastProbeRef> ParseUnicastMessageId(std::string_view prefix, std::string_view id);

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_TARGETS_H_
