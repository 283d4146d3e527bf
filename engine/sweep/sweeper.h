// Sweeper: one WS-Discovery sweep over the host's interfaces.
//
// Design note
// -----------
// Create (setup; may allocate, returns Status):
//   net::ListInterfaces(filter) -> for each interface, for each family of
//   `families` it has an address for and can multicast in, one probe socket
//   (net::OpenProbeSocket: bound to the interface's address, the link-local
//   one for IPv6, on an ephemeral port; IP_MULTICAST_IF / IPV6_MULTICAST_IF
//   by ifindex, TTL / hop limit 1, SO_RCVBUF[FORCE], IP_PKTINFO /
//   IPV6_RECVPKTINFO). Its group is 239.255.255.250:3702 or
//   [ff02::c%ifindex]:3702. A socket that cannot be opened is reported
//   through `warnings()` and skipped (the interface keeps its other family);
//   an interface left without sockets is skipped; none left ->
//   FailedPrecondition. Each socket sends every Probe variant
//   (probe_variants.h; by default dn:NetworkVideoTransmitter and
//   tds:Device), each with its own MessageID and its bytes built once
//   (wsd::BuildProbe): a device on a segment shared by two of our interfaces,
//   or reached over both families, receives distinct Probes and answers
//   each, so it is listed on every interface it answered on (a responder may
//   ignore a repeated MessageID, WS-Discovery 2005/04 section 3.1.2;
//   retransmissions of one Probe keep their ID). Every variant follows the
//   same schedule.
//   Beside each probe socket (unless `listen` is off) a listener
//   (net::OpenListenerSocket: *:3702 joined to the group on that interface
//   only): it sends nothing and catches the ProbeMatches some cameras
//   multicast to the group instead of answering the prober; they go through
//   the same pipeline (RelatesTo must name one of our Probes).
//   Sockets and interfaces: a socket's tag (dense) is its loop tag and its
//   counter index; its interface's index (dense) is the seen-table interface
//   bit. So a camera answering over IPv4 and IPv6 on one NIC is one device
//   listed on that NIC once (the seen-table dedups by EndpointReference),
//   with both source addresses; the interface's stats are the sums over its
//   sockets, with one entry per socket (family) beside them.
// Run:
//   `threads` workers (default min(cores, interfaces)); interface i (all its
//   sockets) belongs to worker i % threads. Each worker owns an io::EventLoop, a
//   ReplyPipeline (scanner, scratch, counters) and its interfaces' sockets;
//   workers share only the lock-free dedup::SeenTable and the DeviceStore
//   (a mutex taken on new / updated endpoints only; see device_store.h).
//   Each worker arms one timer per send of the schedule (schedule.h: same
//   bytes, rand[50,250] ms doubling to 500 ms) and one end timer at
//   EndOffset(last send, last new endpoint); when it fires it re-reads the
//   shared "last new" time and either re-arms or stops every worker's loop
//   at once (the first worker to decide ends the sweep). RunUntil
//   (start + timeout) is the hard cap. Replies still queued in a socket
//   when the sweep ends are not read (they arrived after the end).
// Result: devices in discovery order, each with the names of every interface
//   the seen-table recorded for it; per-interface counters, including the
//   loop's kernel drops (SO_RXQ_OVFL / SO_MEMINFO) and the rcvbuf obtained.

#ifndef ONVIF_ENGINE_SWEEP_SWEEPER_H_
#define ONVIF_ENGINE_SWEEP_SWEEPER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/io/event_loop.h"
#include "engine/net/interfaces.h"
#include "engine/net/udp_socket.h"
#include "engine/net/os_sys_calls.h"
#include "engine/sweep/probe_variants.h"
#include "engine/sweep/result.h"
#include "engine/sweep/schedule.h"
#include "engine/wsd/builder.h"

namespace onvif::sweep {

// Distinct endpoints a sweep can hold by default (the swarm's maximum is
// 100,000 cameras); the seen-table allocates 128 B per entry up front.
inline constexpr std::size_t kDefaultMaxDevices = std::size_t{1} << 17;

struct SweepOptions {
  // --iface / --exclude. Its `families` is set from `families` below.
  net::InterfaceFilter interfaces;
  // --family: the families to probe in, in this order. An interface is
  // probed in each of them it has an address for and can multicast in
  // (net::Interface::MulticastFamilies: IPv6 needs a multicast link, so lo
  // gets IPv4 only); directed Probes may name targets of these families only.
  std::vector<net::Family> families = {net::Family::kIPv4, net::Family::kIPv6};
  // The Probes sent on every interface (1..kMaxProbeVariants).
  std::vector<ProbeVariant> probes = DefaultProbeVariants();
  std::vector<std::string> scopes;  // Probe Scopes (MatchBy rfc3986, the default)
  // Multicast Probes on the selected interfaces. false: only directed Probes.
  bool multicast = true;
  // Also listen on port 3702 of every swept interface and family (joined to
  // the group there) for the ProbeMatches some cameras wrongly multicast to
  // the group instead of sending them back to the prober. A listener that
  // cannot be opened (3702 held without SO_REUSEADDR) is a warning only.
  bool listen = true;
  // Directed Probes (targets.h): every variant unicast to port 3702 of each
  // address, paced at target_rate Probes per second (all targets together),
  // sent twice (SOAP-over-UDP unicast: one retransmission rand[50, 250] ms
  // later) unless the target answered the first. Replies come back to one
  // unicast socket per family of the targets, reported together as the
  // interface "unicast". A link-local IPv6 target carries its zone.
  std::vector<net::IpAddress> targets;
  int target_rate = 1000;
  // Also drop replies whose Types / Scopes do not satisfy the Probe they
  // answer (for devices that ignore the Probe's filter).
  bool filter_replies = false;
  int repeat = kDefaultRepeat;
  absl::Duration quiet = kDefaultQuiet;
  absl::Duration timeout = kDefaultTimeout;
  int rcvbuf_bytes = net::kDefaultRcvbufBytes;
  int threads = 0;  // 0: min(hardware threads, interfaces)
  io::Backend backend = io::Backend::kAuto;
  std::size_t max_devices = kDefaultMaxDevices;
  // Seeds the schedule and the MessageIDs; 0 = random.
  std::uint64_t seed = 0;
  // Socket setup and sends go through this (tests inject failures); null =
  // net::RealSysCalls(). Must outlive the Sweeper.
  net::OsSysCalls* sys = nullptr;
  // Called once per endpoint when it is first found, from a worker thread,
  // serialized (under the device store's lock): keep it short. The
  // DeviceInfo lives only for the call.
  std::function<void(const DeviceInfo&)> on_found;
  // Called when a ResolveMatch filled in the XAddrs of a device found
  // without them; same thread and lock rules as on_found.
  std::function<void(const DeviceInfo&)> on_resolved;
  // false: SweepResult::devices stays empty (device_count and the stats are
  // still set), for callers that take every device through on_found: the
  // list of a large storm is then never built.
  bool collect_devices = true;
};

struct Progress {
  std::size_t devices = 0;
  std::uint64_t datagrams = 0;
  absl::Duration elapsed;
};

class Sweeper {
 public:
  // Lists interfaces and opens the sockets. Errors: InvalidArgument for bad
  // options; the interface selection's error (NotFound / FailedPrecondition
  // naming the interface and why); FailedPrecondition when no socket could
  // be opened (with each interface's error).
  static absl::StatusOr<std::unique_ptr<Sweeper>> Create(SweepOptions options);
  ~Sweeper();
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

  // Sockets skipped at Create, one message each ("n3: IP_MULTICAST_IF ...",
  // "n3: IPV6_MULTICAST_IF ...": the option names the family).
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Names of the interfaces that will be swept.
  std::vector<std::string> interface_names() const;

  // Runs the sweep once (blocking) and returns what it found. Errors only
  // when a loop cannot be created or fails to wait.
  absl::StatusOr<SweepResult> Run();
  // Ends a running sweep early (thread-safe; e.g. from a signal thread).
  void Stop();
  // Live figures for a progress line; thread-safe.
  Progress GetProgress() const;

 private:
  struct Interface;
  struct Socket;
  struct Worker;
  struct Shared;
  explicit Sweeper(SweepOptions options);

  void ArmEndTimer(Worker& worker);
  // Sends a Resolve (and one retransmission) for each endpoint the worker's
  // pipeline found without XAddrs.
  void SendResolves(Worker& worker);
  // One pacing tick of the directed Probes; re-arms itself until all are sent.
  void SendTargetProbes(Worker& worker);
  // The schedule's last send or the last Resolve sent, whichever is later.
  absl::Duration LastSendOffset() const;

  SweepOptions options_;
  std::vector<std::string> warnings_;
  std::vector<std::unique_ptr<Interface>> interfaces_;
  std::vector<std::unique_ptr<Socket>> sockets_;  // by tag
  std::vector<absl::Duration> send_offsets_;  // the schedule, drawn at Create
  struct Unicast;
  std::unique_ptr<Unicast> unicast_;  // directed Probes; null without targets
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  bool ran_ = false;
};

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_SWEEPER_H_
