#include "engine/swarm/swarm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/strings.h"
#include "engine/io/event_loop.h"
#include "engine/net/udp_socket.h"
#include "engine/swarm/churn.h"
#include "engine/swarm/identity.h"
#include "engine/swarm/reply.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/constants.h"
#include "engine/wsd/matching.h"
#include "engine/wsd/scanner.h"

namespace onvif::swarm {
namespace {

// Replies per sendmmsg call. UIO_MAXIOV (1024) caps vlen; 256 x kReplyIovecs
// iovecs keeps the scratch small and one call ~100 us.
constexpr std::size_t kSendBatch = 256;
// Probes answered concurrently (spec mode keeps a job for max_delay).
constexpr std::size_t kMaxJobs = 16;
// Hellos per millisecond per interface at start (WS-Discovery 2005/04
// section 4.1 asks for a random delay; a steady trickle keeps 100,000
// cameras from flooding the segment at once).
constexpr std::size_t kHelloBatch = 256;
constexpr absl::Duration kStopPollInterval = absl::Milliseconds(20);
// Back-off when the send buffer is full (EAGAIN / ENOBUFS).
constexpr absl::Duration kSendRetry = absl::Milliseconds(1);
constexpr int kSndbufBytes = 4 << 20;
constexpr std::size_t kControlBytes = std::max(CMSG_SPACE(sizeof(in_pktinfo)), CMSG_SPACE(sizeof(in6_pktinfo)));
// Churn timer: at least every kChurnTickMax (a low rate still keeps time),
// at most every kChurnTickMin (a high rate applies several events a tick).
constexpr absl::Duration kChurnTickMin = absl::Milliseconds(1);
constexpr absl::Duration kChurnTickMax = absl::Milliseconds(100);

// Fills one sendmmsg entry. IP_PKTINFO / IPV6_PKTINFO makes it leave
// through `ifindex` (the interface the Probe came in on, or the one a
// multicast announcement is for); IPv4 from `source_v4` (ipi_spec_dst; it
// must be an address of this host), IPv6 from the address the kernel picks
// on that interface for the destination (RFC 6724: the link-local one for a
// link-local prober or FF02::C, the ULA / global one for such a prober).
void PrepareMessage(msghdr& msg, void* destination, socklen_t destination_length, iovec* iov,
                    std::size_t iov_count, char* control, net::Family family, std::uint32_t ifindex,
                    in_addr source_v4) {
  msg = msghdr{};
  msg.msg_name = destination;
  msg.msg_namelen = destination_length;
  msg.msg_iov = iov;
  msg.msg_iovlen = iov_count;
  msg.msg_control = control;
  const bool v6 = family == net::Family::kIPv6;
  msg.msg_controllen = v6 ? CMSG_SPACE(sizeof(in6_pktinfo)) : CMSG_SPACE(sizeof(in_pktinfo));
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (v6) {
    cmsg->cmsg_level = IPPROTO_IPV6;
    cmsg->cmsg_type = IPV6_PKTINFO;
    cmsg->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo info{};
    info.ipi6_ifindex = ifindex;
    info.ipi6_addr = in6addr_any;
    std::memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
    return;
  }
  cmsg->cmsg_level = IPPROTO_IP;
  cmsg->cmsg_type = IP_PKTINFO;
  cmsg->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  in_pktinfo info{};
  info.ipi_ifindex = static_cast<int>(ifindex);
  info.ipi_spec_dst = source_v4;
  std::memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
}

std::int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The discovery group of `family` on interface `ifindex`, port 3702
// (announcements, multicast-reply).
socklen_t Group(net::Family family, std::uint32_t ifindex, sockaddr_storage& out) {
  return net::WsdGroup(family, ifindex).ToSockaddr(out);
}

std::string Ipv4ToString(in_addr address) {
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &address, text, sizeof(text));
  return text;
}

bool IsMulticast(const net::SocketAddress& address) {
  if (address.empty()) return false;
  if (address.family() == net::Family::kIPv6) return address.ip().v6().s6_addr[0] == 0xff;
  return (ntohl(address.ip().v4().s_addr) >> 28) == 0xe;
}

// What a camera on `iface` puts in its XAddr for `family`: the IPv4 primary
// address; for IPv6 the first global or ULA address, else the link-local one
// without its zone (a zone means something only on the receiving host, which
// adds its own), in brackets (RFC 3986 IP-literal).
std::string HostPort(const net::Interface& iface, net::Family family, std::uint16_t port) {
  if (family == net::Family::kIPv4) return absl::StrCat(iface.PrimaryAddress(family)->address.ToString(), ":", port);
  const net::InterfaceAddress* pick = &iface.ipv6.front();
  for (const net::InterfaceAddress& a : iface.ipv6) {
    if (!a.address.IsLinkLocal()) {
      pick = &a;
      break;
    }
  }
  return absl::StrCat("[", net::IpAddress::V6(pick->address.v6()).ToString(), "]:", port);
}

// Source key for the rate limiter: the address without the port (a prober
// may use a new port per sweep; the budget is per host).
std::uint64_t SourceKey(const net::SocketAddress& peer) {
  const net::IpAddress ip = peer.ip();
  if (ip.family() == net::Family::kIPv4) return ip.v4().s_addr;
  std::uint64_t a;
  std::uint64_t b;
  std::memcpy(&a, ip.v6().s6_addr, 8);
  std::memcpy(&b, ip.v6().s6_addr + 8, 8);
  return Mix64(a) ^ b;
}

class SwarmImpl final : public Swarm, public io::DatagramHandler {
 public:
  explicit SwarmImpl(const SwarmOptions& options)
      : options_(options),
        rng_(static_cast<std::uint64_t>(MonotonicNs()) ^ (static_cast<std::uint64_t>(getpid()) << 32)),
        rate_limiter_(options.rate_limit),
        history_(absl::ToInt64Nanoseconds(options.duplicate_window)),
        camera_rate_limiter_(options.rate_limit, options.addresses ? options.cameras : 0),
        churn_(options.seed, std::max<std::uint32_t>(options.cameras, 1)) {}

  ~SwarmImpl() override {
    if (loop_) {
      for (std::size_t i = 0; i < listeners_.size(); ++i)
        (void)loop_->RemoveSocket(static_cast<std::uint32_t>(i));
    }
  }

  absl::Status Init();
  absl::Status Run() override;
  void RequestStop() override { stop_requested_.store(true, std::memory_order_relaxed); }
  SwarmCounters counters() const override { return counters_; }
  std::vector<std::string> interface_names() const override { return interface_names_; }

  void OnDatagrams(io::EventLoop& loop, std::span<const io::Datagram> batch) override;

 private:
  struct Listener {
    net::BoundSocket socket;
    std::string name;
    net::Family family = net::Family::kIPv4;
    unsigned ifindex = 0;
    in_addr address{};      // IPv4: the interface's primary address
    std::string host_port;  // "10.77.0.2:80" or "[fd77::2]:80" for XAddrs (HostPort)
  };
  // One Probe being answered.
  struct Job {
    bool active = false;
    std::uint32_t listener = 0;
    sockaddr_storage peer{};
    socklen_t peer_length = 0;
    std::string relates_to;  // the Probe's MessageID, XML-escaped
    std::vector<std::uint32_t> cameras;
    std::vector<std::uint32_t> due_ms;
    std::size_t count = 0;
    std::size_t next = 0;
    std::int64_t start_ns = 0;
  };
  enum class Send { kDone, kRetry };
  enum class Announcement { kHello, kBye };

  void HandleProbe(const io::Datagram& datagram, const wsd::Envelope& env, std::int64_t now_ns);
  void RunJob(std::size_t job_index);
  // A directed Probe to camera `camera`'s own address: its reply, now.
  void AnswerDirected(const io::Datagram& datagram, std::string_view message_id, std::uint32_t camera);
  // Sends up to `count` replies of the job starting at job.next.
  Send SendReplies(Job& job, std::size_t end);
  // Multicasts `kind` for cameras camera_at(0..count) on every listener
  // (each interface, each family), each with the camera's current
  // AppSequence (the caller has advanced it).
  template <typename CameraAt>
  void SendAnnouncements(Announcement kind, std::size_t count, const CameraAt& camera_at);
  void SendFault(const io::Datagram& datagram, std::string_view relates_to);
  // A Resolve naming one of our cameras gets its ResolveMatches, unicast to
  // the resolver (section 6.3); others are not ours to answer.
  void HandleResolve(const io::Datagram& datagram, const wsd::Envelope& env);
  void PollStop();
  void HelloTick(std::size_t first);
  void StartChurn();
  void ChurnTick();
  void ApplyChurn(const ChurnEvent& event);
  // Renders camera's ProbeMatches again after its InstanceId or
  // MetadataVersion changed.
  void Rerender(std::uint32_t camera);
  // Where a ProbeMatches for `datagram` goes: its source, or the group with
  // the multicast-reply quirk.
  socklen_t ReplyDestination(const io::Datagram& datagram, sockaddr_storage& out) const {
    const Listener& listener = listeners_[datagram.socket_tag];
    return options_.quirks.multicast_reply ? Group(listener.family, listener.ifindex, out)
                                           : datagram.peer.ToSockaddr(out);
  }
  wsd::AppSequenceSpec Sequence(std::uint32_t camera, std::uint64_t message_number) const {
    return wsd::AppSequenceSpec{.instance_id = instance_ids_[camera], .message_number = message_number};
  }

  // --addresses is IPv4: over IPv6 every camera has the interface's address.
  in_addr CameraAddress(std::uint32_t camera, const Listener& listener) const {
    return options_.addresses && listener.family == net::Family::kIPv4 ? options_.addresses->Host(camera)
                                                                       : listener.address;
  }
  std::string_view CameraHostPort(std::uint32_t camera, const Listener& listener) const {
    if (!options_.addresses || listener.family != net::Family::kIPv4) return listener.host_port;
    return std::string_view(host_ports_)
        .substr(host_port_offsets_[camera], host_port_offsets_[camera + 1] - host_port_offsets_[camera]);
  }

  // soap11 / prefixes: rewrites the builder's s:, a:, d: envelope.
  void Restyle(std::string& bytes) const {
    const auto replace_all = [&bytes](std::string_view from, std::string_view to) {
      for (std::size_t at = bytes.find(from); at != std::string::npos; at = bytes.find(from, at + to.size())) {
        bytes.replace(at, from.size(), to);
      }
    };
    if (options_.quirks.soap11) replace_all(wsd::kNsSoap12, wsd::kNsSoap11);
    if (options_.quirks.prefixes) {
      replace_all("<s:", "<SOAP-ENV:");
      replace_all("</s:", "</SOAP-ENV:");
      replace_all("xmlns:s=", "xmlns:SOAP-ENV=");
      replace_all("<a:", "<wsa:");
      replace_all("</a:", "</wsa:");
      replace_all("xmlns:a=", "xmlns:wsa=");
      // The discovery namespace becomes the default one (declared on the
      // Envelope, so it also covers the AppSequence header).
      replace_all("<d:", "<");
      replace_all("</d:", "</");
      replace_all("xmlns:d=", "xmlns=");
    }
  }

  // What camera `camera` says about itself in ProbeMatches and Hello, its
  // XAddr on host_port (none with the no-xaddrs quirk).
  wsd::DeviceDescription CameraDescription(std::uint32_t camera, std::string_view host_port) const {
    wsd::DeviceDescription d = ResolvedDescription(camera, host_port);
    if (options_.quirks.no_xaddrs) d.xaddrs.clear();
    return d;
  }
  // What it says in a ResolveMatch: always its XAddrs.
  wsd::DeviceDescription ResolvedDescription(std::uint32_t camera, std::string_view host_port) const {
    wsd::DeviceDescription d = Describe(cameras_[camera], host_port, options_.types);
    d.metadata_version = metadata_versions_[camera];
    if (options_.quirks.oversize) {
      // 52 more scopes of ~150 bytes: a ProbeMatches of ~9 KB whose Scopes
      // stay under the 8 KiB a single field may have.
      for (int k = 0; k < 52; ++k) {
        d.scopes.push_back(absl::StrCat("onvif://www.onvif.org/extension/", camera, "/", k, "/",
                                        std::string(110, static_cast<char>('a' + k % 26))));
      }
    }
    if (options_.quirks.multi_xaddr) {
      d.xaddrs.insert(d.xaddrs.begin(),
                      {absl::StrCat("http://169.254.", (camera >> 8) & 0xFF, ".", camera & 0xFF, base::ToAbsl(kDeviceServicePath)),
                       absl::StrCat("https://cam-", camera, ".local", base::ToAbsl(kDeviceServicePath))});
    }
    return d;
  }

  // The camera's next AppSequence MessageNumber, as decimal text in send
  // slot k's buffer (valid until the slot is reused).
  std::string_view NextMessageNumber(std::uint32_t camera, std::size_t k) {
    std::array<char, 20>& text = numbers_[k];
    const auto end = std::to_chars(text.data(), text.data() + text.size(), ++message_numbers_[camera]).ptr;
    return {text.data(), static_cast<std::size_t>(end - text.data())};
  }

  SwarmOptions options_;
  std::vector<Listener> listeners_;  // per interface, per family it has
  std::vector<std::string> interface_names_;
  std::vector<CameraIdentity> cameras_;
  std::vector<std::string_view> scopes_;      // every camera's scopes, flattened
  std::vector<std::uint32_t> scope_offsets_;  // camera i: scopes_[off[i], off[i+1])
  std::string host_ports_;                    // --addresses: "a.b.c.d:port" per camera
  std::vector<std::uint32_t> host_port_offsets_;
  std::vector<wsd::QName> types_;  // what every camera is
  absl::flat_hash_map<std::string, std::uint32_t> camera_of_endpoint_;  // for Resolve
  ReplyStore replies_;
  std::uint64_t base_instance_id_ = 0;  // every camera's InstanceId at start
  // Per camera: present (not left under churn), InstanceId, MetadataVersion.
  std::vector<std::uint8_t> present_;
  std::vector<std::uint64_t> instance_ids_;
  std::vector<std::uint64_t> metadata_versions_;

  std::unique_ptr<io::EventLoop> loop_;
  wsd::Scanner scanner_;
  FastRng rng_;
  RateLimiter rate_limiter_;
  ProbeHistory history_;
  IndexedRateLimiter camera_rate_limiter_;
  ChurnPlanner churn_;
  std::int64_t run_start_ns_ = 0;
  std::int64_t churn_start_ns_ = 0;
  std::uint64_t churn_done_ = 0;
  absl::Duration churn_tick_ = kChurnTickMax;
  std::string directed_relates_to_;
  std::array<Job, kMaxJobs> jobs_;
  std::vector<std::uint32_t> scratch_cameras_;
  std::vector<std::uint32_t> scratch_due_;
  std::vector<std::uint32_t> counts_;
  std::string decode_message_id_;
  std::string decode_scopes_;
  std::string decode_match_by_;

  // sendmmsg scratch, reused by every batch.
  std::array<mmsghdr, kSendBatch> messages_{};
  std::array<std::array<iovec, kReplyIovecs>, kSendBatch> iovecs_{};
  std::array<std::array<char, 20>, kSendBatch> numbers_{};  // MessageNumber text per send slot
  std::array<std::size_t, kSendBatch> positions_{};         // send slot -> position in the job
  std::vector<std::uint64_t> message_numbers_;              // per camera: the last one sent
  std::array<std::array<char, wsd::kMessageIdSize>, kSendBatch> ids_{};
  alignas(cmsghdr) std::array<std::array<char, kControlBytes>, kSendBatch> controls_{};
  std::vector<std::string> announce_bytes_;

  std::atomic<bool> stop_requested_{false};
  SwarmCounters counters_;
};

absl::Status SwarmImpl::Init() {
  if (options_.cameras < 1 || options_.cameras > kMaxCameras) {
    return absl::InvalidArgumentError("cameras must be 1.." + std::to_string(kMaxCameras));
  }
  if (options_.addresses && options_.addresses->HostCount() < options_.cameras) {
    return absl::InvalidArgumentError("the address range has fewer host addresses than cameras");
  }
  if (options_.families.empty()) return absl::InvalidArgumentError("no address family to serve");
  net::InterfaceFilter filter = options_.interfaces;
  filter.families = options_.families;
  absl::StatusOr<std::vector<net::Interface>> interfaces = net::ListInterfaces(filter);
  if (!interfaces.ok()) return interfaces.status();
  bool any_v4 = false;
  for (const net::Interface& iface : *interfaces) {
    const std::vector<net::Family> families = iface.MulticastFamilies(options_.families);
    any_v4 = any_v4 || std::find(families.begin(), families.end(), net::Family::kIPv4) != families.end();
  }
  if (options_.addresses && !any_v4) {
    return absl::InvalidArgumentError("--addresses gives IPv4 addresses, and no chosen interface serves IPv4");
  }

  // With --addresses, every camera address must be on every chosen interface
  // that serves IPv4: ipi_spec_dst only takes a local address, and a missing
  // one would be a silent EINVAL per reply.
  if (options_.addresses) {
    for (const net::Interface& iface : *interfaces) {
      if (iface.ipv4.empty()) continue;
      absl::flat_hash_set<std::uint32_t> have;
      for (const net::InterfaceAddress& a : iface.ipv4) have.insert(a.address.v4().s_addr);
      for (std::uint32_t i = 0; i < options_.cameras; ++i) {
        const in_addr want = options_.addresses->Host(i);
        if (!have.contains(want.s_addr)) {
          return absl::FailedPreconditionError("address " + Ipv4ToString(want) + " (camera " +
                                               std::to_string(i) + ") is not assigned to " + iface.name +
                                               "; --addresses needs every camera address on each chosen "
                                               "interface (add them with `ip addr add`)");
        }
      }
    }
  }

  absl::StatusOr<std::unique_ptr<io::EventLoop>> loop = io::CreateEventLoop(io::Backend::kAuto, *this);
  if (!loop.ok()) return loop.status();
  loop_ = std::move(*loop);

  for (const net::Interface& iface : *interfaces) {
    interface_names_.push_back(iface.name);
    // A listener per family the interface has an address of (and, for IPv6,
    // multicast: not lo).
    for (const net::Family family : iface.MulticastFamilies(options_.families)) {
      absl::StatusOr<net::BoundSocket> socket = net::OpenListenerSocket(iface, family);
      if (!socket.ok()) return socket.status();
      Listener listener;
      listener.name = iface.name;
      listener.family = family;
      listener.ifindex = iface.ifindex;
      if (family == net::Family::kIPv4) listener.address = iface.PrimaryAddress(family)->address.v4();
      listener.host_port = HostPort(iface, family, options_.http_port);
      listener.socket = std::move(*socket);
      // A storm of 100,000 replies leaves faster with a deep send queue; the
      // force variant passes wmem_max as root, the plain one is the fallback.
      const int sndbuf = kSndbufBytes;
      if (setsockopt(listener.socket.fd.get(), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) != 0) {
        (void)setsockopt(listener.socket.fd.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
      }
      listeners_.push_back(std::move(listener));
    }
  }
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    if (absl::Status s = loop_->AddSocket(listeners_[i].socket.fd.get(), static_cast<std::uint32_t>(i));
        !s.ok()) {
      return s;
    }
  }

  // Identities and pre-rendered replies.
  types_.clear();
  for (const wsd::QNameSpec& type : options_.types) types_.push_back(wsd::QName{"", type.ns, type.local});
  // WS-Discovery 2005/04 section 7: InstanceId grows with each restart;
  // the start time in seconds does, unless a test says otherwise.
  base_instance_id_ = options_.instance_id.value_or(static_cast<std::uint64_t>(absl::ToUnixSeconds(absl::Now())));
  instance_ids_.assign(options_.cameras, base_instance_id_);
  metadata_versions_.assign(options_.cameras, 1);
  present_.assign(options_.cameras, 1);
  message_numbers_.assign(options_.cameras, 1);  // Hello is 1
  cameras_.reserve(options_.cameras);
  camera_of_endpoint_.reserve(options_.cameras);
  scope_offsets_.reserve(options_.cameras + 1);
  scope_offsets_.push_back(0);
  for (std::uint32_t i = 0; i < options_.cameras; ++i) {
    cameras_.push_back(MakeIdentity(options_.seed, i));
    if (options_.quirks.duplicate_epr && i % 2 == 1) cameras_.back().endpoint = cameras_[i - 1].endpoint;
    camera_of_endpoint_.emplace(cameras_.back().endpoint, i);
    // MessageNumber 2 is a placeholder: each reply gets its own (NextMessageNumber).
    if (options_.quirks.soap11 || options_.quirks.prefixes) {
      replies_.Add(CameraDescription(i, kHostMarker), Sequence(i, 2), [this](std::string& bytes) { Restyle(bytes); });
    } else {
      replies_.Add(CameraDescription(i, kHostMarker), Sequence(i, 2));
    }
    // Every reply is about as long as the first (names and models differ by a
    // few bytes): one reservation instead of log2(N) regrowths of ~100 MB.
    if (i == 0) replies_.Reserve(options_.cameras, replies_.arena_bytes() + 64);
  }
  for (const CameraIdentity& camera : cameras_) {
    for (const std::string& scope : camera.scopes) scopes_.push_back(scope);
    scope_offsets_.push_back(static_cast<std::uint32_t>(scopes_.size()));
  }
  if (options_.addresses) {
    host_port_offsets_.reserve(options_.cameras + 1);
    for (std::uint32_t i = 0; i < options_.cameras; ++i) {
      host_port_offsets_.push_back(static_cast<std::uint32_t>(host_ports_.size()));
      host_ports_ += Ipv4ToString(options_.addresses->Host(i)) + ":" + std::to_string(options_.http_port);
    }
    host_port_offsets_.push_back(static_cast<std::uint32_t>(host_ports_.size()));
  }

  const std::uint32_t max_delay_ms =
      static_cast<std::uint32_t>(absl::ToInt64Milliseconds(options_.max_delay));
  for (Job& job : jobs_) {
    job.cameras.resize(options_.cameras);
    job.due_ms.resize(options_.cameras);
    job.relates_to.reserve(256);
  }
  scratch_cameras_.resize(options_.cameras);
  scratch_due_.resize(options_.cameras);
  counts_.resize(max_delay_ms + 2);
  decode_message_id_.resize(wsd::kMaxFieldBytes);
  decode_scopes_.resize(wsd::kMaxFieldBytes);
  decode_match_by_.resize(wsd::kMaxFieldBytes);
  announce_bytes_.resize(kSendBatch);
  return absl::OkStatus();
}

void SwarmImpl::OnDatagrams(io::EventLoop&, std::span<const io::Datagram> batch) {
  const std::int64_t now_ns = MonotonicNs();
  for (const io::Datagram& datagram : batch) {
    ++counters_.datagrams;
    if (datagram.truncated || !scanner_.Scan(datagram.text()).ok()) {
      ++counters_.malformed;
      continue;
    }
    const wsd::Envelope& env = scanner_.envelope();
    if (env.kind == wsd::MessageKind::kResolve) {
      HandleResolve(datagram, env);
      continue;
    }
    if (env.kind != wsd::MessageKind::kProbe) {
      ++counters_.ignored;
      continue;
    }
    HandleProbe(datagram, env, now_ns);
  }
}

void SwarmImpl::HandleProbe(const io::Datagram& datagram, const wsd::Envelope& env, std::int64_t now_ns) {
  ++counters_.probes;
  const std::string_view message_id = env.message_id.Get(decode_message_id_);
  if (message_id.empty() || env.entries().empty()) {  // nothing to relate a reply to
    ++counters_.malformed;
    return;
  }
  const Listener& listener = listeners_[datagram.socket_tag];
  const std::uint64_t context = SourceKey(datagram.peer) ^ (std::uint64_t{datagram.peer.port()} << 32) ^
                                (std::uint64_t{listener.ifindex} << 48);
  if (history_.SeenBefore(message_id, context, now_ns)) {
    ++counters_.duplicates;
    if (!options_.answer_retransmissions) return;
  }
  // A directed Probe is for the camera at its destination: with --addresses
  // only that camera answers, and its rate limit is its own.
  const bool unicast = !datagram.destination.empty() && !IsMulticast(datagram.destination);
  std::optional<std::uint32_t> addressed;
  if (unicast && options_.addresses && datagram.destination.ip().family() == net::Family::kIPv4) {
    addressed = options_.addresses->IndexOf(datagram.destination.ip().v4());
    if (!addressed.has_value() || *addressed >= options_.cameras) {
      ++counters_.not_matched;
      return;
    }
  }
  const bool allowed = addressed.has_value() ? camera_rate_limiter_.Allow(*addressed, now_ns)
                                             : rate_limiter_.Allow(SourceKey(datagram.peer), now_ns);
  if (!allowed) {
    ++counters_.rate_limited;
    history_.Forget(message_id, context);
    return;
  }
  const wsd::Entry& probe = env.entries()[0];
  const std::string_view match_by = probe.match_by.Get(decode_match_by_);
  const std::string_view probe_scopes = probe.scopes.Get(decode_scopes_);
  const wsd::MatchRule rule = wsd::ParseMatchBy(match_by);
  if (rule == wsd::MatchRule::kUnknown) {
    ++counters_.unsupported_rule;
    // Section 5.1: fault a unicast Probe, never a multicast one.
    if (!IsMulticast(datagram.destination) && !datagram.destination.empty()) SendFault(datagram, message_id);
    return;
  }
  if (!wsd::TypesMatch(env.types(probe), types_)) {
    ++counters_.not_matched;
    return;
  }
  Job* job = nullptr;
  std::size_t job_index = 0;
  for (; job_index < jobs_.size(); ++job_index) {
    if (!jobs_[job_index].active) {
      job = &jobs_[job_index];
      break;
    }
  }
  if (job == nullptr && !addressed.has_value()) {
    ++counters_.busy;
    history_.Forget(message_id, context);
    return;
  }
  const bool all =
      probe_scopes.find_first_not_of(" \t\r\n") == std::string_view::npos && rule != wsd::MatchRule::kNone;
  const auto scopes_match = [&](std::uint32_t i) {
    if (all) return true;
    const std::span<const std::string_view> scopes(scopes_.data() + scope_offsets_[i],
                                                   scope_offsets_[i + 1] - scope_offsets_[i]);
    return wsd::ScopesMatch(probe_scopes, match_by, scopes) == wsd::MatchResult::kMatch;
  };
  if (addressed.has_value()) {
    // One camera, answered at once (APP_MAX_DELAY is for multicast Probes),
    // unless it has left.
    if (present_[*addressed] == 0 || !scopes_match(*addressed)) {
      ++counters_.not_matched;
      return;
    }
    ++counters_.answered;
    AnswerDirected(datagram, message_id, *addressed);
    return;
  }
  std::size_t count = 0;
  for (std::uint32_t i = 0; i < options_.cameras; ++i) {
    if (present_[i] != 0 && scopes_match(i)) job->cameras[count++] = i;
  }
  if (count == 0) {
    ++counters_.not_matched;
    return;
  }
  ++counters_.answered;
  const std::uint32_t max_delay_ms = static_cast<std::uint32_t>(counts_.size() - 2);
  PlanReplies(options_.mode, max_delay_ms, rng_, {job->cameras.data(), count}, {job->due_ms.data(), count},
              {scratch_cameras_.data(), count}, {scratch_due_.data(), count}, counts_);
  job->active = true;
  job->listener = datagram.socket_tag;
  job->peer_length = ReplyDestination(datagram, job->peer);
  job->relates_to.clear();
  wsd::AppendXmlEscaped(message_id, &job->relates_to);
  job->count = count;
  job->next = 0;
  job->start_ns = now_ns;
  // From a timer, not here: a storm of 100,000 replies should not hold up
  // the rest of this receive batch.
  loop_->AddTimer(absl::ZeroDuration(), [this, job_index] { RunJob(job_index); });
}

void SwarmImpl::AnswerDirected(const io::Datagram& datagram, std::string_view message_id, std::uint32_t camera) {
  const Listener& listener = listeners_[datagram.socket_tag];
  directed_relates_to_.clear();
  wsd::AppendXmlEscaped(message_id, &directed_relates_to_);
  sockaddr_storage peer;
  const socklen_t peer_length = ReplyDestination(datagram, peer);
  WriteMessageId(rng_, ids_[0].data());
  const std::string_view id = options_.quirks.echo_message_id ? std::string_view(directed_relates_to_)
                                                              : std::string_view(ids_[0].data(), ids_[0].size());
  replies_.Fill(camera, id, directed_relates_to_, NextMessageNumber(camera, 0), CameraHostPort(camera, listener),
                iovecs_[0].data());
  PrepareMessage(messages_[0].msg_hdr, &peer, peer_length, iovecs_[0].data(), kReplyIovecs, controls_[0].data(),
                 listener.family, listener.ifindex, CameraAddress(camera, listener));
  if (sendmsg(listener.socket.fd.get(), &messages_[0].msg_hdr, MSG_DONTWAIT) < 0) {
    ++counters_.send_errors;
    return;
  }
  ++counters_.replies_sent;
}

void SwarmImpl::RunJob(std::size_t job_index) {
  Job& job = jobs_[job_index];
  const std::int64_t elapsed_ms = (MonotonicNs() - job.start_ns) / 1'000'000;
  std::size_t end = job.next;
  while (end < job.count && static_cast<std::int64_t>(job.due_ms[end]) <= elapsed_ms) ++end;
  if (SendReplies(job, end) == Send::kRetry) {
    loop_->AddTimer(kSendRetry, [this, job_index] { RunJob(job_index); });
    return;
  }
  if (job.next >= job.count) {
    job.active = false;
    counters_.last_answer_us = static_cast<std::uint64_t>((MonotonicNs() - job.start_ns) / 1000);
    return;
  }
  const std::int64_t wait_ms = static_cast<std::int64_t>(job.due_ms[job.next]) - elapsed_ms;
  loop_->AddTimer(absl::Milliseconds(std::max<std::int64_t>(wait_ms, 0)),
                  [this, job_index] { RunJob(job_index); });
}

SwarmImpl::Send SwarmImpl::SendReplies(Job& job, std::size_t end) {
  const Listener& listener = listeners_[job.listener];
  while (job.next < end) {
    std::size_t n = 0;
    std::size_t scan = job.next;
    for (; scan < end && n < kSendBatch; ++scan) {
      const std::uint32_t camera = job.cameras[scan];
      if (present_[camera] == 0) continue;  // left since the Probe: no ProbeMatches after its Bye
      positions_[n] = scan;
      WriteMessageId(rng_, ids_[n].data());
      const std::string_view id =
          options_.quirks.echo_message_id ? std::string_view(job.relates_to) : std::string_view(ids_[n].data(), ids_[n].size());
      replies_.Fill(camera, id, job.relates_to, NextMessageNumber(camera, n), CameraHostPort(camera, listener),
                    iovecs_[n].data());
      PrepareMessage(messages_[n].msg_hdr, &job.peer, job.peer_length, iovecs_[n].data(),
                     kReplyIovecs, controls_[n].data(), listener.family, listener.ifindex,
                     CameraAddress(camera, listener));
      ++n;
    }
    if (n == 0) {
      job.next = scan;
      continue;
    }
    const int sent =
        sendmmsg(listener.socket.fd.get(), messages_.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR) {
        job.next = positions_[0];
        return Send::kRetry;
      }
      ++counters_.send_errors;  // the first message of the batch failed: skip it
      job.next = positions_[0] + 1;
      continue;
    }
    counters_.replies_sent += static_cast<std::uint64_t>(sent);
    job.next = static_cast<std::size_t>(sent) == n ? scan : positions_[sent];
  }
  return Send::kDone;
}

template <typename CameraAt>
void SwarmImpl::SendAnnouncements(Announcement kind, std::size_t count, const CameraAt& camera_at) {
  const bool hello = kind == Announcement::kHello;
  sockaddr_storage group;
  for (const Listener& listener : listeners_) {
    const socklen_t group_length = Group(listener.family, listener.ifindex, group);
    for (std::size_t begin = 0; begin < count; begin += kSendBatch) {
      const std::size_t n = std::min(kSendBatch, count - begin);
      for (std::size_t k = 0; k < n; ++k) {
        const std::uint32_t camera = camera_at(begin + k);
        WriteMessageId(rng_, ids_[k].data());
        const std::string_view id(ids_[k].data(), ids_[k].size());
        // Section 7: the camera's current number; one announcement is one
        // message, whichever interfaces it goes out on.
        const wsd::AppSequenceSpec sequence = Sequence(camera, message_numbers_[camera]);
        announce_bytes_[k] =
            hello ? wsd::BuildHello(id, sequence, CameraDescription(camera, CameraHostPort(camera, listener)))
                  : wsd::BuildBye(id, sequence, cameras_[camera].endpoint);
        iovecs_[k][0] = iovec{announce_bytes_[k].data(), announce_bytes_[k].size()};
        PrepareMessage(messages_[k].msg_hdr, &group, group_length, iovecs_[k].data(), 1, controls_[k].data(),
                       listener.family, listener.ifindex, CameraAddress(camera, listener));
      }
      std::size_t done = 0;
      for (int attempt = 0; done < n && attempt < 1000; ++attempt) {
        const int sent = sendmmsg(listener.socket.fd.get(), messages_.data() + done,
                                  static_cast<unsigned>(n - done), MSG_DONTWAIT);
        if (sent < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR) {
            usleep(1000);  // announcements are best effort, bounded: at most ~1 s per batch
            continue;
          }
          ++counters_.send_errors;
          ++done;
          continue;
        }
        done += static_cast<std::size_t>(sent);
        (hello ? counters_.hellos : counters_.byes) += static_cast<std::uint64_t>(sent);
      }
    }
  }
}

void SwarmImpl::SendFault(const io::Datagram& datagram, std::string_view relates_to) {
  const Listener& listener = listeners_[datagram.socket_tag];
  char id[wsd::kMessageIdSize];
  WriteMessageId(rng_, id);
  const std::string fault = BuildMatchingRuleFault({id, sizeof(id)}, relates_to);
  sockaddr_storage peer;
  const socklen_t length = datagram.peer.ToSockaddr(peer);
  if (sendto(listener.socket.fd.get(), fault.data(), fault.size(), MSG_DONTWAIT,
             reinterpret_cast<const sockaddr*>(&peer), length) < 0) {
    ++counters_.send_errors;
  }
}

void SwarmImpl::HandleResolve(const io::Datagram& datagram, const wsd::Envelope& env) {
  ++counters_.resolves;
  const std::string_view message_id = env.message_id.Get(decode_message_id_);
  if (message_id.empty() || env.entries().empty()) return;
  const std::string endpoint(env.entries()[0].endpoint.Get(decode_scopes_));
  const auto it = camera_of_endpoint_.find(endpoint);
  if (it == camera_of_endpoint_.end() || present_[it->second] == 0) return;  // not ours, or away
  const std::uint32_t camera = it->second;
  const Listener& listener = listeners_[datagram.socket_tag];
  char id[wsd::kMessageIdSize];
  WriteMessageId(rng_, id);
  const wsd::AppSequenceSpec sequence = Sequence(camera, ++message_numbers_[camera]);
  const std::string reply = wsd::BuildResolveMatches(
      {id, sizeof(id)}, message_id, sequence, ResolvedDescription(camera, CameraHostPort(camera, listener)));
  sockaddr_storage peer;
  const socklen_t length = datagram.peer.ToSockaddr(peer);
  if (sendto(listener.socket.fd.get(), reply.data(), reply.size(), MSG_DONTWAIT,
             reinterpret_cast<const sockaddr*>(&peer), length) < 0) {
    ++counters_.send_errors;
    return;
  }
  ++counters_.resolves_answered;
}

void SwarmImpl::HelloTick(std::size_t first) {
  const std::size_t count = std::min<std::size_t>(kHelloBatch, options_.cameras - first);
  SendAnnouncements(Announcement::kHello, count,
                    [first](std::size_t k) { return static_cast<std::uint32_t>(first + k); });
  const std::size_t next = first + kHelloBatch;
  if (next < options_.cameras) {
    loop_->AddTimer(absl::Milliseconds(1), [this, next] { HelloTick(next); });
  } else {
    StartChurn();
  }
}

void SwarmImpl::StartChurn() {
  if (options_.churn <= 0) return;
  churn_start_ns_ = MonotonicNs();
  churn_tick_ = std::clamp(absl::Seconds(1) / options_.churn, kChurnTickMin, kChurnTickMax);
  loop_->AddTimer(churn_tick_, [this] { ChurnTick(); });
}

void SwarmImpl::ChurnTick() {
  const std::uint64_t due = ChurnEventsDue(options_.churn, MonotonicNs() - churn_start_ns_);
  for (; churn_done_ < due; ++churn_done_) ApplyChurn(churn_.Next(present_));
  loop_->AddTimer(churn_tick_, [this] { ChurnTick(); });
}

void SwarmImpl::ApplyChurn(const ChurnEvent& event) {
  const std::uint32_t camera = event.camera;
  const auto one = [camera](std::size_t) { return camera; };
  switch (event.kind) {
    case ChurnKind::kLeave:
      // Section 4.2: Bye is the camera's last message in this instance.
      ++message_numbers_[camera];
      SendAnnouncements(Announcement::kBye, 1, one);
      present_[camera] = 0;
      ++counters_.churn_byes;
      ++counters_.away;
      break;
    case ChurnKind::kRejoin:
      // A restart (section 7): a higher InstanceId, numbering from 1 again.
      instance_ids_[camera] =
          RestartInstanceId(base_instance_id_, instance_ids_[camera], MonotonicNs() - run_start_ns_);
      message_numbers_[camera] = 1;
      present_[camera] = 1;
      Rerender(camera);
      SendAnnouncements(Announcement::kHello, 1, one);
      ++counters_.churn_hellos;
      --counters_.away;
      break;
    case ChurnKind::kUpdate:
      // Section 4.1: a Hello announces the changed metadata, same instance.
      ++metadata_versions_[camera];
      ++message_numbers_[camera];
      Rerender(camera);
      SendAnnouncements(Announcement::kHello, 1, one);
      ++counters_.churn_updates;
      break;
  }
}

void SwarmImpl::Rerender(std::uint32_t camera) {
  std::function<void(std::string&)> restyle;
  if (options_.quirks.soap11 || options_.quirks.prefixes) restyle = [this](std::string& bytes) { Restyle(bytes); };
  replies_.Replace(camera, CameraDescription(camera, kHostMarker), Sequence(camera, 2), restyle);
}

void SwarmImpl::PollStop() {
  if (stop_requested_.load(std::memory_order_relaxed)) {
    loop_->Stop();
    return;
  }
  loop_->AddTimer(kStopPollInterval, [this] { PollStop(); });
}

absl::Status SwarmImpl::Run() {
  run_start_ns_ = MonotonicNs();
  if (options_.send_hello) {
    loop_->AddTimer(absl::ZeroDuration(), [this] { HelloTick(0); });
  } else {
    StartChurn();
  }
  PollStop();
  if (options_.exit_after != absl::InfiniteDuration()) {
    loop_->AddTimer(options_.exit_after, [this] { loop_->Stop(); });
  }
  absl::Status status = loop_->Run();
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    absl::StatusOr<io::SocketCounters> c = loop_->GetCounters(static_cast<std::uint32_t>(i));
    if (c.ok()) counters_.kernel_drops += c->kernel_drops;
  }
  if (options_.send_bye) {
    // Cameras that left said Bye already.
    std::size_t count = 0;
    for (std::uint32_t i = 0; i < options_.cameras; ++i) {
      if (present_[i] == 0) continue;
      ++message_numbers_[i];
      scratch_cameras_[count++] = i;
    }
    SendAnnouncements(Announcement::kBye, count, [this](std::size_t k) { return scratch_cameras_[k]; });
  }
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Swarm>> Swarm::Create(const SwarmOptions& options) {
  auto swarm = std::make_unique<SwarmImpl>(options);
  if (absl::Status s = swarm->Init(); !s.ok()) return s;
  return std::unique_ptr<Swarm>(std::move(swarm));
}

absl::StatusOr<Quirks> ParseQuirks(std::string_view text) {
  Quirks quirks;
  for (absl::string_view item : absl::StrSplit(base::ToAbsl(text), ',', absl::SkipWhitespace())) {
    if (item == "multi-xaddr") {
      quirks.multi_xaddr = true;
    } else if (item == "no-xaddrs") {
      quirks.no_xaddrs = true;
    } else if (item == "soap11") {
      quirks.soap11 = true;
    } else if (item == "prefixes") {
      quirks.prefixes = true;
    } else if (item == "echo-message-id") {
      quirks.echo_message_id = true;
    } else if (item == "oversize") {
      quirks.oversize = true;
    } else if (item == "duplicate-epr") {
      quirks.duplicate_epr = true;
    } else if (item == "multicast-reply") {
      quirks.multicast_reply = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown quirk '", item,
                                                     "' (known: multi-xaddr, no-xaddrs, soap11, prefixes, "
                                                     "echo-message-id, oversize, duplicate-epr, multicast-reply)"));
    }
  }
  return quirks;
}

}  // namespace onvif::swarm
