#include "engine/sweep/watcher.h"

#include <algorithm>
#include <memory>
#include <random>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "engine/base/strings.h"
#include "engine/io/event_loop.h"
#include "engine/net/address.h"
#include "engine/net/interfaces.h"
#include "engine/net/udp_socket.h"
#include "engine/sweep/pipeline.h"  // PeerFingerprint
#include "engine/sweep/schedule.h"
#include "engine/sweep/xaddr_rank.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/matching.h"
#include "engine/wsd/scanner.h"
#include "engine/wsd/type_names.h"

namespace onvif::sweep {
namespace {

constexpr std::size_t kScratchBytes = wsd::kMaxEnvelopeBytes;
// Socket tags: (interface index * kMaxFamilies + family socket) * 2, + 1 for
// the listener.
constexpr std::uint32_t kListenerBit = 1;
constexpr std::uint32_t kMaxFamilies = 2;
constexpr std::uint32_t ProbeTag(unsigned interface_index, std::size_t socket) {
  return static_cast<std::uint32_t>((interface_index * kMaxFamilies + socket) << 1);
}
// A Resolve's answers are expected within this long; its ID is then forgotten.
constexpr std::int64_t kResolveWindowMs = 10'000;

std::vector<std::string> Items(std::string_view value) {
  std::vector<std::string> out;
  for (std::string_view item : wsd::ListItems(value)) out.emplace_back(item);
  return out;
}

}  // namespace

struct Watcher::Interface {
  unsigned index = 0;
  std::string name;
  unsigned ifindex = 0;
  std::vector<net::InterfaceAddress> addresses;
  // Per family the interface has: where Probes and Resolves go out and their
  // answers come back, and where announcements arrive.
  struct Socket {
    net::Family family = net::Family::kIPv4;
    net::BoundSocket probe;
    std::optional<net::BoundSocket> listener;
    sockaddr_storage group{};
    socklen_t group_length = 0;
    std::vector<std::string> probes;  // this round's, per variant
  };
  std::vector<Socket> sockets;
  InterfaceCounters counters;
};

struct Watcher::Impl final : io::DatagramHandler {
  Watcher* watcher = nullptr;
  std::unique_ptr<io::EventLoop> loop;
  std::unique_ptr<DeviceTracker> tracker;
  wsd::Scanner scanner;
  std::mt19937_64 gen;
  struct SentProbe {
    unsigned variant = 0;
    std::uint64_t round = 0;
  };
  absl::flat_hash_map<std::string, SentProbe> probe_ids;
  absl::flat_hash_map<std::string, std::int64_t> resolve_ids;  // -> sent at (ms)
  std::uint64_t round = 0;
  absl::Time start;
  std::int64_t expire_ms = 0;  // 0: never
  WatchStats stats;
  std::unique_ptr<char[]> key_scratch{new char[kScratchBytes]};
  std::unique_ptr<char[]> field_scratch{new char[kScratchBytes]};
  std::unique_ptr<char[]> sequence_scratch{new char[kScratchBytes]};

  net::OsSysCalls& sys() const {
    return watcher->options_.sweep.sys != nullptr ? *watcher->options_.sweep.sys : net::RealSysCalls();
  }
  std::int64_t NowMs() const { return absl::ToInt64Milliseconds(absl::Now() - start); }

  void OnDatagrams(io::EventLoop&, std::span<const io::Datagram> batch) override {
    for (const io::Datagram& datagram : batch) Process(datagram);
    watcher->present_.store(tracker->present(), std::memory_order_relaxed);
  }

  void Process(const io::Datagram& datagram) {
    const std::uint32_t index = (datagram.socket_tag >> 1) / kMaxFamilies;
    if (index >= watcher->interfaces_.size()) return;
    Interface& iface = *watcher->interfaces_[index];
    InterfaceCounters& counters = iface.counters;
    ++counters.datagrams;
    if (datagram.truncated) {
      ++counters.truncated;
      return;
    }
    const wsd::ScanResult scanned = scanner.Scan(datagram.text());
    if (!scanned.ok()) {
      ++counters.malformed;
      ++counters.malformed_by_error[static_cast<std::size_t>(scanned.error)];
      return;
    }
    const wsd::Envelope& envelope = scanner.envelope();
    switch (envelope.kind) {
      case wsd::MessageKind::kHello:
        ++stats.hellos;
        ObserveEntries(Via::kHello, envelope, iface, datagram, "");
        return;
      case wsd::MessageKind::kBye:
        ++stats.byes;
        ObserveEntries(Via::kBye, envelope, iface, datagram, "");
        return;
      case wsd::MessageKind::kProbeMatches: {
        const auto it = probe_ids.find(base::ToAbsl(RelatesTo(envelope)));
        if (it == probe_ids.end()) break;
        ObserveEntries(Via::kProbe, envelope, iface, datagram,
                       watcher->options_.sweep.probes[it->second.variant].name);
        return;
      }
      case wsd::MessageKind::kResolveMatches:
        if (!resolve_ids.contains(base::ToAbsl(RelatesTo(envelope)))) break;
        ObserveEntries(Via::kResolve, envelope, iface, datagram, "");
        return;
      default:
        break;
    }
    ++counters.unrelated;  // someone else's Probe or answers, a Fault, ...
  }

  std::string_view RelatesTo(const wsd::Envelope& envelope) {
    return envelope.relates_to.present ? envelope.relates_to.Get({field_scratch.get(), kScratchBytes}) : "";
  }

  // An announcement is reported only when the device would have answered one
  // of our Probes: every type of some variant, and every Probe scope.
  bool WouldAnswer(const wsd::Envelope& envelope, const wsd::Entry& entry) {
    const SweepOptions& sweep = watcher->options_.sweep;
    const std::span<const wsd::QName> types = envelope.types(entry);
    if (std::none_of(sweep.probes.begin(), sweep.probes.end(),
                     [&](const ProbeVariant& variant) { return wsd::TypesMatch(variant.types, types); })) {
      return false;
    }
    if (sweep.scopes.empty()) return true;
    return wsd::AllScopesMatch(sweep.scopes,
                               entry.scopes.present ? entry.scopes.Get({field_scratch.get(), kScratchBytes}) : "");
  }

  void ObserveEntries(Via via, const wsd::Envelope& envelope, Interface& iface, const io::Datagram& datagram,
                      std::string_view answered) {
    InterfaceCounters& counters = iface.counters;
    Observation observation;
    observation.via = via;
    observation.interface_name = iface.name;
    observation.peer_fingerprint = PeerFingerprint(datagram.peer);
    // A link-local source gets its zone: the interface it was heard on.
    const auto peer_text = [&] { return net::DisplayString(datagram.peer.ip(), iface.ifindex, iface.name); };
    observation.answered = answered;
    if (envelope.app_sequence.has_value()) {
      const wsd::AppSequence& sequence = *envelope.app_sequence;
      observation.app_sequence = SequencePosition{
          sequence.instance_id,
          sequence.sequence_id.present ? sequence.sequence_id.Get({sequence_scratch.get(), kScratchBytes}) : "",
          sequence.message_number};
    }
    const std::int64_t now_ms = NowMs();
    for (const wsd::Entry& entry : envelope.entries()) {
      ++counters.matches;
      if (via == Via::kHello && !WouldAnswer(envelope, entry)) {
        ++counters.filtered;  // another kind of device (a printer, a PC)
        continue;
      }
      const std::string_view endpoint = entry.endpoint.Get({key_scratch.get(), kScratchBytes});
      if (endpoint.empty()) {
        ++counters.malformed;
        continue;
      }
      observation.endpoint = endpoint;
      observation.metadata_version = entry.metadata_version;
      const DeviceTracker::Event event = tracker->Observe(observation, now_ms, [&] {
        DeviceInfo device;
        for (const wsd::QName& type : envelope.types(entry)) device.types.push_back(wsd::ClarkName(type.ns, type.local));
        const std::span<char> scratch(field_scratch.get(), kScratchBytes);
        if (entry.scopes.present) device.scopes = Items(entry.scopes.Get(scratch));
        if (entry.xaddrs.present) device.xaddrs = Items(entry.xaddrs.Get(scratch));
        device.metadata_version = entry.metadata_version;
        return device;
      }, peer_text);
      if (event.change == Change::kNone) {
        ++counters.duplicates;
      } else {
        ++(event.change == Change::kFound ? counters.new_devices : counters.updated);
        Emit(event.change, event.via, *event.device);
        if (event.change != Change::kGone && event.device->xaddrs.empty()) SendResolve(iface, endpoint);
      }
      if (via == Via::kResolve && entry.xaddrs.present) {
        const DeviceInfo* filled =
            tracker->FillXAddrs(endpoint, Items(entry.xaddrs.Get({field_scratch.get(), kScratchBytes})));
        if (filled != nullptr) {
          ++counters.resolved;
          Emit(Change::kUpdated, Via::kResolve, *filled);
        }
      }
    }
  }

  void Emit(Change change, Via via, const DeviceInfo& device) {
    if (watcher->options_.on_event) watcher->options_.on_event(change, via, device);
  }

  void Send(Interface& iface, const Interface::Socket& socket, const std::string& bytes,
            std::uint64_t& sent_counter) {
    const net::SysCallResult sent =
        sys().SendTo(socket.probe.fd.get(), bytes.data(), bytes.size(), 0,
                     reinterpret_cast<const sockaddr*>(&socket.group), socket.group_length);
    ++(sent.ok() ? sent_counter : iface.counters.send_errors);
  }

  // A Resolve on every family of the interface the device was heard on.
  void SendResolve(Interface& iface, std::string_view endpoint) {
    std::string id = wsd::NewMessageId(gen);
    auto bytes = std::make_shared<const std::string>(wsd::BuildResolve(id, endpoint));
    resolve_ids.emplace(std::move(id), NowMs());
    const auto send = [this, &iface, bytes] {
      for (const Interface::Socket& socket : iface.sockets) Send(iface, socket, *bytes, iface.counters.resolves_sent);
    };
    send();
    // SOAP-over-UDP: the same bytes once more, rand[50, 250] ms later.
    loop->AddTimer(absl::Milliseconds(absl::Uniform(gen, 50, 250)), send);
  }

  void StartRound() {
    const WatchOptions& options = watcher->options_;
    ++round;
    ++stats.rounds;
    // Answers to this round and the last are accepted; older IDs go.
    absl::erase_if(probe_ids, [this](const auto& id) { return id.second.round + 1 < round; });
    for (const auto& iface : watcher->interfaces_) {
      for (Interface::Socket& socket : iface->sockets) {
        socket.probes.clear();
        for (unsigned v = 0; v < options.sweep.probes.size(); ++v) {
          std::string id = wsd::NewMessageId(gen);
          socket.probes.push_back(wsd::BuildProbe(
              id, wsd::ProbeSpec{.types = options.sweep.probes[v].types, .scopes = options.sweep.scopes}));
          probe_ids.emplace(std::move(id), SentProbe{v, round});
        }
      }
    }
    const std::uint64_t this_round = round;
    for (const absl::Duration offset : ProbeSendOffsets(options.sweep.repeat, gen)) {
      loop->AddTimer(offset, [this, this_round] {
        if (this_round != round) return;  // a later round replaced these Probes
        for (const auto& iface : watcher->interfaces_) {
          for (const Interface::Socket& socket : iface->sockets) {
            for (const std::string& probe : socket.probes) Send(*iface, socket, probe, iface->counters.probes_sent);
          }
        }
      });
    }
    if (options.reprobe != absl::InfiniteDuration()) {
      const double jitter = std::uniform_real_distribution<double>(0.9, 1.1)(gen);
      loop->AddTimer(options.reprobe * jitter, [this] { StartRound(); });
    }
  }

  void ExpireTick(absl::Duration tick) {
    const std::int64_t now_ms = NowMs();
    if (expire_ms > 0) {
      for (const DeviceTracker::Event& event : tracker->Expire(now_ms, expire_ms)) {
        Emit(event.change, event.via, *event.device);
      }
      watcher->present_.store(tracker->present(), std::memory_order_relaxed);
    }
    absl::erase_if(resolve_ids, [now_ms](const auto& id) { return now_ms - id.second > kResolveWindowMs; });
    loop->AddTimer(tick, [this, tick] { ExpireTick(tick); });
  }
};

Watcher::Watcher(WatchOptions options) : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}
Watcher::~Watcher() = default;

absl::StatusOr<std::unique_ptr<Watcher>> Watcher::Create(WatchOptions options) {
  const SweepOptions& sweep = options.sweep;
  if (!sweep.targets.empty() || !sweep.multicast) {
    return absl::InvalidArgumentError("a watch listens and probes on interfaces; directed targets are for a sweep");
  }
  if (sweep.repeat < 1 || sweep.repeat > kMaxRepeat) {
    return absl::InvalidArgumentError(absl::StrCat("repeat must be 1..", kMaxRepeat));
  }
  if (sweep.probes.empty() || sweep.probes.size() > kMaxProbeVariants) {
    return absl::InvalidArgumentError(absl::StrCat("a watch sends 1..", kMaxProbeVariants, " Probe variants"));
  }
  if (options.reprobe <= absl::ZeroDuration() || options.expire < absl::ZeroDuration() ||
      options.duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("reprobe and duration must be positive, expire not negative");
  }
  if (sweep.families.empty() || sweep.families.size() > kMaxFamilies) {
    return absl::InvalidArgumentError("a watch needs one or both IP families");
  }
  if (sweep.rcvbuf_bytes < 0 || sweep.max_devices == 0) {
    return absl::InvalidArgumentError("rcvbuf must not be negative, max_devices positive");
  }
  net::InterfaceFilter filter = sweep.interfaces;
  filter.families = sweep.families;
  absl::StatusOr<std::vector<net::Interface>> listed = net::ListInterfaces(filter);
  if (!listed.ok()) return listed.status();

  std::unique_ptr<Watcher> watcher(new Watcher(std::move(options)));
  const WatchOptions& opts = watcher->options_;
  net::OsSysCalls& sys = opts.sweep.sys != nullptr ? *opts.sweep.sys : net::RealSysCalls();
  net::SocketOptions socket_options;
  socket_options.rcvbuf_bytes = opts.sweep.rcvbuf_bytes;
  for (const net::Interface& listed_iface : *listed) {
    auto entry = std::make_unique<Interface>();
    entry->name = listed_iface.name;
    entry->ifindex = listed_iface.ifindex;
    entry->addresses = listed_iface.AllAddresses();
    for (const net::Family family : listed_iface.MulticastFamilies(opts.sweep.families)) {
      absl::StatusOr<net::BoundSocket> probe = net::OpenProbeSocket(listed_iface, family, socket_options, sys);
      if (!probe.ok()) {
        watcher->warnings_.push_back(absl::StrCat(listed_iface.name, ": ", probe.status().message()));
        continue;
      }
      Interface::Socket& socket = entry->sockets.emplace_back();
      socket.family = family;
      socket.probe = *std::move(probe);
      absl::StatusOr<net::BoundSocket> listener = net::OpenListenerSocket(listed_iface, family, socket_options, sys);
      if (listener.ok()) {
        socket.listener = *std::move(listener);
      } else {
        watcher->warnings_.push_back(absl::StrCat(listed_iface.name, ": no ", net::FamilyName(family),
                                                  " Hello/Bye (probing only): ", listener.status().message()));
      }
      socket.group_length = net::WsdGroup(family, listed_iface.ifindex).ToSockaddr(socket.group);
    }
    if (entry->sockets.empty()) continue;
    entry->index = static_cast<unsigned>(watcher->interfaces_.size());
    watcher->interfaces_.push_back(std::move(entry));
  }
  if (watcher->interfaces_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no probe socket could be opened: ", absl::StrJoin(watcher->warnings_, "; ")));
  }

  Impl& impl = *watcher->impl_;
  impl.watcher = watcher.get();
  impl.gen.seed(opts.sweep.seed != 0 ? opts.sweep.seed : absl::Uniform<std::uint64_t>(absl::BitGen()));
  if (opts.expire == absl::InfiniteDuration() ||
      (opts.expire == absl::ZeroDuration() && opts.reprobe == absl::InfiniteDuration())) {
    impl.expire_ms = 0;
  } else {
    impl.expire_ms = std::max<std::int64_t>(
        1, absl::ToInt64Milliseconds(opts.expire == absl::ZeroDuration() ? 3 * opts.reprobe : opts.expire));
  }
  impl.tracker = std::make_unique<DeviceTracker>(opts.sweep.max_devices, [w = watcher.get()](const DeviceInfo& device) {
    std::vector<ArrivalInterface> arrived_on;
    for (const std::string& name : device.interfaces) {
      for (const auto& iface : w->interfaces_) {
        if (iface->name == name) arrived_on.push_back({iface->name, iface->addresses});
      }
    }
    return BestXAddr(device.xaddrs, arrived_on, device.addresses);
  });
  absl::StatusOr<std::unique_ptr<io::EventLoop>> loop = io::CreateEventLoop(opts.sweep.backend, impl);
  if (!loop.ok()) return loop.status();
  impl.loop = *std::move(loop);
  for (const auto& iface : watcher->interfaces_) {
    for (std::size_t i = 0; i < iface->sockets.size(); ++i) {
      const Interface::Socket& socket = iface->sockets[i];
      if (absl::Status added = impl.loop->AddSocket(socket.probe.fd.get(), ProbeTag(iface->index, i)); !added.ok()) {
        return absl::Status(added.code(), absl::StrCat(iface->name, ": ", added.message()));
      }
      if (socket.listener.has_value()) {
        if (absl::Status added =
                impl.loop->AddSocket(socket.listener->fd.get(), ProbeTag(iface->index, i) | kListenerBit);
            !added.ok()) {
          return absl::Status(added.code(), absl::StrCat(iface->name, " listener: ", added.message()));
        }
      }
    }
  }
  return watcher;
}

std::vector<std::string> Watcher::interface_names() const {
  std::vector<std::string> names;
  for (const auto& iface : interfaces_) names.push_back(iface->name);
  return names;
}

absl::StatusOr<WatchStats> Watcher::Run() {
  if (ran_) return absl::FailedPreconditionError("a Watcher runs once");
  ran_ = true;
  Impl& impl = *impl_;
  impl.start = absl::Now();
  impl.StartRound();
  const absl::Duration tick =
      impl.expire_ms > 0 ? std::min(absl::Seconds(1), absl::Milliseconds(impl.expire_ms) / 4) : absl::Seconds(1);
  impl.loop->AddTimer(tick, [&impl, tick] { impl.ExpireTick(tick); });
  const absl::Status status = options_.duration == absl::InfiniteDuration()
                                  ? impl.loop->Run()
                                  : impl.loop->RunUntil(impl.start + options_.duration);
  if (!status.ok()) return status;

  WatchStats& stats = impl.stats;
  stats.elapsed_ms = impl.NowMs();
  stats.backend = std::string(io::BackendName(impl.loop->backend()));
  stats.present = impl.tracker->present();
  stats.tracker = impl.tracker->counters();
  for (const auto& iface : interfaces_) {
    InterfaceStats entry;
    entry.name = iface->name;
    entry.address = iface->sockets.front().probe.local.ToString();
    entry.rcvbuf = iface->sockets.front().probe.rcvbuf_bytes;
    entry.counters = iface->counters;
    for (std::size_t i = 0; i < iface->sockets.size(); ++i) {
      for (const std::uint32_t tag : {ProbeTag(iface->index, i), ProbeTag(iface->index, i) | kListenerBit}) {
        if (absl::StatusOr<io::SocketCounters> c = impl.loop->RemoveSocket(tag); c.ok()) {
          entry.counters.kernel_drops += c->kernel_drops;
        }
      }
    }
    stats.interfaces.push_back(std::move(entry));
  }
  return stats;
}

void Watcher::Stop() { impl_->loop->Stop(); }

}  // namespace onvif::sweep
