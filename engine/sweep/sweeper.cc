#include "engine/sweep/sweeper.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "engine/dedup/seen_table.h"
#include "engine/net/address.h"
#include "engine/net/interfaces.h"
#include "engine/net/os_sys_calls.h"
#include "engine/net/udp_socket.h"
#include "engine/sweep/device_store.h"
#include "engine/sweep/pipeline.h"
#include "engine/sweep/targets.h"
#include "engine/sweep/xaddr_rank.h"

namespace onvif::sweep {
namespace {

void RaiseTo(std::atomic<std::int64_t>& word, std::int64_t value) {
  std::int64_t current = word.load(std::memory_order_relaxed);
  while (current < value && !word.compare_exchange_weak(current, value, std::memory_order_relaxed)) {
  }
}

// User + system time of the whole process (every worker thread), in us.
std::int64_t ProcessCpuMicros() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto us = [](const timeval& t) { return std::int64_t{t.tv_sec} * 1'000'000 + t.tv_usec; };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

// Average key bytes reserved per device: "urn:uuid:" + 36 is 45; vendors
// use longer URIs now and then.
constexpr std::size_t kKeyArenaBytesPerDevice = 96;

}  // namespace

// One swept interface: the link (or "unicast") and its sockets.
struct Sweeper::Interface {
  unsigned index = 0;  // dense; the seen-table interface bit
  std::string name;
  unsigned ifindex = 0;  // 0 for "unicast"
  std::vector<net::InterfaceAddress> addresses;  // for ranking XAddrs
  bool unicast = false;  // the directed-Probe sockets, not a link
  std::vector<Socket*> sockets;  // one per family, in `families` order
};

// One probe socket: an interface in one family, with its Probes.
struct Sweeper::Socket {
  unsigned tag = 0;  // dense; the loop tag and the pipeline's counter index
  Interface* iface = nullptr;
  net::Family family = net::Family::kIPv4;
  net::BoundSocket socket;
  std::vector<std::string> message_ids;  // per Probe variant
  std::vector<std::string> probes;       // built once; every send re-sends these bytes
  sockaddr_storage group{};              // the family's group on this link (none for unicast)
  socklen_t group_length = 0;
  std::uint64_t probes_sent = 0;
  std::uint64_t resolves_sent = 0;
  std::uint64_t send_errors = 0;
  io::SocketCounters loop_counters;
  // A listener on port 3702 (SweepOptions::listen): sends nothing; what a
  // ProbeMatch heard on it needs (a Resolve) goes out of `sender`, the probe
  // socket of its interface and family.
  Socket* sender = nullptr;
};

// Directed Probes: owned by the worker of the unicast interface (its timers
// and its pipeline are the only users), so no locking.
struct Sweeper::Unicast {
  std::string id_prefix;                 // targets.h: MessageIDs name (variant, target)
  std::vector<std::uint8_t> answered;    // per target
  std::uint64_t next_pair = 0;           // next (target, variant) first send, target-major
  struct Retry {
    absl::Time due;
    std::uint64_t pair;
  };
  std::deque<Retry> retries;
  // Pacing: sends earned at target_rate since the last tick (a token bucket
  // of at most one tick's worth, so a stalled tick does not turn into a burst).
  double tokens = 0;
  absl::Time last_tick = absl::InfinitePast();
  Interface* iface = nullptr;
  Socket* v4 = nullptr;  // the socket of each family with targets
  Socket* v6 = nullptr;
  absl::BitGen gen;
};

// What the workers share.
struct Sweeper::Shared {
  std::unique_ptr<dedup::SeenTable> seen;
  std::unique_ptr<DeviceStore> store;
  std::atomic<std::int64_t> last_new_ms{-1};
  std::atomic<std::int64_t> last_resolve_ms{-1};  // since start; -1 before the first Resolve
  std::atomic<std::uint64_t> datagrams{0};
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> start_ns{0};  // absl::ToUnixNanos of the start; 0 before Run
  std::mutex loops_mu;  // guards loops (std::mutex: see device_store.h on TSan)
  std::vector<io::EventLoop*> loops;
};

struct Sweeper::Worker final : io::DatagramHandler {
  Sweeper* sweeper = nullptr;
  std::vector<Interface*> interfaces;
  std::vector<Socket*> sockets;  // those of `interfaces`
  std::unique_ptr<ReplyPipeline> pipeline;
  std::unique_ptr<io::EventLoop> loop;
  absl::BitGen gen;  // Resolve retransmission delays
  absl::Status status;

  void OnDatagrams(io::EventLoop&, std::span<const io::Datagram> batch) override {
    for (const io::Datagram& d : batch) {
      pipeline->Process(d);
    }
    if (pipeline->has_resolve_requests()) sweeper->SendResolves(*this);
    sweeper->shared_->datagrams.fetch_add(batch.size(), std::memory_order_relaxed);
  }
};

Sweeper::Sweeper(SweepOptions options)
    : options_(std::move(options)), shared_(std::make_unique<Shared>()) {}

Sweeper::~Sweeper() = default;

absl::StatusOr<std::unique_ptr<Sweeper>> Sweeper::Create(SweepOptions options) {
  if (options.repeat < 1 || options.repeat > kMaxRepeat) {
    return absl::InvalidArgumentError(absl::StrCat("repeat must be 1..", kMaxRepeat));
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeout must be positive");
  }
  if (options.quiet < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("quiet must not be negative");
  }
  if (options.probes.empty() || options.probes.size() > kMaxProbeVariants) {
    return absl::InvalidArgumentError(
        absl::StrCat("a sweep sends 1..", kMaxProbeVariants, " Probe variants (got ", options.probes.size(), ")"));
  }
  if (options.threads < 0 || options.rcvbuf_bytes < 0 || options.max_devices == 0) {
    return absl::InvalidArgumentError("threads, rcvbuf and max_devices must not be negative");
  }
  if (!options.multicast && options.targets.empty()) {
    return absl::InvalidArgumentError("no multicast and no --target: nothing to probe");
  }
  if (options.targets.size() > kMaxTargets || options.target_rate < 1 || options.target_rate > 1'000'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxTargets, " targets, at 1..1000000 Probes per second"));
  }
  if (options.families.empty() || options.families.size() > 2 ||
      (options.families.size() == 2 && options.families[0] == options.families[1])) {
    return absl::InvalidArgumentError("families must be IPv4, IPv6 or both, each once");
  }
  for (const net::IpAddress& target : options.targets) {
    if (std::find(options.families.begin(), options.families.end(), target.family()) == options.families.end()) {
      return absl::InvalidArgumentError(absl::StrCat("target ", net::DisplayString(target), " is ",
                                                     net::FamilyName(target.family()),
                                                     ", a family this sweep leaves out (--family)"));
    }
  }
  options.interfaces.families = options.families;
  absl::StatusOr<std::vector<net::Interface>> listed =
      options.multicast ? net::ListInterfaces(options.interfaces) : std::vector<net::Interface>{};
  if (!listed.ok()) return listed.status();
  if (listed->size() + (options.targets.empty() ? 0 : 1) > dedup::kMaxInterfaces) {
    return absl::InvalidArgumentError(absl::StrCat(
        listed->size(), " interfaces selected; a sweep takes at most ", dedup::kMaxInterfaces,
        " (the seen-table's interface mask): use --iface / --exclude"));
  }

  std::unique_ptr<Sweeper> sweeper(new Sweeper(std::move(options)));
  const SweepOptions& opts = sweeper->options_;
  net::OsSysCalls& sys = opts.sys != nullptr ? *opts.sys : net::RealSysCalls();
  std::mt19937_64 gen(opts.seed != 0 ? opts.seed : absl::Uniform<std::uint64_t>(absl::BitGen()));
  sweeper->send_offsets_ = ProbeSendOffsets(opts.repeat, gen);

  net::SocketOptions socket_options;
  socket_options.rcvbuf_bytes = opts.rcvbuf_bytes;
  const auto add_socket = [&](Interface& iface, net::Family family, net::BoundSocket bound) -> Socket& {
    auto socket = std::make_unique<Socket>();
    socket->tag = static_cast<unsigned>(sweeper->sockets_.size());
    socket->iface = &iface;
    socket->family = family;
    socket->socket = std::move(bound);
    iface.sockets.push_back(socket.get());
    sweeper->sockets_.push_back(std::move(socket));
    return *sweeper->sockets_.back();
  };
  for (const net::Interface& listed_iface : *listed) {
    auto entry = std::make_unique<Interface>();
    entry->name = listed_iface.name;
    entry->ifindex = listed_iface.ifindex;
    entry->addresses = listed_iface.AllAddresses();
    for (const net::Family family : listed_iface.MulticastFamilies(opts.families)) {
      absl::StatusOr<net::BoundSocket> bound = net::OpenProbeSocket(listed_iface, family, socket_options, sys);
      if (!bound.ok()) {
        sweeper->warnings_.push_back(absl::StrCat(listed_iface.name, ": ", bound.status().message()));
        continue;
      }
      Socket& socket = add_socket(*entry, family, *std::move(bound));
      for (const ProbeVariant& variant : opts.probes) {
        socket.message_ids.push_back(wsd::NewMessageId(gen));
        socket.probes.push_back(wsd::BuildProbe(socket.message_ids.back(),
                                                wsd::ProbeSpec{.types = variant.types, .scopes = opts.scopes}));
      }
      socket.group_length = net::WsdGroup(family, listed_iface.ifindex).ToSockaddr(socket.group);
      if (!opts.listen) continue;
      absl::StatusOr<net::BoundSocket> listener = net::OpenListenerSocket(listed_iface, family, socket_options, sys);
      if (!listener.ok()) {
        sweeper->warnings_.push_back(absl::StrCat(listed_iface.name, ": no ", net::FamilyName(family),
                                                  " listener for multicast ProbeMatches: ",
                                                  listener.status().message()));
        continue;
      }
      add_socket(*entry, family, *std::move(listener)).sender = &socket;
    }
    if (entry->sockets.empty()) continue;
    entry->index = static_cast<unsigned>(sweeper->interfaces_.size());
    sweeper->interfaces_.push_back(std::move(entry));
  }
  if (!opts.targets.empty()) {
    auto entry = std::make_unique<Interface>();
    entry->index = static_cast<unsigned>(sweeper->interfaces_.size());
    entry->name = "unicast";
    entry->unicast = true;
    auto unicast = std::make_unique<Unicast>();
    for (const net::Family family : opts.families) {
      const bool wanted = std::any_of(opts.targets.begin(), opts.targets.end(),
                                      [family](const net::IpAddress& ip) { return ip.family() == family; });
      if (!wanted) continue;
      absl::StatusOr<net::BoundSocket> bound = net::OpenUnicastProbeSocket(family, socket_options, sys);
      if (!bound.ok()) return bound.status();
      Socket& socket = add_socket(*entry, family, *std::move(bound));
      (family == net::Family::kIPv4 ? unicast->v4 : unicast->v6) = &socket;
    }
    unicast->id_prefix = NewUnicastIdPrefix(gen);
    unicast->answered.assign(opts.targets.size(), 0);
    unicast->iface = entry.get();
    sweeper->unicast_ = std::move(unicast);
    sweeper->interfaces_.push_back(std::move(entry));
  }
  if (sweeper->interfaces_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no probe socket could be opened: ", absl::StrJoin(sweeper->warnings_, "; ")));
  }

  absl::StatusOr<dedup::SeenTable> seen =
      dedup::SeenTable::Create(opts.max_devices, opts.max_devices * kKeyArenaBytesPerDevice);
  if (!seen.ok()) return seen.status();
  sweeper->shared_->seen = std::make_unique<dedup::SeenTable>(*std::move(seen));
  std::vector<std::string> variant_names;
  for (const ProbeVariant& variant : opts.probes) variant_names.push_back(variant.name);
  absl::StatusOr<std::unique_ptr<DeviceStore>> store =
      DeviceStore::Create(sweeper->shared_->seen->slot_count(), opts.on_found, std::move(variant_names),
                          opts.on_resolved);
  if (!store.ok()) return store.status();
  sweeper->shared_->store = *std::move(store);
  return sweeper;
}

std::vector<std::string> Sweeper::interface_names() const {
  std::vector<std::string> names;
  for (const auto& iface : interfaces_) names.push_back(iface->name);
  return names;
}

absl::Duration Sweeper::LastSendOffset() const {
  const std::int64_t last_resolve_ms = shared_->last_resolve_ms.load(std::memory_order_relaxed);
  return std::max(send_offsets_.back(), absl::Milliseconds(last_resolve_ms));
}

void Sweeper::SendResolves(Worker& worker) {
  net::OsSysCalls& sys = options_.sys != nullptr ? *options_.sys : net::RealSysCalls();
  const absl::Time start = absl::FromUnixNanos(shared_->start_ns.load());
  for (ResolveRequest& request : worker.pipeline->TakeResolveRequests()) {
    // The socket the ProbeMatch came in on (for a listener, the probe socket
    // beside it): the same link and family.
    Socket& arrival = *sockets_[request.socket];
    Socket& socket = arrival.sender != nullptr ? *arrival.sender : arrival;
    std::string id = wsd::NewMessageId();
    auto bytes = std::make_shared<const std::string>(wsd::BuildResolve(id, request.endpoint));
    worker.pipeline->ExpectResolveMatches(std::move(id));
    // The group of the link; for the directed-Probe socket (no group), the
    // device's own port 3702 (WS-Discovery: a Resolve may be sent unicast).
    auto to = std::make_shared<sockaddr_storage>(socket.group);
    socklen_t to_length = socket.group_length;
    if (to_length == 0 && !request.peer.empty()) {
      to_length = net::SocketAddress(request.peer.ip(), net::kWsdPort).ToSockaddr(*to);
    }
    auto send = [this, &sys, &socket, bytes, start, to, to_length] {
      const net::SysCallResult sent = sys.SendTo(socket.socket.fd.get(), bytes->data(), bytes->size(), 0,
                                                 reinterpret_cast<const sockaddr*>(to.get()), to_length);
      ++(sent.ok() ? socket.resolves_sent : socket.send_errors);
      RaiseTo(shared_->last_resolve_ms, absl::ToInt64Milliseconds(absl::Now() - start));
    };
    send();
    // SOAP-over-UDP: the same bytes once more, rand[50, 250] ms later.
    worker.loop->AddTimer(absl::Milliseconds(absl::Uniform(worker.gen, 50, 250)), send);
  }
}

void Sweeper::SendTargetProbes(Worker& worker) {
  Unicast& u = *unicast_;
  net::OsSysCalls& sys = options_.sys != nullptr ? *options_.sys : net::RealSysCalls();
  const absl::Time start = absl::FromUnixNanos(shared_->start_ns.load());
  const std::uint64_t variants = options_.probes.size();
  const std::uint64_t pairs = options_.targets.size() * variants;
  constexpr absl::Duration kTick = absl::Milliseconds(10);
  const absl::Time now = absl::Now();
  const double per_tick = options_.target_rate * absl::ToDoubleSeconds(kTick);
  u.tokens = u.last_tick == absl::InfinitePast()
                 ? 1.0  // the first Probe goes out at once
                 : std::min(u.tokens + options_.target_rate * absl::ToDoubleSeconds(now - u.last_tick),
                            std::max(1.0, per_tick));
  u.last_tick = now;
  const auto budget = static_cast<std::uint64_t>(u.tokens);
  const auto send = [&](std::uint64_t pair) {
    const std::uint64_t target = pair / variants;
    const auto variant = static_cast<unsigned>(pair % variants);
    const std::string probe =
        wsd::BuildProbe(UnicastMessageId(u.id_prefix, variant, target),
                        wsd::ProbeSpec{.types = options_.probes[variant].types, .scopes = options_.scopes});
    const net::IpAddress& ip = options_.targets[target];
    // Create opened a socket for every family among the targets.
    Socket& socket = *(ip.family() == net::Family::kIPv4 ? u.v4 : u.v6);
    sockaddr_storage to;
    const socklen_t to_length = net::SocketAddress(ip, net::kWsdPort).ToSockaddr(to);
    const net::SysCallResult sent = sys.SendTo(socket.socket.fd.get(), probe.data(), probe.size(), 0,
                                               reinterpret_cast<const sockaddr*>(&to), to_length);
    ++(sent.ok() ? socket.probes_sent : socket.send_errors);
  };
  std::uint64_t sent = 0;
  // Retransmissions that are due first (skipped once the target answered),
  // then first sends.
  while (sent < budget && !u.retries.empty() && u.retries.front().due <= now) {
    const std::uint64_t pair = u.retries.front().pair;
    u.retries.pop_front();
    if (u.answered[pair / variants] != 0) continue;
    send(pair);
    ++sent;
  }
  while (sent < budget && u.next_pair < pairs) {
    send(u.next_pair);
    u.retries.push_back({now + absl::Milliseconds(absl::Uniform(u.gen, 50, 250)), u.next_pair});
    ++u.next_pair;
    ++sent;
  }
  u.tokens -= static_cast<double>(sent);
  if (sent > 0) RaiseTo(shared_->last_resolve_ms, absl::ToInt64Milliseconds(absl::Now() - start));
  if (u.next_pair < pairs || !u.retries.empty()) {
    worker.loop->AddTimer(now + kTick, [this, &worker] { SendTargetProbes(worker); });
  }
}

void Sweeper::ArmEndTimer(Worker& worker) {
  Shared& shared = *shared_;
  const absl::Time start = absl::FromUnixNanos(shared.start_ns.load());
  const std::int64_t last_new_ms = shared.last_new_ms.load(std::memory_order_relaxed);
  const EndPolicy policy{.quiet = options_.quiet, .timeout = options_.timeout};
  const absl::Time end =
      start + EndOffset(policy, LastSendOffset(),
                        last_new_ms < 0 ? std::nullopt
                                        : std::optional<absl::Duration>(absl::Milliseconds(last_new_ms)));
  worker.loop->AddTimer(end, [this, &worker, end] {
    // A new endpoint since the timer was armed moves the end later.
    const std::int64_t now_last_new = shared_->last_new_ms.load(std::memory_order_relaxed);
    const absl::Time start = absl::FromUnixNanos(shared_->start_ns.load());
    const EndPolicy policy{.quiet = options_.quiet, .timeout = options_.timeout};
    const absl::Time new_end =
        start + EndOffset(policy, LastSendOffset(),
                          now_last_new < 0
                              ? std::nullopt
                              : std::optional<absl::Duration>(absl::Milliseconds(now_last_new)));
    if (new_end <= end) {
      // The first worker to decide ends every loop at once, so no worker
      // keeps (or misses) replies another has stopped reading.
      Stop();
    } else {
      ArmEndTimer(worker);
    }
  });
}

absl::StatusOr<SweepResult> Sweeper::Run() {
  if (ran_) return absl::FailedPreconditionError("a Sweeper runs once");
  ran_ = true;
  Shared& shared = *shared_;
  const std::size_t interface_count = interfaces_.size();
  std::size_t threads = options_.threads > 0
                            ? static_cast<std::size_t>(options_.threads)
                            : std::max<std::size_t>(1, std::thread::hardware_concurrency());
  threads = std::min(threads, interface_count);

  std::vector<SentProbe> probes;
  std::vector<std::string> names;
  std::vector<unsigned> ifindexes;
  std::vector<unsigned> socket_interfaces;
  for (const auto& iface : interfaces_) {
    names.push_back(iface->name);
    ifindexes.push_back(iface->ifindex);
  }
  for (const auto& socket : sockets_) {
    for (unsigned v = 0; v < socket->message_ids.size(); ++v) probes.push_back({socket->message_ids[v], v});
    socket_interfaces.push_back(socket->iface->index);
  }
  const absl::Time start = absl::Now();
  shared.start_ns.store(absl::ToUnixNanos(start));
  const std::int64_t cpu_start_us = ProcessCpuMicros();
  for (std::size_t w = 0; w < threads; ++w) {
    auto worker = std::make_unique<Worker>();
    worker->sweeper = this;
    PipelineOptions pipeline_options;
    pipeline_options.probes = probes;
    pipeline_options.interface_names = names;
    pipeline_options.socket_interfaces = socket_interfaces;
    pipeline_options.interface_ifindexes = ifindexes;
    for (const auto& iface : interfaces_) pipeline_options.arrival_interfaces.push_back({iface->name, iface->addresses});
    if (unicast_ != nullptr) {
      pipeline_options.unicast_id_prefix = unicast_->id_prefix;
      pipeline_options.variant_count = static_cast<unsigned>(options_.probes.size());
      pipeline_options.unicast_interface = unicast_->iface->index;
      pipeline_options.unicast_answered = &unicast_->answered;
    }
    if (options_.filter_replies) {
      pipeline_options.filter = true;
      for (const ProbeVariant& variant : options_.probes) {
        pipeline_options.filter_types_by_variant.push_back(variant.types);
      }
      pipeline_options.filter_scopes = options_.scopes;
    }
    pipeline_options.start = start;
    pipeline_options.last_new_ms = &shared.last_new_ms;
    worker->pipeline =
        std::make_unique<ReplyPipeline>(*shared.seen, *shared.store, std::move(pipeline_options));
    absl::StatusOr<std::unique_ptr<io::EventLoop>> loop =
        io::CreateEventLoop(options_.backend, *worker);
    if (!loop.ok()) return loop.status();
    worker->loop = *std::move(loop);
    for (std::size_t i = w; i < interface_count; i += threads) {
      Interface& iface = *interfaces_[i];
      for (Socket* socket : iface.sockets) {
        if (absl::Status added = worker->loop->AddSocket(socket->socket.fd.get(), socket->tag); !added.ok()) {
          return absl::Status(added.code(), absl::StrCat(iface.name, " (", net::FamilyName(socket->family),
                                                         "): ", added.message()));
        }
        worker->sockets.push_back(socket);
      }
      worker->interfaces.push_back(&iface);
    }
    // The schedule (SOAP-over-UDP Appendix I): the same bytes at each offset.
    for (const absl::Duration offset : send_offsets_) {
      net::OsSysCalls& sys = options_.sys != nullptr ? *options_.sys : net::RealSysCalls();
      worker->loop->AddTimer(start + offset, [worker = worker.get(), &sys] {
        for (Socket* socket : worker->sockets) {
          for (const std::string& probe : socket->probes) {
            const net::SysCallResult sent =
                sys.SendTo(socket->socket.fd.get(), probe.data(), probe.size(), 0,
                           reinterpret_cast<const sockaddr*>(&socket->group), socket->group_length);
            ++(sent.ok() ? socket->probes_sent : socket->send_errors);
          }
        }
      });
    }
    if (unicast_ != nullptr &&
        std::find(worker->interfaces.begin(), worker->interfaces.end(), unicast_->iface) != worker->interfaces.end()) {
      worker->loop->AddTimer(start, [this, worker = worker.get()] { SendTargetProbes(*worker); });
    }
    ArmEndTimer(*worker);
    workers_.push_back(std::move(worker));
  }
  {
    std::lock_guard<std::mutex> lock(shared.loops_mu);
    for (const auto& worker : workers_) shared.loops.push_back(worker->loop.get());
  }
  if (shared.stop.load()) {
    for (const auto& worker : workers_) worker->loop->Stop();
  }

  const absl::Time hard_end = start + options_.timeout;
  std::vector<std::thread> threads_running;
  for (std::size_t w = 1; w < workers_.size(); ++w) {
    Worker* worker = workers_[w].get();
    threads_running.emplace_back([worker, hard_end] { worker->status = worker->loop->RunUntil(hard_end); });
  }
  workers_[0]->status = workers_[0]->loop->RunUntil(hard_end);
  for (std::thread& thread : threads_running) thread.join();
  const absl::Time finished = absl::Now();
  {
    std::lock_guard<std::mutex> lock(shared.loops_mu);
    shared.loops.clear();
  }

  SweepResult result;
  result.stats.elapsed_ms = absl::ToInt64Milliseconds(finished - start);
  std::vector<InterfaceCounters> counters(sockets_.size());
  for (const auto& worker : workers_) {
    if (!worker->status.ok()) return worker->status;
    for (std::size_t i = 0; i < sockets_.size(); ++i) counters[i] += worker->pipeline->counters()[i];
    for (Socket* socket : worker->sockets) {
      absl::StatusOr<io::SocketCounters> loop_counters = worker->loop->RemoveSocket(socket->tag);
      if (loop_counters.ok()) socket->loop_counters = *loop_counters;
    }
  }
  for (const auto& iface : interfaces_) {
    InterfaceStats stats;
    stats.name = iface->name;
    std::vector<const Socket*> entry_of;  // the probe socket of each stats.sockets entry
    for (const Socket* socket : iface->sockets) {
      InterfaceCounters socket_counters = counters[socket->tag];
      socket_counters.probes_sent = socket->probes_sent;
      socket_counters.resolves_sent = socket->resolves_sent;
      socket_counters.send_errors = socket->send_errors;
      socket_counters.kernel_drops = socket->loop_counters.kernel_drops;
      stats.counters += socket_counters;
      if (socket->sender != nullptr) {
        // A listener: its figures join those of its probe socket.
        const auto at = std::find(entry_of.begin(), entry_of.end(), socket->sender);
        if (at == entry_of.end()) continue;
        SocketStats& entry = stats.sockets[static_cast<std::size_t>(at - entry_of.begin())];
        entry.counters += socket_counters;
        entry.listener = net::DisplayString(socket->socket.local);
        continue;
      }
      SocketStats socket_stats;
      socket_stats.family = socket->family;
      socket_stats.address = net::DisplayString(socket->socket.local);
      socket_stats.rcvbuf = socket->socket.rcvbuf_bytes;
      socket_stats.counters = socket_counters;
      if (stats.sockets.empty()) {
        stats.address = socket_stats.address;
        stats.rcvbuf = socket_stats.rcvbuf;
      }
      stats.rcvbuf = std::min(stats.rcvbuf, socket_stats.rcvbuf);
      stats.sockets.push_back(std::move(socket_stats));
      entry_of.push_back(socket);
    }
    result.stats.interfaces.push_back(std::move(stats));
  }
  result.device_count = shared.store->described();
  if (!options_.collect_devices) {
    result.stats.unresolved = static_cast<std::int64_t>(shared.store->CountWithoutXAddrs());
  } else {
    // Every interface an endpoint answered on, as the seen-table merged
    // them, and the XAddr to use given those interfaces. Devices share a few
    // interface masks: build each one's names and interfaces once.
    struct MaskInfo {
      std::vector<std::string> names;
      std::vector<ArrivalInterface> arrived_on;
    };
    absl::flat_hash_map<std::uint64_t, MaskInfo> by_mask;
    const std::vector<ArrivalInterface> none;
    std::vector<std::pair<std::uint32_t, DeviceInfo>> described = shared.store->Snapshot();
    result.devices.reserve(described.size());
    for (auto& [slot, device] : described) {
      const std::vector<ArrivalInterface>* arrived_on = &none;
      if (std::optional<dedup::EntryView> entry = shared.seen->At(slot); entry.has_value()) {
        auto [it, inserted] = by_mask.try_emplace(entry->interface_mask);
        if (inserted) {
          for (const auto& iface : interfaces_) {
            if (entry->interface_mask & (std::uint64_t{1} << iface->index)) {
              it->second.names.push_back(iface->name);
              it->second.arrived_on.push_back({iface->name, iface->addresses});
            }
          }
        }
        device.interfaces = it->second.names;
        arrived_on = &it->second.arrived_on;
      }
      device.best_xaddr = BestXAddr(device.xaddrs, *arrived_on, device.addresses);
      if (device.xaddrs.empty()) ++result.stats.unresolved;
      result.devices.push_back(std::move(device));
    }
  }
  result.stats.backend = std::string(io::BackendName(workers_[0]->loop->backend()));
  result.stats.cpu_us = ProcessCpuMicros() - cpu_start_us;
  return result;
}

void Sweeper::Stop() {
  Shared& shared = *shared_;
  shared.stop.store(true);
  std::lock_guard<std::mutex> lock(shared.loops_mu);
  for (io::EventLoop* loop : shared.loops) loop->Stop();
}

Progress Sweeper::GetProgress() const {
  const Shared& shared = *shared_;
  Progress progress;
  progress.devices = shared.store->described();
  progress.datagrams = shared.datagrams.load(std::memory_order_relaxed);
  const std::int64_t start_ns = shared.start_ns.load();
  progress.elapsed = start_ns == 0 ? absl::ZeroDuration() : absl::Now() - absl::FromUnixNanos(start_ns);
  return progress;
}

}  // namespace onvif::sweep
