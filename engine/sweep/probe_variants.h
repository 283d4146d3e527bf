// The Probes a sweep sends on every interface, all on one schedule.
//
// Deployed cameras answer only some Probe formats: many answer a Probe for
// dn:NetworkVideoTransmitter (ONVIF Core, "Device discovery") and ignore
// tds:Device, others the reverse (PROTOCOL.md). So by default the sweep sends
// one Probe of each and records per device which variants it answered. A
// variant is one Probe with its own MessageID per interface; its Types are
// every QName it lists (a device must have all of them), none for "any".

#ifndef ONVIF_ENGINE_SWEEP_PROBE_VARIANTS_H_
#define ONVIF_ENGINE_SWEEP_PROBE_VARIANTS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/wsd/builder.h"

namespace onvif::sweep {

// Variants per sweep: a device's answered set is a bit mask of this width.
inline constexpr std::size_t kMaxProbeVariants = 8;

struct ProbeVariant {
  // How the variant is reported ("answered"): its items as written, joined
  // by ',' ("dn:NetworkVideoTransmitter", "tds:Device", "any", ...).
  std::string name;
  std::vector<wsd::QNameSpec> types;  // empty: no Types, every device answers
};

// dn:NetworkVideoTransmitter and tds:Device, in that order.
std::vector<ProbeVariant> DefaultProbeVariants();

// One variant from one --types value: QNames as wsd::ParseTypeNames reads
// them (dn:, tds:, wsdp:, {namespace}Local; commas or spaces), or "any".
// InvalidArgument naming the bad item.
absl::StatusOr<ProbeVariant> ParseProbeVariant(std::string_view text);

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_PROBE_VARIANTS_H_
