// Printing a sweep: `json` (one document), `ndjson` (a "found" line per new
// device as it is found, then a "summary" line) and `table` (for people); and
// a watch's events and summary (NDJSON).
// Pure functions from result.h values to text; every line ends with '\n'.
//
// JSON shapes:
//   device: {"endpoint","types":[...],"scopes":[...],"xaddrs":[...],"best_xaddr" (or null),
//            "metadata_version" (number or null),"answered":[Probe variants],
//            "interfaces":[names],
//            "addresses":[source IPs],"first_seen_ms"}
//   stats:  {"elapsed_ms","cpu_us","backend","unresolved","interfaces":[{"name","address",
//            "probes_sent","send_errors","datagrams","matches","new","duplicates","malformed","unrelated",
//            "truncated","kernel_drops","resolves_sent","resolved","rcvbuf",
//            "sockets":[{"family":"IPv4"|"IPv6","address","probes","received"}]}]}
// An interface's counters are the sums over its sockets (one per family
// swept); "sockets" tells the families apart with keys of their own
// ("probes" = Probe sends, "received" = datagrams), so tools that add up a
// counter's name over the document count nothing twice.

#ifndef ONVIF_ENGINE_SWEEP_OUTPUT_H_
#define ONVIF_ENGINE_SWEEP_OUTPUT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/sweep/result.h"
#include "engine/sweep/watcher.h"

namespace onvif::sweep {

enum class Format { kTable, kJson, kNdjson };
// "table" | "json" | "ndjson"; InvalidArgument otherwise.
absl::StatusOr<Format> ParseFormat(std::string_view text);

// {"devices":[...],"stats":{...}} and a newline.
std::string FormatJson(const SweepResult& result);
// {"event":"found","via":"probe",<device fields>} and a newline.
std::string FormatFoundEvent(const DeviceInfo& device);
// {"event":EVENT,"via":VIA,<device fields>} and a newline; e.g. "updated" via
// "resolve" when a ResolveMatch filled in a device's XAddrs.
std::string FormatDeviceEvent(std::string_view event, std::string_view via, const DeviceInfo& device);
// The same line appended to *out: a caller streaming many lines reuses one
// buffer.
void AppendDeviceEvent(std::string_view event, std::string_view via, const DeviceInfo& device, std::string* out);
// {"event":"summary","devices":N,<stats fields>} and a newline.
std::string FormatSummaryEvent(std::size_t devices, const SweepStats& stats);
// The last line of a watch: {"event":"summary","devices":<present>,"rounds",
// "hellos","byes","found","updated","gone","stale","duplicate_announcements",
// "unknown_byes","full","filtered" (Hellos of devices no Probe of ours asks
// for),"elapsed_ms","backend","interfaces":[...]}.
std::string FormatWatchSummary(const WatchStats& stats);
// Columns NAME, HARDWARE, XADDR, INTERFACES (one row per device, "-" for a
// missing value), then one line per interface and a totals line.
std::string FormatTable(const SweepResult& result);

// The rest of the first scope that starts with `prefix` (scheme and authority
// compared case-insensitively), percent-decoded; nullopt when none does.
// ONVIF Core "Scopes": onvif://www.onvif.org/name/<name>, .../hardware/<model>.
std::optional<std::string> ScopeValue(const std::vector<std::string>& scopes,
                                      std::string_view prefix);
inline constexpr std::string_view kNameScope = "onvif://www.onvif.org/name/";
inline constexpr std::string_view kHardwareScope = "onvif://www.onvif.org/hardware/";

// RFC 3986 percent-decoding; a '%' not followed by two hex digits is kept.
std::string PercentDecode(std::string_view text);

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_OUTPUT_H_
