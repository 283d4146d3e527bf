// ReplyPipeline: what a sweep worker does with each datagram its probe
// sockets receive. No sockets and no clocks of its own, so tests feed it
// datagrams directly.
//
// Design note
// -----------
// Sockets and interfaces. A datagram's socket tag names the probe socket it
// came in on; an interface has one socket per family (a sweep of "both"
// probes each link over IPv4 and IPv6), so counters are kept per socket and
// everything that is about the link (the seen-table's interface bit, the
// device's interface names, ranking XAddrs) goes through the socket's
// interface. A camera that answers over both families on one NIC is one
// device, listed on that NIC once, with both source addresses.
//
// Per datagram, in order (each step a counter of the arrival socket):
//   datagrams++; truncated (MSG_TRUNC): truncated++, dropped (an envelope cut
//     short cannot scan);
//   Scanner::Scan: an error counts malformed (and malformed_by_error[error]);
//   the body must be ProbeMatches and wsa:RelatesTo one of our Probes'
//     MessageIDs (WS-Discovery 2005/04 section 5.3; a hash lookup that also
//     names the Probe variant answered), else unrelated, dropped:
//     a reply to someone else's Probe, a stray Hello, our own Probe looped
//     back on lo;
//   per ProbeMatch: matches++; the optional Types / Scopes filter (for
//     devices that ignore the Probe's own filter) counts filtered; an empty
//     endpoint counts malformed;
//   SeenTable::Insert(endpoint, interface, MetadataVersion, AppSequence with
//     message_number 0). message_number 0 because a device numbers every
//     message: its reply to our re-sent Probe would otherwise read kUpdated
//     although only a restart (InstanceId) or new metadata is news;
//   every result but kFull marks the variant answered (DeviceStore, lock-free);
//   kNew / kUpdated: the device is decoded and copied into the DeviceStore
//     (new / updated counters); kSeen: duplicates++, and only the source
//     address is merged (the seen-table merged the interface mask itself),
//     with the reply's XAddrs when that address is new to the device (a
//     dual-stack device often lists each family's XAddrs in that family's
//     replies);
//     kFull: full++ (the table's bound; the device is lost, memory is not).
// Resolve (WS-Discovery 2005/04 section 6): a new endpoint whose ProbeMatch
// has no XAddrs is queued as a ResolveRequest for the worker to send; a
// ResolveMatches whose RelatesTo names one of those Resolves
// (ExpectResolveMatches) fills the XAddrs in (DeviceStore::FillXAddrs,
// counted `resolved`). Anything else is `unrelated`.
// Only kNew / kUpdated copy anything (into the store's arena; the
// description itself is built in a reused DeviceInfo), and a kSeen from a
// second source address of a device (rare) allocates. Scratch for decoding is
// allocated once, at construction.
//
// Threading. One pipeline per worker; the SeenTable and DeviceStore are
// shared, everything else is the worker's. `last_new_ms` is the shared
// "time of the last new endpoint" the adaptive end reads.

#ifndef ONVIF_ENGINE_SWEEP_PIPELINE_H_
#define ONVIF_ENGINE_SWEEP_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/dedup/seen_table.h"
#include "engine/io/event_loop.h"
#include "engine/net/address.h"
#include "engine/sweep/device_store.h"
#include "engine/sweep/result.h"
#include "engine/sweep/xaddr_rank.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/scanner.h"

namespace onvif::sweep {

// One Probe we sent: its MessageID and the variant (probe_variants.h) it is.
struct SentProbe {
  std::string message_id;
  unsigned variant = 0;
};

struct PipelineOptions {
  // Our Probes (one per interface and variant): a ProbeMatches must relate
  // to one of them.
  std::vector<SentProbe> probes;
  // Directed Probes (targets.h): their MessageIDs start with this prefix and
  // name (variant, target); replies on `unicast_interface` mark the target
  // answered. Empty prefix: none.
  std::string unicast_id_prefix;
  unsigned variant_count = 0;  // Probe variants; bounds a directed Probe's variant
  unsigned unicast_interface = 0;
  std::vector<std::uint8_t>* unicast_answered = nullptr;
  // Dense interface index -> name; also sizes the counters when
  // socket_interfaces is empty.
  std::vector<std::string> interface_names;
  // Socket tag -> dense interface index, and the number of sockets (sizes
  // the counters). Empty: every tag is its own interface's one socket.
  std::vector<unsigned> socket_interfaces;
  // Dense interface index -> ifindex (0 when the "interface" is not a link,
  // as for directed Probes): a link-local source zoned by it is printed with
  // the interface's name ("fe80::2%n0") without asking the kernel. May be
  // empty.
  std::vector<unsigned> interface_ifindexes;
  // Dense interface index -> the interface and its addresses, to give a
  // device found on it a best_xaddr at once (the sweep ranks again at the
  // end, over every interface the device answered on). May be empty.
  std::vector<ArrivalInterface> arrival_interfaces;
  // Reply filter: when set, a match must have every type of the variant it
  // answers (filter_types_by_variant[variant]) and the scopes below.
  bool filter = false;
  std::vector<std::vector<wsd::QNameSpec>> filter_types_by_variant;
  std::vector<std::string> filter_scopes;  // MatchBy rfc3986
  absl::Time start = absl::UnixEpoch();
  // Clock, read only on kNew / kUpdated.
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Shared across workers: milliseconds since start of the last new endpoint,
  // -1 before the first. May be null.
  std::atomic<std::int64_t>* last_new_ms = nullptr;
};

// Nonzero fingerprint of a source IP for DeviceStore: exact for IPv4 (the
// address itself), a 64-bit hash for IPv6. Allocation-free.
std::uint64_t PeerFingerprint(const net::SocketAddress& peer);

// An endpoint to Resolve, on the interface its ProbeMatch came from, over the
// socket (so the family) it came in on.
struct ResolveRequest {
  std::string endpoint;
  unsigned interface_index = 0;
  unsigned socket = 0;
  // Who answered: a device found by a directed (unicast) Probe is Resolved
  // at its own address, since no group reaches it. Empty when unknown.
  net::SocketAddress peer;
};

class ReplyPipeline {
 public:
  ReplyPipeline(dedup::SeenTable& seen, DeviceStore& store, PipelineOptions options);
  ReplyPipeline(const ReplyPipeline&) = delete;
  ReplyPipeline& operator=(const ReplyPipeline&) = delete;

  // One datagram from an io::EventLoop; its socket_tag must be a socket of
  // socket_interfaces (or, without them, the dense interface index).
  void Process(const io::Datagram& datagram);

  // One datagram that arrived on socket `socket` (see socket_interfaces)
  // from a peer whose IP has fingerprint `peer_fingerprint` (nonzero; see
  // DeviceStore) and text `peer_ip` (called only when it must be stored).
  void Process(std::string_view payload, bool truncated, unsigned socket,
               std::uint64_t peer_fingerprint, absl::FunctionRef<std::string()> peer_ip);

  // The Resolves to send since the last call.
  std::vector<ResolveRequest> TakeResolveRequests() { return std::exchange(resolve_requests_, {}); }
  bool has_resolve_requests() const { return !resolve_requests_.empty(); }
  // A Resolve with this MessageID was sent: its ResolveMatches are related.
  void ExpectResolveMatches(std::string message_id) { resolve_ids_.insert(std::move(message_id)); }

  // Counters per socket (per dense interface index without socket_interfaces).
  const std::vector<InterfaceCounters>& counters() const { return counters_; }
  InterfaceCounters& counters(unsigned socket) { return counters_[socket]; }

 private:
  unsigned InterfaceOf(unsigned socket) const {
    return socket < options_.socket_interfaces.size() ? options_.socket_interfaces[socket] : socket;
  }
  // A peer's IP as stored: link-local sources with their zone as a name.
  std::string PeerText(const net::SocketAddress& peer, unsigned interface_index) const;
  // The variant of our Probe the envelope answers, or -1.
  int RelatedVariant(const wsd::Envelope& envelope, unsigned interface_index);
  bool PassesFilter(const wsd::Envelope& envelope, const wsd::Entry& entry, unsigned variant);
  // A ResolveMatches answering one of our Resolves.
  void ProcessResolveMatches(const wsd::Envelope& envelope, InterfaceCounters& counters, unsigned interface_index,
                             std::uint64_t peer_fingerprint, absl::FunctionRef<std::string()> peer_ip);
  // Describes the entry into description_ (reusing its strings' storage).
  void CopyOut(const wsd::Envelope& envelope, const wsd::Entry& entry, std::string_view endpoint,
               unsigned interface_index, std::int64_t now_ms);

  dedup::SeenTable& seen_;
  DeviceStore& store_;
  const PipelineOptions options_;
  absl::flat_hash_map<std::string, unsigned> variant_of_message_id_;
  absl::flat_hash_set<std::string> resolve_ids_;
  std::vector<ResolveRequest> resolve_requests_;
  net::SocketAddress current_peer_;  // of the datagram being processed; empty when unknown
  wsd::Scanner scanner_;
  std::vector<InterfaceCounters> counters_;
  // Decode scratch; each holds any field (a field lies inside one datagram).
  std::unique_ptr<char[]> key_scratch_;
  std::unique_ptr<char[]> field_scratch_;
  // The device being described: reused, so a new device costs the store's
  // compact copy and no allocation of its own.
  DeviceInfo description_;
};

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_PIPELINE_H_
