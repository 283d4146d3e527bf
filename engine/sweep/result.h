// What a sweep produces: the devices found and per-interface counters. Plain
// values, filled by the sweeper and printed by output.h; no sockets here.

#ifndef ONVIF_ENGINE_SWEEP_RESULT_H_
#define ONVIF_ENGINE_SWEEP_RESULT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/net/address.h"
#include "engine/wsd/scanner.h"

namespace onvif::sweep {

// One distinct endpoint (WS-Addressing EndpointReference/Address), merged
// over every reply, interface and re-sent Probe.
struct DeviceInfo {
  std::string endpoint;
  std::vector<std::string> types;  // "{namespace}Local"; "Local" when the prefix was unbound
  std::vector<std::string> scopes;
  std::vector<std::string> xaddrs;
  // The XAddr to use (xaddr_rank.h), none without XAddrs. Set at the end of
  // a sweep (needs every interface the device answered on).
  std::optional<std::string> best_xaddr;
  std::optional<std::uint64_t> metadata_version;
  // The Probe variants it answered (probe_variants.h), in variant order.
  std::vector<std::string> answered;
  // Names of the interfaces it answered on, each once, whatever the family.
  std::vector<std::string> interfaces;
  // Source IPs of its replies, link-local ones with their zone as this
  // host's interface name ("fe80::2%n0").
  std::vector<std::string> addresses;
  std::int64_t first_seen_ms = 0;       // since the sweep's start
};

// `out` = the items of a list value (Scopes, XAddrs; split on XML
// whitespace), reusing the storage of the strings `out` already holds: a
// storm describes every new device into the same DeviceInfo.
void AssignListItems(std::string_view list, std::vector<std::string>& out);

// Number of ScanError values (kOk included), for per-error counters.
inline constexpr std::size_t kScanErrorCount =
    static_cast<std::size_t>(wsd::ScanError::kNotSoapEnvelope) + 1;

// Per-interface counters. One worker owns an interface, so these are plain
// integers written by one thread and read after it joined.
struct InterfaceCounters {
  std::uint64_t probes_sent = 0;
  std::uint64_t datagrams = 0;   // received on the probe socket
  std::uint64_t matches = 0;     // ProbeMatch entries in related replies
  std::uint64_t new_devices = 0; // entries whose endpoint was new to the sweep
  std::uint64_t updated = 0;     // known endpoint, higher MetadataVersion / InstanceId
  std::uint64_t duplicates = 0;  // known endpoint, nothing new
  std::uint64_t filtered = 0;    // entries dropped by the Types / Scopes filter
  std::uint64_t malformed = 0;   // datagrams the scanner rejected (+ entries without endpoint)
  std::uint64_t unrelated = 0;   // not a ProbeMatches answering one of our Probes
  std::uint64_t truncated = 0;   // MSG_TRUNC
  std::uint64_t kernel_drops = 0;  // receive-queue overflows (SO_RXQ_OVFL)
  std::uint64_t full = 0;        // new endpoints the seen-table had no room for
  std::uint64_t resolves_sent = 0;  // Resolve sends for endpoints found without XAddrs
  std::uint64_t resolved = 0;       // ... whose ResolveMatch filled the XAddrs in
  std::uint64_t send_errors = 0;
  std::array<std::uint64_t, kScanErrorCount> malformed_by_error{};  // indexed by ScanError

  InterfaceCounters& operator+=(const InterfaceCounters& other);
};

// One probe socket of an interface: an interface has one per family swept.
// One family's probe socket on an interface; its listener's (SweepOptions::
// listen) counters are added in.
struct SocketStats {
  net::Family family = net::Family::kIPv4;
  std::string address;  // "10.77.0.1:40000", "[fe80::1%n0]:40001"
  std::string listener;  // "0.0.0.0:3702", "[::]:3702"; empty without one
  std::int64_t rcvbuf = 0;
  InterfaceCounters counters;
};

// An interface's figures: the sum over its sockets, and each socket.
struct InterfaceStats {
  std::string name;
  // The first socket's local address (IPv4 when the interface is swept over
  // both families), "10.77.0.1:40000".
  std::string address;
  std::int64_t rcvbuf = 0;  // SO_RCVBUF as obtained (the smallest of its sockets')
  InterfaceCounters counters;  // summed over `sockets`
  std::vector<SocketStats> sockets;  // in --family order
};

struct SweepStats {
  std::int64_t elapsed_ms = 0;
  // The process's user + system CPU time during the sweep (getrusage, from
  // the first send until the result is assembled): what a storm costs,
  // whatever the machine load.
  std::int64_t cpu_us = 0;
  // The event loop backend the workers ran on: "uring" or "epoll" (auto
  // picks uring when the kernel allows it).
  std::string backend;
  // Devices still without XAddrs at the end (no ResolveMatch came).
  std::int64_t unresolved = 0;
  std::vector<InterfaceStats> interfaces;

  InterfaceCounters Totals() const;
};

struct SweepResult {
  std::vector<DeviceInfo> devices;  // in the order they were first found
  // The devices found: devices.size(), also when they were not collected
  // (SweepOptions::collect_devices).
  std::size_t device_count = 0;
  SweepStats stats;
};

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_RESULT_H_
