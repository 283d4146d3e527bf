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
  std::string source;  // IPv4 source address
  std::string bytes;
};

// What one ProbeMatches says, owned.
struct Match {
  std::string relates_to;
  std::string endpoint;
  std::string xaddrs;
  std::uint64_t instance_id = 0;
  std::uint64_t message_number = 0;
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
  return m;
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

void SendProbe(int fd, const std::string& probe) {
  sockaddr_in group{};
  group.sin_family = AF_INET;
  group.sin_port = htons(wsd::kPort);
  inet_pton(AF_INET, std::string(wsd::kMulticastV4).c_str(), &group.sin_addr);
  ASSERT_EQ(::sendto(fd, probe.data(), probe.size(), 0, reinterpret_cast<sockaddr*>(&group), sizeof(group)),
            static_cast<ssize_t>(probe.size()));
}

// Receives until `quiet_ms` pass without a datagram (or max_ms in all).
std::vector<Reply> Collect(int fd, int quiet_ms, int max_ms = 8000) {
  std::vector<Reply> out;
  const auto end = Clock::now() + std::chrono::milliseconds(max_ms);
  std::string buf(65536, '\0');
  while (Clock::now() < end) {
    pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, quiet_ms) <= 0) break;
    sockaddr_in from{};
    socklen_t from_length = sizeof(from);
    const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
                                 &from_length);
    if (n < 0) continue;
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from.sin_addr, text, sizeof(text));
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

  void Up(int addresses = 0) {
    lab::LabOptions options;
    options.name = lab::UniqueLabName("sw");
    options.nics = 1;
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
  EXPECT_EQ(StatValue(stats, "byes"), static_cast<std::uint64_t>(kCameras)) << stats;
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
  EXPECT_EQ(StatValue(stats, "hellos"), static_cast<std::uint64_t>(kCameras)) << stats;
  EXPECT_EQ(StatValue(stats, "byes"), static_cast<std::uint64_t>(kCameras)) << stats;
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
  EXPECT_EQ(StatValue(stats, "hellos"), static_cast<std::uint64_t>(kCameras)) << stats;
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
                           "--stats"}) {
    EXPECT_NE(help.out().find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace onvif::swarm
