#include "engine/sweep/output.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/base/strings.h"
#include "engine/base/json_writer.h"

namespace onvif::sweep {
namespace {

void WriteStringArray(base::JsonWriter& json, std::string_view key,
                      const std::vector<std::string>& values) {
  json.Key(key);
  json.BeginArray();
  for (const std::string& value : values) json.String(value);
  json.EndArray();
}

// The device fields, inside an open object.
void WriteDeviceFields(base::JsonWriter& json, const DeviceInfo& device) {
  json.KeyString("endpoint", device.endpoint);
  WriteStringArray(json, "types", device.types);
  WriteStringArray(json, "scopes", device.scopes);
  WriteStringArray(json, "xaddrs", device.xaddrs);
  json.Key("best_xaddr");
  if (device.best_xaddr.has_value()) {
    json.String(*device.best_xaddr);
  } else {
    json.Null();
  }
  json.Key("metadata_version");
  if (device.metadata_version.has_value()) {
    json.Uint(*device.metadata_version);
  } else {
    json.Null();
  }
  WriteStringArray(json, "answered", device.answered);
  WriteStringArray(json, "interfaces", device.interfaces);
  WriteStringArray(json, "addresses", device.addresses);
  json.Key("first_seen_ms");
  json.Int(device.first_seen_ms);
}

// "interfaces":[...] inside an open object.
void WriteInterfaceStats(base::JsonWriter& json, const std::vector<InterfaceStats>& interfaces) {
  json.Key("interfaces");
  json.BeginArray();
  for (const InterfaceStats& iface : interfaces) {
    const InterfaceCounters& c = iface.counters;
    json.BeginObject();
    json.KeyString("name", iface.name);
    json.KeyString("address", iface.address);
    json.KeyUint("probes_sent", c.probes_sent);
    json.KeyUint("send_errors", c.send_errors);
    json.KeyUint("datagrams", c.datagrams);
    json.KeyUint("matches", c.matches);
    json.KeyUint("new", c.new_devices);
    json.KeyUint("duplicates", c.duplicates);
    json.KeyUint("malformed", c.malformed);
    json.KeyUint("unrelated", c.unrelated);
    json.KeyUint("truncated", c.truncated);
    json.KeyUint("kernel_drops", c.kernel_drops);
    json.KeyUint("resolves_sent", c.resolves_sent);
    json.KeyUint("resolved", c.resolved);
    json.Key("rcvbuf");
    json.Int(iface.rcvbuf);
    json.Key("sockets");
    json.BeginArray();
    for (const SocketStats& socket : iface.sockets) {
      json.BeginObject();
      json.KeyString("family", net::FamilyName(socket.family));
      json.KeyString("address", socket.address);
      if (!socket.listener.empty()) json.KeyString("listener", socket.listener);
      json.KeyUint("probes", socket.counters.probes_sent);
      json.KeyUint("received", socket.counters.datagrams);
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
  }
  json.EndArray();
}

// The stats fields, inside an open object.
void WriteStatsFields(base::JsonWriter& json, const SweepStats& stats) {
  json.Key("elapsed_ms");
  json.Int(stats.elapsed_ms);
  json.Key("cpu_us");
  json.Int(stats.cpu_us);
  json.KeyString("backend", stats.backend);
  json.Key("unresolved");
  json.Int(stats.unresolved);
  WriteInterfaceStats(json, stats.interfaces);
}

// absl::string_view is not std::string_view in this (Debian) abseil build.

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Scheme and authority case-insensitive (RFC 3986 section 6.2.2.1), the
// path exact.
bool ScopeHasPrefix(std::string_view scope, std::string_view prefix) {
  if (scope.size() < prefix.size()) return false;
  const std::size_t scheme_end = prefix.find("://");
  const std::size_t path_start =
      scheme_end == std::string_view::npos ? 0 : prefix.find('/', scheme_end + 3);
  const std::size_t folded = path_start == std::string_view::npos ? prefix.size() : path_start;
  return absl::EqualsIgnoreCase(base::ToAbsl(scope.substr(0, folded)), base::ToAbsl(prefix.substr(0, folded))) &&
         scope.substr(folded, prefix.size() - folded) == prefix.substr(folded);
}

std::string Column(const std::string& text, std::size_t width) {
  std::string out = text;
  out.resize(std::max(width, text.size()), ' ');
  return out;
}

}  // namespace

absl::StatusOr<Format> ParseFormat(std::string_view text) {
  if (text == "table") return Format::kTable;
  if (text == "json") return Format::kJson;
  if (text == "ndjson") return Format::kNdjson;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown format '", base::ToAbsl(text), "' (expected table, json or ndjson)"));
}

std::string FormatJson(const SweepResult& result) {
  std::string out;
  base::JsonWriter json(&out);
  json.BeginObject();
  json.Key("devices");
  json.BeginArray();
  for (const DeviceInfo& device : result.devices) {
    json.BeginObject();
    WriteDeviceFields(json, device);
    json.EndObject();
  }
  json.EndArray();
  json.Key("stats");
  json.BeginObject();
  WriteStatsFields(json, result.stats);
  json.EndObject();
  json.EndObject();
  out.push_back('\n');
  return out;
}

std::string FormatFoundEvent(const DeviceInfo& device) { return FormatDeviceEvent("found", "probe", device); }

std::string FormatDeviceEvent(std::string_view event, std::string_view via, const DeviceInfo& device) {
  std::string out;
  AppendDeviceEvent(event, via, device, &out);
  return out;
}

void AppendDeviceEvent(std::string_view event, std::string_view via, const DeviceInfo& device, std::string* out) {
  base::JsonWriter json(out);
  json.BeginObject();
  json.KeyString("event", event);
  json.KeyString("via", via);
  WriteDeviceFields(json, device);
  json.EndObject();
  out->push_back('\n');
}

std::string FormatSummaryEvent(std::size_t devices, const SweepStats& stats) {
  std::string out;
  base::JsonWriter json(&out);
  json.BeginObject();
  json.KeyString("event", "summary");
  json.KeyUint("devices", devices);
  WriteStatsFields(json, stats);
  json.EndObject();
  out.push_back('\n');
  return out;
}

std::string FormatWatchSummary(const WatchStats& stats) {
  std::string out;
  base::JsonWriter json(&out);
  json.BeginObject();
  json.KeyString("event", "summary");
  json.KeyUint("devices", stats.present);
  json.KeyUint("rounds", stats.rounds);
  json.KeyUint("hellos", stats.hellos);
  json.KeyUint("byes", stats.byes);
  json.KeyUint("found", stats.tracker.found);
  json.KeyUint("updated", stats.tracker.updated);
  json.KeyUint("gone", stats.tracker.gone);
  json.KeyUint("stale", stats.tracker.stale);
  json.KeyUint("duplicate_announcements", stats.tracker.duplicates);
  json.KeyUint("unknown_byes", stats.tracker.unknown_byes);
  json.KeyUint("full", stats.tracker.full);
  std::uint64_t filtered = 0;
  for (const InterfaceStats& iface : stats.interfaces) filtered += iface.counters.filtered;
  json.KeyUint("filtered", filtered);
  json.Key("elapsed_ms");
  json.Int(stats.elapsed_ms);
  json.KeyString("backend", stats.backend);
  WriteInterfaceStats(json, stats.interfaces);
  json.EndObject();
  out.push_back('\n');
  return out;
}

std::string FormatTable(const SweepResult& result) {
  struct Row {
    std::string name, hardware, xaddr, interfaces;
  };
  std::vector<Row> rows;
  rows.reserve(result.devices.size() + 1);
  rows.push_back({"NAME", "HARDWARE", "XADDR", "INTERFACES"});
  for (const DeviceInfo& device : result.devices) {
    Row row;
    // Without a name scope (wsdd hosts, many non-ONVIF devices) the endpoint
    // is what tells rows apart.
    row.name = ScopeValue(device.scopes, kNameScope).value_or(device.endpoint.empty() ? "-" : device.endpoint);
    row.hardware = ScopeValue(device.scopes, kHardwareScope).value_or("-");
    row.xaddr = device.best_xaddr.value_or(device.xaddrs.empty() ? "-" : device.xaddrs.front());
    row.interfaces = device.interfaces.empty() ? "-" : absl::StrJoin(device.interfaces, ",");
    rows.push_back(std::move(row));
  }
  std::size_t name_width = 0, hardware_width = 0, xaddr_width = 0;
  for (const Row& row : rows) {
    name_width = std::max(name_width, row.name.size());
    hardware_width = std::max(hardware_width, row.hardware.size());
    xaddr_width = std::max(xaddr_width, row.xaddr.size());
  }
  std::string out;
  for (const Row& row : rows) {
    absl::StrAppend(&out, Column(row.name, name_width), "  ", Column(row.hardware, hardware_width),
                    "  ", Column(row.xaddr, xaddr_width), "  ", row.interfaces, "\n");
  }
  for (const InterfaceStats& iface : result.stats.interfaces) {
    const InterfaceCounters& c = iface.counters;
    std::string addresses = iface.address;
    if (iface.sockets.size() > 1) {
      addresses = absl::StrJoin(iface.sockets, ", ", [](std::string* out, const SocketStats& socket) {
        out->append(socket.address);
      });
    }
    absl::StrAppendFormat(&out,
                          "%s (%s): %d probes, %d datagrams, %d matches, %d new, %d duplicates, "
                          "%d malformed, %d unrelated, %d truncated, %d kernel drops, rcvbuf %d\n",
                          iface.name, addresses, c.probes_sent, c.datagrams, c.matches,
                          c.new_devices, c.duplicates, c.malformed, c.unrelated, c.truncated,
                          c.kernel_drops, iface.rcvbuf);
  }
  const InterfaceCounters total = result.stats.Totals();
  absl::StrAppendFormat(&out,
                        "%d devices on %d interfaces in %d ms (%d datagrams, %d duplicates, "
                        "%d malformed, %d unrelated, %d kernel drops)\n",
                        result.devices.size(), result.stats.interfaces.size(),
                        result.stats.elapsed_ms, total.datagrams, total.duplicates,
                        total.malformed, total.unrelated, total.kernel_drops);
  return out;
}

std::optional<std::string> ScopeValue(const std::vector<std::string>& scopes,
                                      std::string_view prefix) {
  for (const std::string& scope : scopes) {
    if (ScopeHasPrefix(scope, prefix)) return PercentDecode(std::string_view(scope).substr(prefix.size()));
  }
  return std::nullopt;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace onvif::sweep
