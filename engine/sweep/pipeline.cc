#include "engine/sweep/pipeline.h"
#include "engine/sweep/targets.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <utility>

#include "absl/hash/hash.h"
#include "engine/base/strings.h"
#include "engine/net/interfaces.h"
#include "engine/wsd/type_names.h"
#include "engine/wsd/matching.h"

namespace onvif::sweep {
namespace {

constexpr std::size_t kScratchBytes = wsd::kMaxEnvelopeBytes;

std::vector<std::string> Items(std::string_view value) {
  std::vector<std::string> out;
  AssignListItems(value, out);
  return out;
}

void RaiseTo(std::atomic<std::int64_t>& word, std::int64_t value) {
  std::int64_t current = word.load(std::memory_order_relaxed);
  while (current < value &&
         !word.compare_exchange_weak(current, value, std::memory_order_relaxed)) {
  }
}

}  // namespace

std::uint64_t PeerFingerprint(const net::SocketAddress& peer) {
  const net::IpAddress ip = peer.ip();
  if (ip.family() == net::Family::kIPv4) {
    std::uint32_t v4 = 0;
    std::memcpy(&v4, &ip.v4(), sizeof v4);
    return (std::uint64_t{1} << 32) | v4;
  }
  const std::string_view bytes(reinterpret_cast<const char*>(&ip.v6()), sizeof(in6_addr));
  return absl::HashOf(absl::string_view(bytes.data(), bytes.size()), ip.scope_id()) |
         (std::uint64_t{1} << 63);
}

void ReplyPipeline::Process(const io::Datagram& datagram) {
  current_peer_ = datagram.peer;
  Process(datagram.text(), datagram.truncated, datagram.socket_tag, PeerFingerprint(datagram.peer),
          [this, &datagram] { return PeerText(datagram.peer, InterfaceOf(datagram.socket_tag)); });
  current_peer_ = {};
}

std::string ReplyPipeline::PeerText(const net::SocketAddress& peer, unsigned interface_index) const {
  if (interface_index >= options_.interface_ifindexes.size() || interface_index >= options_.interface_names.size()) {
    return net::DisplayString(peer.ip());
  }
  return net::DisplayString(peer.ip(), options_.interface_ifindexes[interface_index],
                            options_.interface_names[interface_index]);
}

ReplyPipeline::ReplyPipeline(dedup::SeenTable& seen, DeviceStore& store, PipelineOptions options)
    : seen_(seen),
      store_(store),
      options_(std::move(options)),
      counters_(std::max<std::size_t>(
          options_.socket_interfaces.empty() ? options_.interface_names.size() : options_.socket_interfaces.size(),
          1)),
      key_scratch_(new char[kScratchBytes]),
      field_scratch_(new char[kScratchBytes]) {
  for (const SentProbe& probe : options_.probes) variant_of_message_id_.emplace(probe.message_id, probe.variant);
}

int ReplyPipeline::RelatedVariant(const wsd::Envelope& envelope, unsigned interface_index) {
  if (envelope.kind != wsd::MessageKind::kProbeMatches || !envelope.relates_to.present) {
    return -1;
  }
  const std::string_view relates_to =
      envelope.relates_to.Get({field_scratch_.get(), kScratchBytes});
  const auto it = variant_of_message_id_.find(base::ToAbsl(relates_to));
  if (it != variant_of_message_id_.end()) return static_cast<int>(it->second);
  if (options_.unicast_id_prefix.empty() || interface_index != options_.unicast_interface) return -1;
  const std::optional<UnicastProbeRef> ref = ParseUnicastMessageId(options_.unicast_id_prefix, relates_to);
  if (!ref.has_value() || ref->variant >= options_.variant_count || options_.unicast_answered == nullptr ||
      ref->target >= options_.unicast_answered->size()) {
    return -1;
  }
  (*options_.unicast_answered)[ref->target] = 1;
  return static_cast<int>(ref->variant);
}

bool ReplyPipeline::PassesFilter(const wsd::Envelope& envelope, const wsd::Entry& entry, unsigned variant) {
  if (!options_.filter) return true;
  if (variant < options_.filter_types_by_variant.size() &&
      !wsd::TypesMatch(options_.filter_types_by_variant[variant], envelope.types(entry))) {
    return false;
  }
  if (options_.filter_scopes.empty()) return true;
  return wsd::AllScopesMatch(options_.filter_scopes, entry.scopes.Get({field_scratch_.get(), kScratchBytes}));
}

void ReplyPipeline::CopyOut(const wsd::Envelope& envelope, const wsd::Entry& entry,
                            std::string_view endpoint, unsigned interface_index, std::int64_t now_ms) {
  DeviceInfo& device = description_;
  device.endpoint.assign(endpoint);
  const std::span<const wsd::QName> types = envelope.types(entry);
  device.types.resize(types.size());
  for (std::size_t i = 0; i < types.size(); ++i) wsd::AssignClarkName(types[i].ns, types[i].local, device.types[i]);
  const std::span<char> scratch(field_scratch_.get(), kScratchBytes);
  AssignListItems(entry.scopes.present ? entry.scopes.Get(scratch) : std::string_view(), device.scopes);
  AssignListItems(entry.xaddrs.present ? entry.xaddrs.Get(scratch) : std::string_view(), device.xaddrs);
  device.metadata_version = entry.metadata_version;
  if (interface_index < options_.interface_names.size()) {
    device.interfaces.resize(1);
    device.interfaces[0].assign(options_.interface_names[interface_index]);
  } else {
    device.interfaces.clear();
  }
  device.first_seen_ms = now_ms;
}

void ReplyPipeline::Process(std::string_view payload, bool truncated, unsigned socket,
                            std::uint64_t peer_fingerprint,
                            absl::FunctionRef<std::string()> peer_ip) {
  if (socket >= counters_.size()) socket = 0;  // caller bug; count somewhere
  const unsigned interface_index = InterfaceOf(socket);
  InterfaceCounters& counters = counters_[socket];
  ++counters.datagrams;
  if (truncated) {
    ++counters.truncated;
    return;
  }
  const wsd::ScanResult scanned = scanner_.Scan(payload);
  if (!scanned.ok()) {
    ++counters.malformed;
    ++counters.malformed_by_error[static_cast<std::size_t>(scanned.error)];
    return;
  }
  const wsd::Envelope& envelope = scanner_.envelope();
  if (envelope.kind == wsd::MessageKind::kResolveMatches) {
    ProcessResolveMatches(envelope, counters, interface_index, peer_fingerprint, peer_ip);
    return;
  }
  const int variant = RelatedVariant(envelope, interface_index);
  if (variant < 0) {
    ++counters.unrelated;
    return;
  }
  // Restarts (InstanceId) are news; MessageNumber is not (see the note).
  std::optional<dedup::AppSequence> app_sequence;
  if (envelope.app_sequence.has_value()) {
    app_sequence = dedup::AppSequence{envelope.app_sequence->instance_id, 0};
  }
  for (const wsd::Entry& entry : envelope.entries()) {
    ++counters.matches;
    if (!PassesFilter(envelope, entry, static_cast<unsigned>(variant))) {
      ++counters.filtered;
      continue;
    }
    const std::string_view endpoint = entry.endpoint.Get({key_scratch_.get(), kScratchBytes});
    if (endpoint.empty()) {
      ++counters.malformed;
      continue;
    }
    const dedup::InsertOutcome outcome =
        seen_.Insert(endpoint, interface_index, entry.metadata_version, app_sequence);
    if (outcome.result != dedup::InsertResult::kFull) {
      store_.MarkAnswered(outcome.slot, static_cast<unsigned>(variant));
    }
    switch (outcome.result) {
      case dedup::InsertResult::kSeen:
        ++counters.duplicates;
        // XAddrs are decoded only when the source address is new to the device.
        store_.MergeAddress(outcome.slot, peer_fingerprint, peer_ip, [&] {
          return entry.xaddrs.present ? Items(entry.xaddrs.Get({field_scratch_.get(), kScratchBytes}))
                                      : std::vector<std::string>{};
        });
        break;
      case dedup::InsertResult::kNew:
      case dedup::InsertResult::kUpdated: {
        const bool is_new = outcome.result == dedup::InsertResult::kNew;
        ++(is_new ? counters.new_devices : counters.updated);
        const std::int64_t now_ms = absl::ToInt64Milliseconds(options_.now() - options_.start);
        if (is_new && options_.last_new_ms != nullptr) RaiseTo(*options_.last_new_ms, now_ms);
        CopyOut(envelope, entry, endpoint, interface_index, now_ms);
        DeviceInfo& device = description_;
        const std::string ip = peer_ip();  // once, for the ranking and the store
        if (interface_index < options_.arrival_interfaces.size()) {
          AssignBestXAddr(device.xaddrs, {&options_.arrival_interfaces[interface_index], 1}, {&ip, 1},
                          device.best_xaddr);
        } else {
          device.best_xaddr.reset();
        }
        if (is_new && device.xaddrs.empty()) {
          resolve_requests_.push_back({device.endpoint, interface_index, socket, current_peer_});
        }
        (void)store_.Describe(outcome.slot, device, peer_fingerprint, [&ip] { return ip; });
        break;
      }
      case dedup::InsertResult::kFull:
        ++counters.full;
        break;
    }
  }
}

void ReplyPipeline::ProcessResolveMatches(const wsd::Envelope& envelope, InterfaceCounters& counters,
                                          unsigned interface_index, std::uint64_t peer_fingerprint,
                                          absl::FunctionRef<std::string()> peer_ip) {
  const std::string_view relates_to =
      envelope.relates_to.present ? envelope.relates_to.Get({field_scratch_.get(), kScratchBytes}) : "";
  if (relates_to.empty() || !resolve_ids_.contains(base::ToAbsl(relates_to))) {
    ++counters.unrelated;
    return;
  }
  for (const wsd::Entry& entry : envelope.entries()) {
    ++counters.matches;
    const std::string_view endpoint = entry.endpoint.Get({key_scratch_.get(), kScratchBytes});
    if (endpoint.empty()) {
      ++counters.malformed;
      continue;
    }
    const dedup::InsertOutcome outcome = seen_.Insert(endpoint, interface_index, entry.metadata_version, std::nullopt);
    if (outcome.result == dedup::InsertResult::kFull) {
      ++counters.full;
      continue;
    }
    ++counters.duplicates;
    store_.MergeAddress(outcome.slot, peer_fingerprint, peer_ip);
    if (entry.xaddrs.present &&
        store_.FillXAddrs(outcome.slot, Items(entry.xaddrs.Get({field_scratch_.get(), kScratchBytes})))) {
      ++counters.resolved;
    }
  }
}

}  // namespace onvif::sweep
