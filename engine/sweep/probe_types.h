// What the sweep asks for: the Types of its Probe, written as on the command
// line, and the reply filter a prober may apply itself.
//
// QNames: the prefixes dn:, tds: and wsdp: (ONVIF network and device WSDL,
// DPWS devprof), or Clark notation "{namespace}Local" for anything else.
// "any" alone means no Types: every device matches (WS-Discovery 2005/04
// section 5.1). Items are separated by commas or whitespace.

#ifndef ONVIF_ENGINE_SWEEP_PROBE_TYPES_H_
#define ONVIF_ENGINE_SWEEP_PROBE_TYPES_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/scanner.h"

namespace onvif::sweep {

inline constexpr std::string_view kDefaultTypes = "dn:NetworkVideoTransmitter";

// InvalidArgument naming the item for an unknown prefix, an empty local name
// or namespace, or "any" mixed with other items.
absl::StatusOr<std::vector<wsd::QNameSpec>> ParseTypes(std::string_view text);

// "{namespace}Local", or "Local" for an empty namespace (an unbound prefix).
std::string ClarkName(std::string_view ns, std::string_view local);

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_PROBE_TYPES_H_
