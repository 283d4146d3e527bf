// Probe matching as a Target Service implements it (WS-Discovery 2005/04,
// section 5.1; the 2009/01 rules of WS-Discovery 1.1 section 5.1 are accepted
// too, since devices in the field see both).
//
// Design note
// -----------
// A Probe matches a service when its Types match AND its Scopes match:
//  - Types: every QName of the Probe is among the service's types, compared
//    by (namespace URI, local name), never by prefix. No Types matches all.
//  - Scopes: every scope S1 of the Probe matches some scope S2 of the service
//    under the rule named by Scopes/@MatchBy. No Scopes matches all.
//    rfc3986 / rfc2396 (the default when MatchBy is absent, as ONVIF Core
//    "Device discovery" specifies): scheme and authority equal ignoring case;
//    the path of S1 a segment-wise prefix of the path of S2 (so
//    ".../hardware/D1" does not match ".../hardware/D1-566"); query and
//    fragment ignored; neither may hold a "." or ".." segment. Percent-escapes
//    are compared decoded ("%41" equals "A", hex case ignored), which is the
//    canonicalisation the spec asks for. A trailing "/" on S1 is ignored.
//    strcmp0: byte-exact. uuid: both are uuid URIs ("uuid:" or "urn:uuid:")
//    naming the same 128-bit value. none (1.1 only): matches a service with
//    no scopes when the Probe lists none.
//  - Any other MatchBy is kUnsupportedRule: the caller answers a unicast
//    Probe with the d:MatchingRuleNotSupported fault and ignores a multicast
//    one (section 5.1: never fault a multicast).
//
// Everything here is a pure function over string_views: no allocation, no
// copies, no state. Inputs are field values after Text::Get decoding (the
// caller decodes entities; percent-escapes are handled here).

#ifndef ONVIF_ENGINE_WSD_MATCHING_H_
#define ONVIF_ENGINE_WSD_MATCHING_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/wsd/builder.h"
#include "engine/wsd/scanner.h"

namespace onvif::wsd {

enum class MatchRule : std::uint8_t {
  kRfc3986,  // also rfc2396 (same comparison in section 5.1)
  kStrcmp0,
  kUuid,
  kNone,     // 2009/01 only
  kUnknown,  // anything else: MatchingRuleNotSupported
};

enum class [[nodiscard]] MatchResult : std::uint8_t{
    kMatch,
    kNoMatch,
    kUnsupportedRule,
};

// The rule a Scopes/@MatchBy value names (2005/04 or 2009/01 namespace, after
// trimming); an empty value is rfc3986.
MatchRule ParseMatchBy(std::string_view match_by);

// Every probe QName is among device_types (namespace + local). Prefixes are
// ignored. Empty probe_types matches.
bool TypesMatch(std::span<const QName> probe_types, std::span<const QName> device_types);
// The same rule for wanted types held as owned specs (a prober's filter).
bool TypesMatch(std::span<const QNameSpec> wanted_types, std::span<const QName> device_types);

// One probe scope against one device scope under `rule`. kUnknown and kNone
// never match here (see ScopesMatch).
bool ScopeMatches(MatchRule rule, std::string_view probe_scope, std::string_view device_scope);

// A prober's own filter: every one of `wanted` (rfc3986) matches one of the
// device's scopes (whitespace-separated, decoded). Empty `wanted` matches.
bool AllScopesMatch(std::span<const std::string> wanted, std::string_view device_scopes);

// The Probe's Scopes list (whitespace-separated, decoded; empty = no Scopes)
// under its MatchBy, against the device's scopes.
MatchResult ScopesMatch(std::string_view probe_scopes, std::string_view match_by,
                        std::span<const std::string_view> device_scopes);

}  // namespace onvif::wsd

#endif  // ONVIF_ENGINE_WSD_MATCHING_H_
