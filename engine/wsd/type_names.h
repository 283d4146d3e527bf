// Device types written as people write them on a command line (the sweep's
// and the swarm's --types), and the Clark notation the tools print.
//
// QNames: the prefixes dn:, tds: and wsdp: (ONVIF network and device WSDL,
// DPWS devprof), or Clark notation "{namespace}Local" for anything else.
// "any" alone means no Types: every device matches (WS-Discovery 2005/04
// section 5.1). Items are separated by commas or whitespace.

#ifndef ONVIF_ENGINE_WSD_TYPE_NAMES_H_
#define ONVIF_ENGINE_WSD_TYPE_NAMES_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/wsd/builder.h"

namespace onvif::wsd {

// InvalidArgument naming the item for an unknown prefix, an empty local name
// or namespace, or "any" mixed with other items.
absl::StatusOr<std::vector<QNameSpec>> ParseTypeNames(std::string_view text);

// "{namespace}Local", or "Local" for an empty namespace (an unbound prefix).
std::string ClarkName(std::string_view ns, std::string_view local);
// The same into `out`, reusing its storage.
void AssignClarkName(std::string_view ns, std::string_view local, std::string& out);

}  // namespace onvif::wsd

#endif  // ONVIF_ENGINE_WSD_TYPE_NAMES_H_
