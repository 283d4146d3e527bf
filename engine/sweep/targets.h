// Directed (unicast) Probes: where they go and how replies are tied to them.
//
// --target HOST|CIDR (repeatable) names IPv4 addresses; a CIDR stands for its
// host addresses (network and broadcast excluded below /31). A sweep probes at
// most kMaxTargets addresses: a /8 by mistake is refused, not sent.
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
