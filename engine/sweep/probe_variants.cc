#include "engine/sweep/probe_variants.h"

#include <utility>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/base/strings.h"
#include "engine/wsd/constants.h"
#include "engine/wsd/type_names.h"

namespace onvif::sweep {

std::vector<ProbeVariant> DefaultProbeVariants() {
  return {
      {"dn:NetworkVideoTransmitter",
       {{std::string(wsd::kNsOnvifNetwork), std::string(wsd::kTypeNetworkVideoTransmitter)}}},
      {"tds:Device", {{std::string(wsd::kNsOnvifDevice), std::string(wsd::kTypeDevice)}}},
  };
}

absl::StatusOr<ProbeVariant> ParseProbeVariant(std::string_view text) {
  absl::StatusOr<std::vector<wsd::QNameSpec>> types = wsd::ParseTypeNames(text);
  if (!types.ok()) return types.status();
  ProbeVariant variant;
  variant.name = absl::StrJoin(absl::StrSplit(base::ToAbsl(text), absl::ByAnyChar(", \t\n"), absl::SkipEmpty()), ",");
  variant.types = *std::move(types);
  return variant;
}

}  // namespace onvif::sweep
