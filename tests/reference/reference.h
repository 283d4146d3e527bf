// The reference extractor: the same WS-Discovery fields as the scanner, read
// with pugixml (a DOM parser) and namespace resolution written plainly. It is
// the oracle for the differential tests, the fuzzer and the benchmarks.
//
// Both sides are turned into Fields, an owned value with decoded text, so a
// test compares them with ==. The element paths and the rules (first
// occurrence wins, numbers that do not parse are absent, AppSequence needs
// both numbers, Types prefixes resolved at the Types element) are the ones in
// the design note of engine/wsd/scanner.h.

#ifndef ONVIF_TESTS_REFERENCE_REFERENCE_H_
#define ONVIF_TESTS_REFERENCE_REFERENCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/wsd/scanner.h"

namespace onvif::testing {

struct EntryFields {
  std::optional<std::string> endpoint;
  std::optional<std::vector<std::string>> types;  // each "{namespace}Local"
  std::optional<std::string> scopes;              // decoded, trimmed
  std::optional<std::string> match_by;
  std::optional<std::string> xaddrs;
  std::optional<std::uint64_t> metadata_version;
  bool operator==(const EntryFields&) const = default;
};

struct AppSequenceFields {
  std::uint64_t instance_id = 0;
  std::uint64_t message_number = 0;
  std::optional<std::string> sequence_id;
  bool operator==(const AppSequenceFields&) const = default;
};

struct Fields {
  std::string soap;       // "1.1" or "1.2"
  std::string discovery;  // "", "2005" or "2009"
  std::string kind;       // "none", "probe", "probe_matches", ... as MessageKindName
  std::optional<std::string> action;
  std::optional<std::string> message_id;
  std::optional<std::string> relates_to;
  std::optional<std::string> to;
  std::optional<AppSequenceFields> app_sequence;
  std::vector<EntryFields> entries;
  bool operator==(const Fields&) const = default;
};

// pugixml parse (UTF-8, parse_default | parse_ws_pcdata) and extraction.
// Fails when pugixml rejects the document or the root is not a SOAP Envelope.
absl::StatusOr<Fields> ReferenceScan(std::string_view xml);

// The scanner's result as Fields (text decoded with local scratch).
Fields FieldsFromScanner(const wsd::Envelope& envelope);

// "none", "probe", "probe_matches", "resolve", "resolve_matches", "hello",
// "bye", "fault", "other".
std::string_view MessageKindName(wsd::MessageKind kind);

// Multi-line, readable dump for test failure messages.
std::string DebugString(const Fields& fields);

}  // namespace onvif::testing

#endif  // ONVIF_TESTS_REFERENCE_REFERENCE_H_
