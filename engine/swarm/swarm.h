// The simulated camera swarm behind onvif-swarm: N ONVIF cameras answering
// WS-Discovery on the chosen interfaces of the calling thread's network
// namespace.
//
// Design note
// -----------
// Setup (Create): interfaces (net::ListInterfaces with the filter; nothing
// eligible is an error, so the swarm never starts on nothing or on something
// surprising), one listener per interface and per family it has an address
// of (net::OpenListenerSocket: *:3702 joined to 239.255.255.250, [::]:3702
// joined to FF02::C, on that interface only), the cameras' identities
// (identity.h) and their pre-rendered ProbeMatches (reply.h). With an address
// range, camera i owns the i-th host address of the range; every one of
// them must be assigned to every chosen interface that serves IPv4 (checked
// here, with the first missing address named in the error). The range is
// IPv4 only: over IPv6 every camera answers from the interface, and its XAddr
// names the interface's first global or ULA address, else its link-local one
// without a zone (http://[fd77::2]:80/...; the receiver knows its own zone).
// A Probe is answered in the family and on the interface it came in on.
//
// Run: Hello for every camera (staggered, kHelloBatch per millisecond,
// multicast on each listener: 239.255.255.250 and FF02::C; WS-Discovery
// 2005/04 section 4.1), then the event loop. Per received datagram (the hot
// path: no allocation, no strings, counters only): scan with wsd::Scanner; a
// Resolve is answered by the present camera it names; neither Probe nor
// Resolve -> ignored; the
// retransmission check (limits.h ProbeHistory); the per-source rate limit;
// Types once (all cameras share them) and Scopes per camera
// (engine/wsd/matching.h). An unsupported MatchBy is counted; a unicast Probe
// gets one d:MatchingRuleNotSupported fault, a multicast one nothing
// (section 5.1). The matching present cameras are planned (storm / spec)
// into a reply job; a job sends its due replies with sendmmsg in batches of
// kSendBatch, each reply a kReplyIovecs-piece gather list (reply.h) to the
// Probe's source address and port (to the group with the multicast-reply
// quirk), from the camera's own address (IP_PKTINFO ipi_spec_dst) or the
// interface's. A camera that left after the Probe was planned is skipped when
// its reply falls due (no ProbeMatches after its Bye). At most kMaxJobs
// Probes are being answered at once; a Probe beyond that is counted as busy
// and not answered.
// AppSequence (section 7), per camera: InstanceId (--instance-id, default the
// start time in seconds; a camera's restart under --churn raises its own),
// and MessageNumber one more for every message the camera sends (Hello at
// start is 1; each ProbeMatches, ResolveMatches, churn Hello and Bye takes
// the next; a restart begins again at 1). An announcement sent on several
// listeners is one message: the same number on each. MetadataVersion is per
// camera too (1 at start, raised by churn). The pre-rendered replies carry the
// camera's InstanceId and MetadataVersion (a change re-renders that camera's
// reply, ReplyStore::Replace); the MessageNumber is patched in per send.
// Churn (--churn RATE, churn.h): a timer applies floor(RATE * t) events by
// time t, each a Bye (the camera then answers no Probe or Resolve and gets
// no Bye at exit), a rejoin (Hello with a higher InstanceId) or a metadata
// bump (Hello), chosen from the seed; it starts once the start Hellos are
// out, so no churn announcement overtakes a camera's first Hello. --nohello
// and --nobye concern start and exit only; churn always announces.
// Stop (RequestStop, --exit-after): Bye for every present camera on every
// listener (section 4.2), then Run returns.
//
// Threading: one thread runs Run. RequestStop may be called from any thread
// and from a signal handler (it stores one lock-free atomic, polled every
// kStopPollInterval).

#ifndef ONVIF_ENGINE_SWARM_SWARM_H_
#define ONVIF_ENGINE_SWARM_SWARM_H_

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/net/interfaces.h"
#include "engine/swarm/identity.h"
#include "engine/swarm/limits.h"

namespace onvif::swarm {

inline constexpr std::uint32_t kMaxCameras = 100'000;

// An IPv4 CIDR block; host i (0-based) is network + 1 + i, so "10.100.0.0/16"
// starts at 10.100.0.1 (lab.sh's extra addresses). /31 and /32 start at the
// network address itself.
struct Ipv4Range {
  std::uint32_t network = 0;  // host byte order
  int prefix_length = 32;
  std::uint64_t HostCount() const;
  in_addr Host(std::uint32_t index) const;  // index < HostCount()
  // The index whose Host() is `host`, or nullopt outside the range.
  std::optional<std::uint32_t> IndexOf(in_addr host) const;

  // "a.b.c.d/len"; errors name what is wrong.
  static absl::StatusOr<Ipv4Range> Parse(std::string_view cidr);
};

// Behaviours of real devices the swarm can imitate (--quirks).
struct Quirks {
  // XAddrs: a 169.254.x.x link-local one, an https one on a DNS name, and
  // the routable http one last, as cameras with several network paths list
  // them; the sweep must still pick the routable one.
  bool multi_xaddr = false;
  // ProbeMatches and Hello without XAddrs: a client must Resolve the
  // endpoint (WS-Discovery 2005/04 section 6); the ResolveMatch has them.
  bool no_xaddrs = false;
  // SOAP 1.1 envelopes (http://schemas.xmlsoap.org/soap/envelope/).
  bool soap11 = false;
  // Unusual prefixes (SOAP-ENV:, wsa:) and the discovery namespace as the
  // default namespace, declared on the Envelope.
  bool prefixes = false;
  // Each reply reuses the Probe's MessageID as its own.
  bool echo_message_id = false;
  // Replies over 8 KB (many long scopes), which a 8 KB receive buffer would cut.
  bool oversize = false;
  // Cameras 2k and 2k+1 share one EndpointReference: one device.
  bool duplicate_epr = false;
  // ProbeMatches go to the group 239.255.255.250:3702, out of the interface
  // the Probe came in on, instead of unicast to the prober (section 5.3):
  // a bug of real devices that a prober hears only on a listener.
  bool multicast_reply = false;
};

// Parses a comma-separated --quirks list; InvalidArgument naming an unknown
// quirk and listing the known ones.
absl::StatusOr<Quirks> ParseQuirks(std::string_view text);

struct SwarmOptions {
  std::uint32_t cameras = 1;  // 1..kMaxCameras
  net::InterfaceFilter interfaces;
  ReplyMode mode = ReplyMode::kStorm;
  absl::Duration max_delay = absl::Milliseconds(500);  // spec mode: rand[0, this]
  std::uint64_t seed = 1;
  // The device types every camera has, advertises and matches Probes
  // against (a Probe's Types must all be among them).
  std::vector<wsd::QNameSpec> types = CameraTypes();
  // The address families served (listeners per interface per family it has
  // an address of; IPv6 needs IFF_MULTICAST, so not lo).
  std::vector<net::Family> families = {net::Family::kIPv4, net::Family::kIPv6};
  std::optional<Ipv4Range> addresses;  // IPv4 listeners only
  std::uint16_t http_port = 80;
  absl::Duration exit_after = absl::InfiniteDuration();
  std::uint32_t rate_limit = 10;  // Probes per source per second; 0 = unlimited
  // How long a MessageID is remembered (retransmissions come within ~1.5 s).
  absl::Duration duplicate_window = absl::Seconds(5);
  // false (WS-Discovery): a retransmitted Probe is answered once. true: every
  // copy is answered, as many deployed cameras do; only then can a prober's
  // retransmissions recover lost replies (the loss tests use it).
  bool answer_retransmissions = false;
  Quirks quirks;
  bool send_hello = true;
  bool send_bye = true;
  // Churn events per second across the swarm (leave / rejoin / metadata
  // bump, churn.h), drawn from `seed`; 0 = none.
  double churn = 0;
  // The InstanceId every camera starts with; unset = the start time in
  // seconds (so a restarted swarm's is higher). A test can restart a swarm
  // with a lower one to replay stale announcements.
  std::optional<std::uint64_t> instance_id;
};

struct SwarmCounters {
  std::uint64_t datagrams = 0;         // received on the listeners
  std::uint64_t probes = 0;            // well-formed Probes
  std::uint64_t answered = 0;          // Probes that got replies planned
  std::uint64_t not_matched = 0;       // Types or Scopes matched no present camera
  std::uint64_t unsupported_rule = 0;  // MatchBy not implemented
  std::uint64_t rate_limited = 0;
  std::uint64_t duplicates = 0;  // retransmissions already answered (counted, and
                                 // with answer_retransmissions answered again)
  std::uint64_t busy = 0;        // kMaxJobs Probes were being answered
  std::uint64_t malformed = 0;   // scanner rejected the datagram
  std::uint64_t ignored = 0;     // well-formed, neither Probe nor Resolve (Hello, Bye, ...)
  std::uint64_t resolves = 0;          // well-formed Resolves received
  std::uint64_t resolves_answered = 0;  // ... naming one of our cameras (ResolveMatches sent)
  std::uint64_t replies_sent = 0;
  std::uint64_t send_errors = 0;  // replies the kernel refused (not EAGAIN)
  std::uint64_t hellos = 0;  // Hello datagrams sent (start and churn, per interface)
  std::uint64_t byes = 0;    // Bye datagrams sent (churn and exit, per interface)
  // Churn events (each announced once per interface): a camera left, a
  // camera rejoined (restart), a camera's MetadataVersion went up.
  std::uint64_t churn_byes = 0;
  std::uint64_t churn_hellos = 0;
  std::uint64_t churn_updates = 0;
  std::uint64_t away = 0;  // cameras that had left and not rejoined (at the time of reading)
  std::uint64_t kernel_drops = 0;  // listener receive-queue overflows
  // Microseconds from the arrival of the last answered Probe to its last
  // reply handed to the kernel (storm mode: how long N replies take to send).
  std::uint64_t last_answer_us = 0;
};

// {"cameras":N,"interfaces":[...],"probes":...,...} on one line.
std::string CountersJson(const SwarmCounters& counters, std::uint32_t cameras,
                         const std::vector<std::string>& interfaces);

class Swarm {
 public:
  static absl::StatusOr<std::unique_ptr<Swarm>> Create(const SwarmOptions& options);
  virtual ~Swarm() = default;

  // Hellos, serve until RequestStop or exit_after, Byes. Once.
  virtual absl::Status Run() = 0;
  // Async-signal-safe.
  virtual void RequestStop() = 0;

  virtual SwarmCounters counters() const = 0;
  virtual std::vector<std::string> interface_names() const = 0;

 protected:
  Swarm() = default;
};

}  // namespace onvif::swarm

#endif  // ONVIF_ENGINE_SWARM_SWARM_H_
