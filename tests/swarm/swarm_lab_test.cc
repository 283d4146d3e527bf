// The real onvif-swarm binary in a lab camera namespace, probed from the lab's
// host namespace (tests/lab/lab.sh; nothing is sent on the machine's own
// interfaces). Needs root; skips otherwise.
//
// The prober here is a plain POSIX socket, not engine/net: the swarm is
// checked against the wire, independently of the engine's own socket code.

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "engine/base/unique_fd.h"
#include "engine/net/address.h"
#include "engine/swarm/churn.h"
#include "engine/swarm/identity.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/constants.h"
#include "engine/wsd/scanner.h"
#include "gtest/gtest.h"
#include "tests/lab/lab.h"
#include "tests/swarm/swarm_process.h"

namespace onvif::swarm {
namespace {

using Clock = std::chrono::steady_clock;

struct Reply {
  std::string source;  // source address (IPv6 without its zone)
  std::string bytes;
};

// What one ProbeMatches says, owned.
struct Match {
  std::string relates_to;
  std::string endpoint;
  std::string xaddrs;
  std::uint64_t instance_id = 0;
  std::uint64_t message_number = 0;
  std::uint64_t metadata_version = 0;
};

std::optional<Match> ScanMatch(const std::string& bytes) {
  wsd::Scanner scanner;
  if (!scanner.Scan(bytes).ok()) return std::nullopt;
  const wsd::Envelope& env = scanner.envelope();
  if (env.kind != wsd::MessageKind::kProbeMatches || env.entries().size() != 1) return std::nullopt;
  std::string scratch(bytes.size(), '\0');
  Match m;
  m.relates_to = std::string(env.relates_to.Get(scratch));
  m.endpoint = std::string(env.entries()[0].endpoint.Get(scratch));
  m.xaddrs = std::string(env.entries()[0].xaddrs.Get(scratch));
  if (env.app_sequence.has_value()) {
    m.instance_id = env.app_sequence->instance_id;
    m.message_number = env.app_sequence->message_number;
  }
  m.metadata_version = env.entries()[0].metadata_version.value_or(0);
  return m;
}

// What one Hello or Bye says, owned.
struct Announcement {
  wsd::MessageKind kind = wsd::MessageKind::kNone;
  std::string endpoint;
  std::uint64_t instance_id = 0;
  std::uint64_t message_number = 0;
  std::uint64_t metadata_version = 0;  // Hello only
};

std::optional<Announcement> ScanAnnouncement(const std::string& bytes) {
  wsd::Scanner scanner;
  if (!scanner.Scan(bytes).ok()) return std::nullopt;
  const wsd::Envelope& env = scanner.envelope();
  if ((env.kind != wsd::MessageKind::kHello && env.kind != wsd::MessageKind::kBye) || env.entries().size() != 1 ||
      !env.app_sequence.has_value()) {
    return std::nullopt;
  }
  Announcement a;
  a.kind = env.kind;
  a.endpoint = std::string(env.entries()[0].endpoint.raw);
  a.instance_id = env.app_sequence->instance_id;
  a.message_number = env.app_sequence->message_number;
  a.metadata_version = env.entries()[0].metadata_version.value_or(0);
  return a;
}

// A UDP socket in namespace `netns` bound to `address` (ephemeral port) that
// multicasts Probes out of that address's interface with TTL 1.
base::UniqueFd OpenProberAt(const std::string& netns, const std::string& address) {
  base::UniqueFd fd;
  const absl::Status s = lab::RunInNetns(netns, [&fd, &address] {
    fd.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const int rcvbuf = 32 << 20;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, address.c_str(), &local.sin_addr);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) fd.reset();
    if (!fd) return;
    ::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_IF, &local.sin_addr, sizeof(local.sin_addr));
    const int ttl = 1;
    ::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
  });
  EXPECT_TRUE(s.ok()) << s;
  return fd;
}

// The lab's host namespace on n0 (10.77.0.1).
base::UniqueFd OpenProber(const lab::Lab& lab) {
  return OpenProberAt(lab.HostNamespace(), lab::Lab::HostAddress(0));
}

// A socket in the host namespace on *:3702 joined to 239.255.255.250 on n0:
// it hears the swarm's Hellos and Byes.
base::UniqueFd OpenWatcher(const lab::Lab& lab) {
  base::UniqueFd fd;
  const absl::Status s = lab::RunInNetns(lab.HostNamespace(), [&fd] {
    fd.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const int rcvbuf = 32 << 20;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(wsd::kPort);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) {
      fd.reset();
      return;
    }
    ip_mreqn join{};
    inet_pton(AF_INET, std::string(wsd::kMulticastV4).c_str(), &join.imr_multiaddr);
    join.imr_ifindex = static_cast<int>(if_nametoindex(lab::Lab::HostNic(0).c_str()));
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof(join)) != 0) fd.reset();
  });
  EXPECT_TRUE(s.ok()) << s;
  return fd;
}

// IPv6: a socket in the lab's host namespace, bound to `address` ("" = [::],
// so the kernel picks n0's link-local source for ff02::c) on an ephemeral
// port, multicasting out of n0 with hop limit 1. `join` instead binds
// [::]:3702 and joins ff02::c on n0 (a watcher). *ifindex = n0's index.
base::UniqueFd OpenSocket6(const lab::Lab& lab, const std::string& address, bool join, unsigned* ifindex) {
  base::UniqueFd fd;
  const absl::Status s = lab::RunInNetns(lab.HostNamespace(), [&] {
    *ifindex = if_nametoindex(lab::Lab::HostNic(0).c_str());
    fd.reset(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const int rcvbuf = 32 << 20;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in6 local{};
    local.sin6_family = AF_INET6;
    local.sin6_port = join ? htons(wsd::kPort) : 0;
    if (!address.empty()) inet_pton(AF_INET6, address.c_str(), &local.sin6_addr);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      fd.reset();
      return;
    }
    const int index = static_cast<int>(*ifindex);
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof(index));
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &one, sizeof(one));
    if (join) {
      ipv6_mreq mreq{};
      inet_pton(AF_INET6, std::string(net::kWsdIpv6Group).c_str(), &mreq.ipv6mr_multiaddr);
      mreq.ipv6mr_interface = *ifindex;
      if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof(mreq)) != 0) fd.reset();
    }
  });
  EXPECT_TRUE(s.ok()) << s;
  return fd;
}

void SendProbe6(int fd, unsigned ifindex, const std::string& probe) {
  sockaddr_in6 group{};
  group.sin6_family = AF_INET6;
  group.sin6_port = htons(wsd::kPort);
  group.sin6_scope_id = ifindex;
  inet_pton(AF_INET6, std::string(net::kWsdIpv6Group).c_str(), &group.sin6_addr);
  ASSERT_EQ(::sendto(fd, probe.data(), probe.size(), 0, reinterpret_cast<sockaddr*>(&group), sizeof(group)),
            static_cast<ssize_t>(probe.size()));
}

void SendProbe(int fd, const std::string& probe) {
  sockaddr_in group{};
  group.sin_family = AF_INET;
  group.sin_port = htons(wsd::kPort);
  inet_pton(AF_INET, std::string(wsd::kMulticastV4).c_str(), &group.sin_addr);
  ASSERT_EQ(::sendto(fd, probe.data(), probe.size(), 0, reinterpret_cast<sockaddr*>(&group), sizeof(group)),
            static_cast<ssize_t>(probe.size()));
}

// Receives until `quiet_ms` pass without a datagram (or max_ms in all);
// quiet_ms 0 takes only what is queued now.
std::vector<Reply> Collect(int fd, int quiet_ms, int max_ms = 8000) {
  std::vector<Reply> out;
  const auto end = Clock::now() + std::chrono::milliseconds(max_ms);
  std::string buf(65536, '\0');
  while (Clock::now() < end) {
    pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, quiet_ms) <= 0) break;
    sockaddr_storage from{};
    socklen_t from_length = sizeof(from);
    const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
                                 &from_length);
    if (n < 0) continue;
    char text[INET6_ADDRSTRLEN];
    if (from.ss_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(from).sin6_addr, text, sizeof(text));
    } else {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(from).sin_addr, text, sizeof(text));
    }
    out.push_back({text, buf.substr(0, static_cast<size_t>(n))});
  }
  return out;
}

std::string NvtProbe(const std::string& id, std::vector<std::string> scopes = {}, std::string match_by = {}) {
  return wsd::BuildProbe(id, wsd::ProbeSpec{.types = {{std::string(wsd::kNsOnvifNetwork),
                                                       std::string(wsd::kTypeNetworkVideoTransmitter)}},
                                            .scopes = std::move(scopes),
                                            .match_by = std::move(match_by)});
}

// The swarm's listeners on c0: lab.sh gives it 10.77.0.2 and fd77:0::2, and
// onvif-swarm serves both families by default, so each announcement goes out
// twice (239.255.255.250 and ff02::c); "hellos" and "byes" count datagrams.
constexpr std::uint64_t kC0Families = 2;

// "key":123 out of the --stats line.
std::optional<std::uint64_t> StatValue(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  const std::size_t at = json.find(needle);
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(json.substr(at + needle.size()));
}

class SwarmLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!lab::IsRoot()) GTEST_SKIP() << "needs root: creates network namespaces (tests/lab/lab.sh)";
  }

  void Up(int addresses = 0, const std::string& family = "both") {
    lab::LabOptions options;
    options.name = lab::UniqueLabName("sw");
    options.nics = 1;
    options.family = family;
    options.addresses_per_nic = addresses;
    absl::StatusOr<lab::Lab> made = lab::Lab::Up(options);
    ASSERT_TRUE(made.ok()) << made.status();
    lab_.emplace(std::move(*made));
  }

  // Starts onvif-swarm in the camera namespace on c0.
  void StartSwarm(std::vector<std::string> args) {
    std::vector<std::string> argv = {ONVIF_SWARM_BINARY, "--iface", lab_->CamNic(0), "--stats"};
    argv.insert(argv.end(), args.begin(), args.end());
    ASSERT_TRUE(swarm_.Start(lab_->CamExec(0, argv)).ok());
    const absl::Status ready = swarm_.WaitReady();
    ASSERT_TRUE(ready.ok()) << ready;
  }

  // SIGTERM, wait, return the --stats line.
  std::string StopSwarm() {
    absl::StatusOr<int> code = swarm_.Finish(SIGTERM);
    EXPECT_TRUE(code.ok()) << code.status();
    if (code.ok()) {
      EXPECT_EQ(*code, 0) << swarm_.err();
    }
    return swarm_.out();
  }

  void TearDown() override {
    if (lab_) {
      const absl::Status down = lab_->Down();
      EXPECT_TRUE(down.ok()) << down;
    }
  }

  std::optional<lab::Lab> lab_;
  testing::SwarmProcess swarm_;
};

TEST_F(SwarmLabTest, StormThousandCamerasAnsweredOnce) {
  constexpr int kCameras = 1000;
  Up();
  StartSwarm({"--cameras", std::to_string(kCameras), "--mode", "storm", "--seed", "7", "--nohello"});
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);

  const std::string id = wsd::NewMessageId();
  const std::string probe = NvtProbe(id);
  SendProbe(prober.get(), probe);
  const std::vector<Reply> replies = Collect(prober.get(), 300);
  std::set<std::string> endpoints;
  for (const Reply& reply : replies) {
    const std::optional<Match> m = ScanMatch(reply.bytes);
    ASSERT_TRUE(m.has_value()) << reply.bytes;
    EXPECT_EQ(m->relates_to, id);
    EXPECT_EQ(m->xaddrs, "http://" + lab::Lab::CamAddress(0) + ":80/onvif/device_service");
    endpoints.insert(m->endpoint);
  }
  EXPECT_EQ(replies.size(), static_cast<size_t>(kCameras));
  EXPECT_EQ(endpoints.size(), static_cast<size_t>(kCameras));
  EXPECT_EQ(endpoints.count(MakeIdentity(7, 0).endpoint), 1u);
  EXPECT_EQ(endpoints.count(MakeIdentity(7, kCameras - 1).endpoint), 1u);

  // A retransmission (same bytes, same MessageID) is not answered again.
  SendProbe(prober.get(), probe);
  EXPECT_EQ(Collect(prober.get(), 300).size(), 0u);

  const std::string stats = StopSwarm();
  EXPECT_EQ(StatValue(stats, "probes"), 2u) << stats;
  EXPECT_EQ(StatValue(stats, "answered"), 1u) << stats;
  EXPECT_EQ(StatValue(stats, "duplicates"), 1u) << stats;
  EXPECT_EQ(StatValue(stats, "replies_sent"), static_cast<std::uint64_t>(kCameras)) << stats;
  EXPECT_EQ(StatValue(stats, "send_errors"), 0u) << stats;
  EXPECT_EQ(StatValue(stats, "byes"), kC0Families * kCameras) << stats;
  std::printf("[ figures  ] %d storm replies sent in %llu us (Probe arrival to last sendmmsg)\n", kCameras,
              static_cast<unsigned long long>(StatValue(stats, "last_answer_us").value_or(0)));
}

// 10,000 replies in one storm: every one arrives (the prober's 32 MiB buffer
// holds ~14,000), and the swarm reports how long sending them took.
TEST_F(SwarmLabTest, StormTenThousandCameras) {
  constexpr int kCameras = 10'000;
  Up();
  StartSwarm({"--cameras", std::to_string(kCameras), "--nohello", "--nobye"});
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  const std::string id = wsd::NewMessageId();
  SendProbe(prober.get(), NvtProbe(id));
  std::set<std::string> endpoints;
  for (const Reply& reply : Collect(prober.get(), 300)) {
    const std::optional<Match> m = ScanMatch(reply.bytes);
    ASSERT_TRUE(m.has_value());
    ASSERT_EQ(m->relates_to, id);
    endpoints.insert(m->endpoint);
  }
  EXPECT_EQ(endpoints.size(), static_cast<size_t>(kCameras));
  const std::string stats = StopSwarm();
  EXPECT_EQ(StatValue(stats, "replies_sent"), static_cast<std::uint64_t>(kCameras)) << stats;
  std::printf("[ figures  ] %d storm replies sent in %llu us (Probe arrival to last sendmmsg)\n", kCameras,
              static_cast<unsigned long long>(StatValue(stats, "last_answer_us").value_or(0)));
}

TEST_F(SwarmLabTest, HelloAtStartByeAtExit) {
  constexpr int kCameras = 600;  // three Hello batches
  Up();
  base::UniqueFd watcher = OpenWatcher(*lab_);
  ASSERT_TRUE(watcher);
  StartSwarm({"--cameras", std::to_string(kCameras), "--seed", "9"});
  std::map<std::string, std::string> hello_xaddrs;
  for (const Reply& reply : Collect(watcher.get(), 300)) {
    wsd::Scanner scanner;
    ASSERT_TRUE(scanner.Scan(reply.bytes).ok()) << reply.bytes;
    const wsd::Envelope& env = scanner.envelope();
    ASSERT_EQ(env.kind, wsd::MessageKind::kHello);
    ASSERT_EQ(env.entries().size(), 1u);
    ASSERT_TRUE(env.app_sequence.has_value());
    EXPECT_EQ(env.app_sequence->message_number, 1u);
    hello_xaddrs[std::string(env.entries()[0].endpoint.raw)] = std::string(env.entries()[0].xaddrs.raw);
  }
  EXPECT_EQ(hello_xaddrs.size(), static_cast<size_t>(kCameras));
  EXPECT_EQ(hello_xaddrs[MakeIdentity(9, 5).endpoint],
            "http://" + lab::Lab::CamAddress(0) + ":80/onvif/device_service");

  const std::string stats = StopSwarm();
  std::set<std::string> byes;
  for (const Reply& reply : Collect(watcher.get(), 300)) {
    wsd::Scanner scanner;
    ASSERT_TRUE(scanner.Scan(reply.bytes).ok());
    ASSERT_EQ(scanner.envelope().kind, wsd::MessageKind::kBye);
    byes.insert(std::string(scanner.envelope().entries()[0].endpoint.raw));
  }
  EXPECT_EQ(byes.size(), static_cast<size_t>(kCameras));
  EXPECT_EQ(StatValue(stats, "hellos"), kC0Families * kCameras) << stats;
  EXPECT_EQ(StatValue(stats, "byes"), kC0Families * kCameras) << stats;
}

TEST_F(SwarmLabTest, TypesAndScopesDecideWhoAnswers) {
  constexpr int kCameras = 300;
  Up();
  StartSwarm({"--cameras", std::to_string(kCameras), "--seed", "3", "--rate-limit", "0"});
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);

  // Types the cameras do not have: no answer.
  SendProbe(prober.get(),
            wsd::BuildProbe("", wsd::ProbeSpec{.types = {{std::string(wsd::kNsDevProf), "Device"}}}));
  EXPECT_EQ(Collect(prober.get(), 300).size(), 0u);

  // hardware/SW-2000 matches SW-2000 only, not SW-2000-IR (segment-wise).
  std::set<std::string> expected;
  for (int i = 0; i < kCameras; ++i) {
    const CameraIdentity camera = MakeIdentity(3, static_cast<std::uint32_t>(i));
    if (camera.hardware == "SW-2000") expected.insert(camera.endpoint);
  }
  ASSERT_GT(expected.size(), 0u);
  const std::string id = wsd::NewMessageId();
  SendProbe(prober.get(), NvtProbe(id, {"onvif://www.onvif.org/hardware/SW-2000"}));
  std::set<std::string> got;
  for (const Reply& reply : Collect(prober.get(), 300)) {
    const std::optional<Match> m = ScanMatch(reply.bytes);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->relates_to, id);
    got.insert(m->endpoint);
  }
  EXPECT_EQ(got, expected);

  // strcmp0 on one name: exactly that camera.
  SendProbe(prober.get(),
            NvtProbe("", {"onvif://www.onvif.org/name/cam-17"}, std::string(wsd::kMatchByStrcmp0)));
  const std::vector<Reply> one = Collect(prober.get(), 300);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(ScanMatch(one[0].bytes)->endpoint, MakeIdentity(3, 17).endpoint);

  // An unknown MatchBy on a multicast Probe: ignored, no fault (section 5.1).
  SendProbe(prober.get(),
            NvtProbe("", {"ldap:///ou=x"}, "http://schemas.xmlsoap.org/ws/2005/04/discovery/ldap"));
  EXPECT_EQ(Collect(prober.get(), 300).size(), 0u);

  const std::string stats = StopSwarm();
  EXPECT_EQ(StatValue(stats, "not_matched"), 1u) << stats;
  EXPECT_EQ(StatValue(stats, "unsupported_rule"), 1u) << stats;
  EXPECT_EQ(StatValue(stats, "hellos"), kC0Families * kCameras) << stats;
}

TEST_F(SwarmLabTest, UnsupportedRuleOnUnicastProbeGetsFault) {
  Up();
  StartSwarm({"--cameras", "5", "--nohello", "--nobye"});
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  const std::string id = wsd::NewMessageId();
  const std::string probe =
      NvtProbe(id, {"ldap:///ou=x"}, "http://schemas.xmlsoap.org/ws/2005/04/discovery/ldap");
  sockaddr_in camera{};
  camera.sin_family = AF_INET;
  camera.sin_port = htons(wsd::kPort);
  inet_pton(AF_INET, lab::Lab::CamAddress(0).c_str(), &camera.sin_addr);
  ASSERT_EQ(::sendto(prober.get(), probe.data(), probe.size(), 0, reinterpret_cast<sockaddr*>(&camera),
                     sizeof(camera)),
            static_cast<ssize_t>(probe.size()));
  const std::vector<Reply> replies = Collect(prober.get(), 300);
  ASSERT_EQ(replies.size(), 1u);  // one fault for the swarm, not one per camera
  wsd::Scanner scanner;
  ASSERT_TRUE(scanner.Scan(replies[0].bytes).ok());
  EXPECT_EQ(scanner.envelope().kind, wsd::MessageKind::kFault);
  EXPECT_EQ(scanner.envelope().relates_to.raw, id);
  EXPECT_NE(replies[0].bytes.find("MatchingRuleNotSupported"), std::string::npos);
  const std::string stats = StopSwarm();
  EXPECT_EQ(StatValue(stats, "unsupported_rule"), 1u) << stats;
}

// One swarm on two interfaces (c0 and lo of the camera namespace): each
// interface's Probe is heard only there (IP_MULTICAST_ALL=0 listeners) and
// answered with that interface's address in the XAddrs.
TEST_F(SwarmLabTest, TwoInterfacesEachAnswerWithTheirOwnXAddr) {
  constexpr int kCameras = 100;
  Up();
  StartSwarm({"--cameras", std::to_string(kCameras), "--iface", "lo", "--nohello", "--nobye"});
  for (const auto& [netns, local, camera_host] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {lab_->HostNamespace(), lab::Lab::HostAddress(0), lab::Lab::CamAddress(0)},
           {lab_->CamNamespace(0), "127.0.0.1", "127.0.0.1"}}) {
    base::UniqueFd prober = OpenProberAt(netns, local);
    ASSERT_TRUE(prober);
    const std::string id = wsd::NewMessageId();
    SendProbe(prober.get(), NvtProbe(id));
    const std::vector<Reply> replies = Collect(prober.get(), 300);
    ASSERT_EQ(replies.size(), static_cast<size_t>(kCameras)) << netns;
    for (const Reply& reply : replies) {
      EXPECT_EQ(reply.source, camera_host);
      const std::optional<Match> m = ScanMatch(reply.bytes);
      ASSERT_TRUE(m.has_value());
      EXPECT_EQ(m->relates_to, id);
      EXPECT_EQ(m->xaddrs, "http://" + camera_host + ":80/onvif/device_service");
    }
  }
  const std::string stats = StopSwarm();
  EXPECT_EQ(StatValue(stats, "probes"), 2u) << stats;
  EXPECT_NE(stats.find("\"interfaces\":[\"c0\",\"lo\"]"), std::string::npos) << stats;
}

// --retransmissions answer: every copy of a Probe is answered (and still
// counted as a duplicate), so a prober's retransmissions can make up for
// lost replies.
TEST_F(SwarmLabTest, AnswerRetransmissionsAnswersEveryCopy) {
  constexpr int kCameras = 50;
  Up();
  StartSwarm({"--cameras", std::to_string(kCameras), "--retransmissions", "answer", "--nohello", "--nobye"});
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  const std::string id = wsd::NewMessageId();
  const std::string probe = NvtProbe(id);
  for (int copy = 0; copy < 3; ++copy) {
    SendProbe(prober.get(), probe);
    const std::vector<Reply> replies = Collect(prober.get(), 300);
    EXPECT_EQ(replies.size(), static_cast<size_t>(kCameras)) << "copy " << copy;
    for (const Reply& reply : replies) {
      const std::optional<Match> m = ScanMatch(reply.bytes);
      ASSERT_TRUE(m.has_value());
      EXPECT_EQ(m->relates_to, id);
    }
  }
  const std::string stats = StopSwarm();
  EXPECT_EQ(StatValue(stats, "answered"), 3u) << stats;
  EXPECT_EQ(StatValue(stats, "duplicates"), 2u) << stats;
  EXPECT_EQ(StatValue(stats, "replies_sent"), static_cast<std::uint64_t>(3 * kCameras)) << stats;
}

// --quirks oversize: replies over 8 KB that still scan (no field over 8 KiB).
TEST_F(SwarmLabTest, OversizeRepliesExceedEightKilobytes) {
  Up();
  StartSwarm({"--cameras", "3", "--quirks", "oversize", "--nohello", "--nobye"});
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  const std::string id = wsd::NewMessageId();
  SendProbe(prober.get(), NvtProbe(id));
  const std::vector<Reply> replies = Collect(prober.get(), 300);
  ASSERT_EQ(replies.size(), 3u);
  for (const Reply& reply : replies) {
    EXPECT_GT(reply.bytes.size(), 8192u);
    const std::optional<Match> m = ScanMatch(reply.bytes);
    ASSERT_TRUE(m.has_value()) << reply.bytes.substr(0, 300);
    EXPECT_EQ(m->relates_to, id);
  }
  StopSwarm();
}

// AppSequence (WS-Discovery 2005/04 section 7): one InstanceId per run, and
// each message a camera sends has a higher MessageNumber than the last.
TEST_F(SwarmLabTest, MessageNumbersGrowPerCamera) {
  constexpr int kCameras = 5;
  Up();
  StartSwarm({"--cameras", std::to_string(kCameras), "--nohello", "--nobye"});
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  std::map<std::string, std::vector<std::uint64_t>> numbers;
  std::set<std::uint64_t> instances;
  for (int probe = 0; probe < 3; ++probe) {
    SendProbe(prober.get(), NvtProbe(wsd::NewMessageId()));
    for (const Reply& reply : Collect(prober.get(), 300)) {
      const std::optional<Match> m = ScanMatch(reply.bytes);
      ASSERT_TRUE(m.has_value());
      numbers[m->endpoint].push_back(m->message_number);
      instances.insert(m->instance_id);
    }
  }
  ASSERT_EQ(numbers.size(), static_cast<std::size_t>(kCameras));
  for (const auto& [endpoint, seen] : numbers) {
    EXPECT_EQ(seen, (std::vector<std::uint64_t>{2, 3, 4})) << endpoint << ": Hello would have been 1";
  }
  EXPECT_EQ(instances.size(), 1u);
  EXPECT_GT(*instances.begin(), 0u);
  StopSwarm();
}

// --churn: Byes, restarts (Hello with a higher InstanceId after a Bye) and
// metadata bumps at about the requested rate, each announcement following
// the AppSequence rules per camera (section 7); a Probe in the middle is
// answered by exactly the cameras present, with their current InstanceId and
// MetadataVersion, and not by those that left.
TEST_F(SwarmLabTest, ChurnLeavesRejoinsAndBumpsMetadataAtTheRate) {
  constexpr int kCameras = 50;
  constexpr double kRate = 40;
  constexpr std::uint64_t kInstance = 1000;
  Up();
  base::UniqueFd watcher = OpenWatcher(*lab_);
  ASSERT_TRUE(watcher);
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  StartSwarm({"--cameras", std::to_string(kCameras), "--seed", "5", "--churn", "40", "--instance-id",
              std::to_string(kInstance), "--nohello", "--nobye", "--rate-limit", "0"});
  const auto start = Clock::now();

  // Per camera, the state its announcements say (with --nohello every camera
  // starts present in instance kInstance, MessageNumber 1, MetadataVersion 1).
  struct State {
    bool present = true;
    std::uint64_t instance = kInstance;
    std::uint64_t number = 1;
    std::uint64_t metadata = 1;
  };
  std::map<std::string, State> states;
  for (int i = 0; i < kCameras; ++i) states[MakeIdentity(5, static_cast<std::uint32_t>(i)).endpoint] = State{};
  std::uint64_t byes = 0, rejoins = 0, updates = 0;
  std::set<std::string> touched;  // cameras announced since `touched` was cleared
  const auto apply = [&](const std::vector<Reply>& datagrams) {
    for (const Reply& datagram : datagrams) {
      const std::optional<Announcement> a = ScanAnnouncement(datagram.bytes);
      if (!a.has_value()) continue;  // the prober's own Probe, looped back
      ASSERT_EQ(states.count(a->endpoint), 1u) << a->endpoint;
      State& state = states[a->endpoint];
      touched.insert(a->endpoint);
      if (a->kind == wsd::MessageKind::kBye) {
        ASSERT_TRUE(state.present) << "a second Bye";
        EXPECT_EQ(a->instance_id, state.instance);
        EXPECT_GT(a->message_number, state.number);
        state.present = false;
        state.number = a->message_number;
        ++byes;
      } else if (!state.present) {  // a restart
        EXPECT_GT(a->instance_id, state.instance);
        EXPECT_EQ(a->message_number, 1u);
        EXPECT_EQ(a->metadata_version, state.metadata);
        state = State{true, a->instance_id, 1, a->metadata_version};
        ++rejoins;
      } else {  // new metadata, same instance
        EXPECT_EQ(a->instance_id, state.instance);
        EXPECT_GT(a->message_number, state.number);
        EXPECT_GT(a->metadata_version, state.metadata);
        state.number = a->message_number;
        state.metadata = a->metadata_version;
        ++updates;
      }
    }
  };

  apply(Collect(watcher.get(), 1000, 2500));
  apply(Collect(watcher.get(), 0));  // everything the swarm sent before the Probe below
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::uint64_t events = byes + rejoins + updates;
  EXPECT_LE(events, static_cast<std::uint64_t>(kRate * seconds) + 1) << seconds << " s";
  EXPECT_GE(events, static_cast<std::uint64_t>(kRate * seconds * 0.8) - 2) << seconds << " s";
  EXPECT_GT(byes, 0u);
  EXPECT_GT(rejoins, 0u);
  EXPECT_GT(updates, 0u);
  std::printf("[ figures  ] churn 40/s for %.2f s: %llu byes, %llu rejoins, %llu updates\n", seconds,
              static_cast<unsigned long long>(byes), static_cast<unsigned long long>(rejoins),
              static_cast<unsigned long long>(updates));

  // A Probe now. Cameras announced after this point may have changed around
  // it and are not judged; every other one answers exactly when present,
  // with the state its last announcement gave.
  const std::map<std::string, State> before = states;
  touched.clear();
  const std::string id = wsd::NewMessageId();
  SendProbe(prober.get(), NvtProbe(id));
  std::map<std::string, Match> answers;
  for (const Reply& reply : Collect(prober.get(), 150)) {
    const std::optional<Match> m = ScanMatch(reply.bytes);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->relates_to, id);
    EXPECT_TRUE(answers.emplace(m->endpoint, *m).second) << "answered twice";
  }
  apply(Collect(watcher.get(), 0));
  int judged_present = 0;
  int judged_away = 0;
  for (const auto& [endpoint, state] : before) {
    if (touched.count(endpoint) != 0) continue;
    const auto answer = answers.find(endpoint);
    if (!state.present) {
      EXPECT_EQ(answer, answers.end()) << endpoint << " left but answered";
      ++judged_away;
      continue;
    }
    ++judged_present;
    ASSERT_NE(answer, answers.end()) << endpoint << " is present but did not answer";
    EXPECT_EQ(answer->second.instance_id, state.instance) << endpoint;
    EXPECT_EQ(answer->second.metadata_version, state.metadata) << endpoint;
    EXPECT_GT(answer->second.message_number, state.number) << endpoint;
  }
  EXPECT_GT(judged_present, kCameras / 2);
  EXPECT_GT(judged_away, 0);

  const std::string stats = StopSwarm();
  apply(Collect(watcher.get(), 300));  // the events up to the exit (--nobye: no exit Byes)
  EXPECT_EQ(StatValue(stats, "churn_byes"), byes) << stats;
  EXPECT_EQ(StatValue(stats, "churn_hellos"), rejoins) << stats;
  EXPECT_EQ(StatValue(stats, "churn_updates"), updates) << stats;
  EXPECT_EQ(StatValue(stats, "byes"), kC0Families * byes) << stats;
  EXPECT_EQ(StatValue(stats, "hellos"), kC0Families * (rejoins + updates)) << stats;
  std::uint64_t away = 0;
  for (const auto& [endpoint, state] : states) away += state.present ? 0 : 1;
  EXPECT_EQ(StatValue(stats, "away"), away) << stats;
}

// A camera that left answers neither a multicast Probe nor a Resolve, and
// gets no Bye at exit. One camera at --churn 1: its first event is due 1 s
// after the start and the next 1 s later; the seed is one whose first event
// is a leave (the planner is a pure function of the seed).
TEST_F(SwarmLabTest, LeftCameraAnswersNothing) {
  std::uint64_t seed = 1;
  const std::vector<std::uint8_t> present = {1};
  while (ChurnPlanner(seed, 1).Next(present).kind != ChurnKind::kLeave) ++seed;
  Up();
  base::UniqueFd watcher = OpenWatcher(*lab_);
  ASSERT_TRUE(watcher);
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  StartSwarm({"--cameras", "1", "--seed", std::to_string(seed), "--churn", "1", "--nohello", "--rate-limit", "0"});
  std::optional<Announcement> bye;
  const auto deadline = Clock::now() + std::chrono::milliseconds(3000);
  while (!bye.has_value() && Clock::now() < deadline) {
    for (const Reply& datagram : Collect(watcher.get(), 100, 200)) bye = ScanAnnouncement(datagram.bytes);
  }
  ASSERT_TRUE(bye.has_value()) << "no churn announcement within 3 s";
  ASSERT_EQ(bye->kind, wsd::MessageKind::kBye);
  EXPECT_EQ(bye->endpoint, MakeIdentity(seed, 0).endpoint);
  // The next event is ~1 s after the first: the camera stays away meanwhile.
  SendProbe(prober.get(), NvtProbe(wsd::NewMessageId()));
  SendProbe(prober.get(), wsd::BuildResolve("", MakeIdentity(seed, 0).endpoint));
  EXPECT_EQ(Collect(prober.get(), 200).size(), 0u);
  const std::string stats = StopSwarm();
  EXPECT_EQ(StatValue(stats, "probes"), 1u) << stats;
  EXPECT_EQ(StatValue(stats, "resolves"), 1u) << stats;
  EXPECT_EQ(StatValue(stats, "resolves_answered"), 0u) << stats;
  EXPECT_EQ(StatValue(stats, "replies_sent"), 0u) << stats;
  // The stats line decides what the exit did: away means no exit Bye.
  if (StatValue(stats, "away") == 1u) {
    EXPECT_EQ(StatValue(stats, "byes"), kC0Families) << "no exit Bye for a camera that left: " << stats;
  }
}

// --quirks multicast-reply: the ProbeMatches go to 239.255.255.250:3702 (a
// listener hears them), none to the prober's own socket.
TEST_F(SwarmLabTest, MulticastReplyGoesToTheGroup) {
  constexpr int kCameras = 10;
  Up();
  base::UniqueFd watcher = OpenWatcher(*lab_);
  ASSERT_TRUE(watcher);
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  StartSwarm({"--cameras", std::to_string(kCameras), "--seed", "4", "--quirks", "multicast-reply", "--nohello",
              "--nobye"});
  const std::string id = wsd::NewMessageId();
  SendProbe(prober.get(), NvtProbe(id));
  EXPECT_EQ(Collect(prober.get(), 300).size(), 0u) << "nothing unicast to the prober";
  std::set<std::string> endpoints;
  for (const Reply& datagram : Collect(watcher.get(), 300)) {
    const std::optional<Match> m = ScanMatch(datagram.bytes);
    if (!m.has_value()) continue;  // the Probe itself, looped back to the host namespace
    EXPECT_EQ(m->relates_to, id);
    EXPECT_EQ(datagram.source, lab::Lab::CamAddress(0));
    endpoints.insert(m->endpoint);
  }
  EXPECT_EQ(endpoints.size(), static_cast<std::size_t>(kCameras));
  EXPECT_EQ(endpoints.count(MakeIdentity(4, 0).endpoint), 1u);
  const std::string stats = StopSwarm();
  EXPECT_EQ(StatValue(stats, "replies_sent"), static_cast<std::uint64_t>(kCameras)) << stats;
}

// --instance-id N: the InstanceId of Hello, ProbeMatches and Bye. A restart
// with a lower one is what a watcher must treat as stale.
TEST_F(SwarmLabTest, InstanceIdFlagSetsTheAppSequence) {
  constexpr int kCameras = 3;
  Up();
  base::UniqueFd watcher = OpenWatcher(*lab_);
  ASSERT_TRUE(watcher);
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  for (const std::uint64_t instance : {std::uint64_t{42}, std::uint64_t{7}}) {
    testing::SwarmProcess swarm;
    ASSERT_TRUE(swarm
                    .Start(lab_->CamExec(0, {ONVIF_SWARM_BINARY, "--iface", lab_->CamNic(0), "--cameras",
                                             std::to_string(kCameras), "--instance-id", std::to_string(instance)}))
                    .ok());
    ASSERT_TRUE(swarm.WaitReady().ok());
    std::map<std::string, std::uint64_t> last_number;
    int hellos = 0;
    for (const Reply& datagram : Collect(watcher.get(), 300)) {
      const std::optional<Announcement> a = ScanAnnouncement(datagram.bytes);
      ASSERT_TRUE(a.has_value());
      EXPECT_EQ(a->kind, wsd::MessageKind::kHello);
      EXPECT_EQ(a->instance_id, instance);
      EXPECT_EQ(a->message_number, 1u);
      last_number[a->endpoint] = a->message_number;
      ++hellos;
    }
    EXPECT_EQ(hellos, kCameras);
    SendProbe(prober.get(), NvtProbe(wsd::NewMessageId()));
    const std::vector<Reply> replies = Collect(prober.get(), 300);
    EXPECT_EQ(replies.size(), static_cast<std::size_t>(kCameras));
    for (const Reply& reply : replies) {
      const std::optional<Match> m = ScanMatch(reply.bytes);
      ASSERT_TRUE(m.has_value());
      EXPECT_EQ(m->instance_id, instance);
      EXPECT_GT(m->message_number, last_number[m->endpoint]);
      last_number[m->endpoint] = m->message_number;
    }
    absl::StatusOr<int> code = swarm.Finish(SIGTERM);
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 0) << swarm.err();
    int byes = 0;
    for (const Reply& datagram : Collect(watcher.get(), 300)) {
      const std::optional<Announcement> a = ScanAnnouncement(datagram.bytes);
      if (!a.has_value() || a->kind != wsd::MessageKind::kBye) continue;  // the looped-back Probe
      EXPECT_EQ(a->instance_id, instance);
      EXPECT_GT(a->message_number, last_number[a->endpoint]);
      ++byes;
    }
    EXPECT_EQ(byes, kCameras);
  }
}

// --family both (the default): a Probe to ff02::c gets ProbeMatches over
// IPv6, from c0 (the link-local address for a link-local prober, the ULA for
// a ULA one), whose XAddrs name c0's ULA in brackets; a Probe to
// 239.255.255.250 still gets IPv4 ones. Hello and Bye go to both groups.
TEST_F(SwarmLabTest, Ipv6ProbeGetsIpv6ProbeMatches) {
  constexpr int kCameras = 100;
  Up();
  const std::string xaddr6 = "http://[" + lab::Lab::CamAddress6(0) + "]:80/onvif/device_service";
  unsigned n0 = 0;
  base::UniqueFd watcher6 = OpenSocket6(*lab_, "", /*join=*/true, &n0);
  ASSERT_TRUE(watcher6);
  StartSwarm({"--cameras", std::to_string(kCameras), "--seed", "6"});
  std::set<std::string> hellos;
  for (const Reply& datagram : Collect(watcher6.get(), 300)) {
    const std::optional<Announcement> a = ScanAnnouncement(datagram.bytes);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->kind, wsd::MessageKind::kHello);
    EXPECT_EQ(datagram.source.rfind("fe80:", 0), 0u) << datagram.source << ": ff02::c is link-scope";
    wsd::Scanner scanner;
    ASSERT_TRUE(scanner.Scan(datagram.bytes).ok());
    EXPECT_EQ(scanner.envelope().entries()[0].xaddrs.raw, xaddr6);
    hellos.insert(a->endpoint);
  }
  EXPECT_EQ(hellos.size(), static_cast<std::size_t>(kCameras));

  for (const std::string& bind : {std::string(), lab::Lab::HostAddress6(0)}) {
    base::UniqueFd prober6 = OpenSocket6(*lab_, bind, /*join=*/false, &n0);
    ASSERT_TRUE(prober6) << bind;
    const std::string id = wsd::NewMessageId();
    SendProbe6(prober6.get(), n0, NvtProbe(id));
    const std::vector<Reply> replies = Collect(prober6.get(), 300);
    ASSERT_EQ(replies.size(), static_cast<std::size_t>(kCameras)) << "bound to '" << bind << "'";
    std::set<std::string> endpoints;
    for (const Reply& reply : replies) {
      const std::optional<Match> m = ScanMatch(reply.bytes);
      ASSERT_TRUE(m.has_value());
      EXPECT_EQ(m->relates_to, id);
      EXPECT_EQ(m->xaddrs, xaddr6);
      if (bind.empty()) {
        EXPECT_EQ(reply.source.rfind("fe80:", 0), 0u) << reply.source;
      } else {
        EXPECT_EQ(reply.source, lab::Lab::CamAddress6(0));
      }
      endpoints.insert(m->endpoint);
    }
    EXPECT_EQ(endpoints.size(), static_cast<std::size_t>(kCameras));
    EXPECT_EQ(endpoints.count(MakeIdentity(6, 0).endpoint), 1u);
  }

  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  SendProbe(prober.get(), NvtProbe(wsd::NewMessageId()));
  const std::vector<Reply> replies4 = Collect(prober.get(), 300);
  ASSERT_EQ(replies4.size(), static_cast<std::size_t>(kCameras));
  EXPECT_EQ(ScanMatch(replies4[0].bytes)->xaddrs, "http://" + lab::Lab::CamAddress(0) + ":80/onvif/device_service");

  const std::string stats = StopSwarm();
  std::set<std::string> byes;
  for (const Reply& datagram : Collect(watcher6.get(), 300)) {
    const std::optional<Announcement> a = ScanAnnouncement(datagram.bytes);
    if (a.has_value() && a->kind == wsd::MessageKind::kBye) byes.insert(a->endpoint);
  }
  EXPECT_EQ(byes.size(), static_cast<std::size_t>(kCameras));
  EXPECT_EQ(StatValue(stats, "probes"), 3u) << stats;
  EXPECT_EQ(StatValue(stats, "replies_sent"), 3u * kCameras) << stats;
  EXPECT_NE(stats.find("\"interfaces\":[\"c0\"]"), std::string::npos) << stats;
}

// --family v4 / v6 serve one family only: the other family's Probe goes
// unanswered (and --family v6 sends no IPv4 Hello).
TEST_F(SwarmLabTest, FamilyFlagServesOneFamily) {
  constexpr int kCameras = 5;
  Up();
  base::UniqueFd watcher = OpenWatcher(*lab_);
  ASSERT_TRUE(watcher);
  unsigned n0 = 0;
  base::UniqueFd prober6 = OpenSocket6(*lab_, "", /*join=*/false, &n0);
  ASSERT_TRUE(prober6);
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  for (const std::string family : {"v4", "v6"}) {
    testing::SwarmProcess swarm;
    ASSERT_TRUE(swarm
                    .Start(lab_->CamExec(0, {ONVIF_SWARM_BINARY, "--iface", lab_->CamNic(0), "--cameras",
                                             std::to_string(kCameras), "--family", family, "--nobye"}))
                    .ok());
    ASSERT_TRUE(swarm.WaitReady().ok()) << swarm.err();
    std::size_t hellos = 0;
    for (const Reply& datagram : Collect(watcher.get(), 300)) {
      hellos += ScanAnnouncement(datagram.bytes).has_value() ? 1 : 0;  // not the looped-back Probes
    }
    EXPECT_EQ(hellos, family == "v4" ? std::size_t{kCameras} : 0u) << family;
    SendProbe(prober.get(), NvtProbe(wsd::NewMessageId()));
    EXPECT_EQ(Collect(prober.get(), 300).size(), family == "v4" ? std::size_t{kCameras} : 0u) << family;
    SendProbe6(prober6.get(), n0, NvtProbe(wsd::NewMessageId()));
    EXPECT_EQ(Collect(prober6.get(), 300).size(), family == "v6" ? std::size_t{kCameras} : 0u) << family;
    absl::StatusOr<int> code = swarm.Finish(SIGTERM);
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 0) << swarm.err();
  }
}

// An IPv6-only segment (lab.sh --family v6): the default swarm serves IPv6
// alone there; with c0's ULA removed, the XAddr names c0's link-local
// address, without a zone (the receiver adds its own).
TEST_F(SwarmLabTest, Ipv6OnlySegmentAndLinkLocalXAddr) {
  constexpr int kCameras = 20;
  Up(0, "v6");
  unsigned n0 = 0;
  base::UniqueFd prober6 = OpenSocket6(*lab_, "", /*join=*/false, &n0);
  ASSERT_TRUE(prober6);
  StartSwarm({"--cameras", std::to_string(kCameras), "--nohello", "--nobye"});
  SendProbe6(prober6.get(), n0, NvtProbe(wsd::NewMessageId()));
  std::vector<Reply> replies = Collect(prober6.get(), 300);
  ASSERT_EQ(replies.size(), static_cast<std::size_t>(kCameras));
  EXPECT_EQ(ScanMatch(replies[0].bytes)->xaddrs,
            "http://[" + lab::Lab::CamAddress6(0) + "]:80/onvif/device_service");
  StopSwarm();

  const absl::StatusOr<std::string> removed = lab::RunChecked(
      {"ip", "-n", lab_->CamNamespace(0), "addr", "del", lab::Lab::CamAddress6(0) + "/64", "dev", lab_->CamNic(0)});
  ASSERT_TRUE(removed.ok()) << removed.status();
  testing::SwarmProcess swarm;  // a process of its own: swarm_ has its first run's output
  ASSERT_TRUE(swarm
                  .Start(lab_->CamExec(0, {ONVIF_SWARM_BINARY, "--iface", lab_->CamNic(0), "--cameras",
                                           std::to_string(kCameras), "--nohello", "--nobye"}))
                  .ok());
  ASSERT_TRUE(swarm.WaitReady().ok()) << swarm.err();
  SendProbe6(prober6.get(), n0, NvtProbe(wsd::NewMessageId()));
  replies = Collect(prober6.get(), 300);
  ASSERT_EQ(replies.size(), static_cast<std::size_t>(kCameras));
  ASSERT_EQ(replies[0].source.rfind("fe80:", 0), 0u) << replies[0].source;
  for (const Reply& reply : replies) {
    EXPECT_EQ(ScanMatch(reply.bytes)->xaddrs, "http://[" + reply.source + "]:80/onvif/device_service");
  }
  absl::StatusOr<int> code = swarm.Finish(SIGTERM);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << swarm.err();
}

TEST_F(SwarmLabTest, RateLimitPerSource) {
  Up();
  StartSwarm({"--cameras", "10", "--rate-limit", "2", "--nohello", "--nobye"});
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  for (int i = 0; i < 5; ++i) SendProbe(prober.get(), NvtProbe(""));
  EXPECT_EQ(Collect(prober.get(), 300).size(), 20u);  // 2 Probes x 10 cameras
  const std::string stats = StopSwarm();
  EXPECT_EQ(StatValue(stats, "answered"), 2u) << stats;
  EXPECT_EQ(StatValue(stats, "rate_limited"), 3u) << stats;
}

TEST_F(SwarmLabTest, AddressesGiveEachCameraItsOwnSourceInSpecMode) {
  constexpr int kCameras = 200;
  Up(kCameras);
  StartSwarm({"--cameras", std::to_string(kCameras), "--addresses", "10.100.0.0/16", "--http-port", "8080",
              "--mode", "spec", "--max-delay", "300ms", "--nohello"});
  base::UniqueFd prober = OpenProber(*lab_);
  ASSERT_TRUE(prober);
  const std::string id = wsd::NewMessageId();
  const auto start = Clock::now();
  SendProbe(prober.get(), NvtProbe(id));
  const std::vector<Reply> replies = Collect(prober.get(), 400);
  const double span_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count() - 400;
  ASSERT_EQ(replies.size(), static_cast<size_t>(kCameras));
  std::set<std::string> sources;
  for (const Reply& reply : replies) {
    const std::optional<Match> m = ScanMatch(reply.bytes);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->relates_to, id);
    EXPECT_EQ(m->xaddrs, "http://" + reply.source + ":8080/onvif/device_service");
    sources.insert(reply.source);
  }
  EXPECT_EQ(sources.size(), static_cast<size_t>(kCameras));
  EXPECT_EQ(sources.count("10.100.0.1"), 1u);
  // spec mode: spread over rand[0, 300 ms], not a burst.
  EXPECT_GT(span_ms, 150) << span_ms;
  StopSwarm();
}

TEST_F(SwarmLabTest, SetupErrorsExit2) {
  Up();
  testing::SwarmProcess missing;
  ASSERT_TRUE(
      missing.Start(lab_->CamExec(0, {ONVIF_SWARM_BINARY, "--cameras", "5", "--addresses", "10.100.0.0/16"}))
          .ok());
  absl::StatusOr<int> code = missing.Finish(0);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 2);
  EXPECT_NE(missing.err().find("10.100.0.1"), std::string::npos) << missing.err();

  testing::SwarmProcess unknown;
  ASSERT_TRUE(unknown.Start(lab_->CamExec(0, {ONVIF_SWARM_BINARY, "--iface", "nosuch0"})).ok());
  code = unknown.Finish(0);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 2);
  EXPECT_NE(unknown.err().find("nosuch0"), std::string::npos) << unknown.err();
}

// Flag errors are found before anything touches the network: no root needed.
TEST(SwarmFlagsTest, BadFlagsExit2) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--cameras", "0"},
           {"--cameras", "100001"},
           {"--cameras=abc"},
           {"--mode", "burst"},
           {"--addresses", "10.0.0.0/40"},
           {"--addresses", "10.0.0.0/30", "--cameras", "3"},
           {"--http-port", "0"},
           {"--rate-limit", "-1"},
           {"--exit-after", "0s"},
           {"--retransmissions", "twice"},
           {"--types", "any"},
           {"--quirks", "multi-xaddr,bogus"},
           {"--types", "foo:Camera"},
           {"--quirks", "multicast-reply,multicast"},
           {"--churn", "-1"},
           {"--churn", "10001"},
           {"--churn", "often"},
           {"--instance-id", "-1"},
           {"--instance-id", "18446744073709551616"},
           {"--family", "v5"},
           {"--family", "v6", "--addresses", "10.0.0.0/24"},
           {"--bogus"},
           {"stray"},
       }) {
    std::vector<std::string> argv = {ONVIF_SWARM_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::SwarmProcess p;
    ASSERT_TRUE(p.Start(argv).ok());
    absl::StatusOr<int> code = p.Finish(0);
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 2) << args[0] << ": " << p.err();
    EXPECT_NE(p.err().find("onvif-swarm:"), std::string::npos) << p.err();
  }
  testing::SwarmProcess help;
  ASSERT_TRUE(help.Start({ONVIF_SWARM_BINARY, "--help"}).ok());
  absl::StatusOr<int> code = help.Finish(0);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  for (const char* flag : {"--cameras", "--iface", "--exclude", "--mode", "--max-delay", "--seed",
                           "--addresses", "--http-port", "--exit-after", "--rate-limit", "--retransmissions", "--types", "--quirks",
                           "--stats", "--hello", "--bye", "--churn", "--instance-id", "--family"}) {
    EXPECT_NE(help.out().find(flag), std::string::npos) << flag;
  }
  // --quirks lists every quirk with its meaning.
  for (const char* quirk : {"soap11:", "prefixes:", "echo-message-id:", "multi-xaddr:", "no-xaddrs:", "oversize:",
                            "duplicate-epr:", "multicast-reply:"}) {
    EXPECT_NE(help.out().find(quirk), std::string::npos) << quirk;
  }
}

}  // namespace
}  // namespace onvif::swarm
