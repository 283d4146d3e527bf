// IPv6 end to end: the real onvif-sweep binary in the host namespace of a
// lab (tests/lab/lab.sh) against responders that answer over IPv6, on
// IPv6-only and dual-stack segments. Needs root (network namespaces); every
// test skips with a message otherwise.
//
// The responders: real onvif-swarm processes (--family, default both) for
// the 1000-camera storms, and an in-test responder thread (FamilyResponder)
// where a test needs what the swarm does not play (per-family XAddr lists,
// link-local-only XAddrs, Probe counts per family). FamilyResponder runs on
// the engine's own listener sockets (net::OpenListenerSocket, one per
// family: [::]:3702 SO_BINDTODEVICE'd and joined to ff02::c, or
// 0.0.0.0:3702 joined to 239.255.255.250) and answers every Probe with one
// ProbeMatches per camera, unicast to the Probe's (zoned) source.
// Third-party: wsdd answers over IPv6 too (skipped when missing).
//
// Network safety: every sweep runs in a lab namespace (`ip netns exec`),
// every responder thread entered one (lab::RunInNetns) and stops within
// 20 s; the Lab owner removes the namespaces, also when an assertion fails.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "engine/net/interfaces.h"
#include "engine/net/udp_socket.h"
#include "engine/swarm/identity.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/scanner.h"
#include "gtest/gtest.h"
#include "tests/lab/lab.h"
#include "tests/support/json_reader.h"
#include "tests/swarm/swarm_process.h"

namespace onvif::integration {
namespace {

using ::onvif::testing::Json;
using ::onvif::testing::ReadJson;

constexpr char kSweepBinary[] = ONVIF_SWEEP_BINARY;
constexpr char kSwarmBinary[] = ONVIF_SWARM_BINARY;

// onvif-sweep's default Probe variants, and its default schedule.
constexpr int kVariants = 2;
constexpr int kSends = 4;

std::string CameraEndpoint(int nic, int k) {
  return absl::StrCat("urn:uuid:00000000-0000-4000-8006-", 100000000000 + nic * 1000 + k);
}

// ---------------------------------------------------------------------------
// The responder.

struct ResponderConfig {
  std::string netns;
  std::string ifname;  // the camera-side device: c<i>, or br0 when bridged
  int nic = 0;         // numbers the endpoints
  int cameras = 1;
  std::vector<net::Family> families;
  // Every camera's XAddrs; "{ll}" stands for the device's link-local IPv6
  // address, unzoned (what a camera writes: it cannot know our zone).
  std::vector<std::string> xaddrs;
  // Each reply lists only the XAddrs of its own family (IPv6 ones have a
  // bracketed host), as wsdd and Windows WSD hosts do.
  bool per_family_xaddrs = false;
};

class FamilyResponder {
 public:
  explicit FamilyResponder(ResponderConfig config) : config_(std::move(config)) {
    thread_ = std::thread([this] {
      const absl::Status entered = lab::RunInNetns(config_.netns, [this] { Serve(); });
      if (!entered.ok()) error_ = std::string(entered.message());
      ready_ = true;  // unblock a waiter even on failure
    });
  }
  ~FamilyResponder() {
    stop_ = true;
    thread_.join();
  }
  FamilyResponder(const FamilyResponder&) = delete;
  FamilyResponder& operator=(const FamilyResponder&) = delete;

  // Waits until every socket is bound and joined; false with error() set otherwise.
  bool WaitReady() {
    for (int i = 0; i < 500 && !ready_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return ready_ && error_.empty();
  }
  const std::string& error() const { return error_; }
  // The camera device's link-local address, unzoned ("fe80::...").
  const std::string& link_local() const { return link_local_; }
  int probes(net::Family family) const { return probes_[family == net::Family::kIPv4 ? 0 : 1]; }

 private:
  void Serve() {
    net::InterfaceFilter filter;
    filter.include = {config_.ifname};
    filter.families = config_.families;
    absl::StatusOr<std::vector<net::Interface>> ifaces = net::ListInterfaces(filter);
    if (!ifaces.ok()) {
      error_ = std::string(ifaces.status().message());
      return;
    }
    const net::Interface& iface = ifaces->front();
    if (const auto ll = iface.PrimaryAddress(net::Family::kIPv6); ll.has_value() && ll->address.IsLinkLocal()) {
      link_local_ = net::IpAddress::V6(ll->address.v6()).ToString();
    }
    std::vector<net::BoundSocket> sockets;
    for (const net::Family family : config_.families) {
      absl::StatusOr<net::BoundSocket> socket = net::OpenListenerSocket(iface, family);
      if (!socket.ok()) {
        error_ = std::string(socket.status().message());
        return;
      }
      sockets.push_back(*std::move(socket));
    }
    // The cameras as each family's replies describe them: [0] IPv4, [1] IPv6.
    std::vector<wsd::DeviceDescription> cams[2];
    for (int family = 0; family < 2; ++family) {
      for (int k = 0; k < config_.cameras; ++k) {
        wsd::DeviceDescription d;
        d.endpoint = CameraEndpoint(config_.nic, k);
        d.types = {{"http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter"},
                   {"http://www.onvif.org/ver10/device/wsdl", "Device"}};
        d.scopes = {absl::StrCat("onvif://www.onvif.org/name/v6cam%20", config_.nic, "-", k)};
        for (const std::string& xaddr : config_.xaddrs) {
          const bool ipv6 = absl::StrContains(xaddr, "://[");
          if (config_.per_family_xaddrs && ipv6 != (family == 1)) continue;
          d.xaddrs.push_back(absl::StrReplaceAll(xaddr, {{"{ll}", link_local_}}));
        }
        d.metadata_version = 1;
        cams[family].push_back(std::move(d));
      }
    }
    ready_ = true;

    wsd::Scanner scanner;
    std::string buffer(65536, '\0');
    std::uint64_t message_number = 0;
    std::vector<pollfd> fds;
    for (const net::BoundSocket& socket : sockets) fds.push_back({socket.fd.get(), POLLIN, 0});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!stop_ && std::chrono::steady_clock::now() < deadline) {
      if (poll(fds.data(), fds.size(), 50) <= 0) continue;
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if ((fds[i].revents & POLLIN) == 0) continue;
        sockaddr_storage peer_storage{};
        socklen_t peer_length = sizeof peer_storage;
        const ssize_t n = recvfrom(fds[i].fd, buffer.data(), buffer.size(), 0,
                                   reinterpret_cast<sockaddr*>(&peer_storage), &peer_length);
        if (n <= 0) continue;
        if (!scanner.Scan(std::string_view(buffer.data(), static_cast<std::size_t>(n))).ok()) continue;
        const wsd::Envelope& envelope = scanner.envelope();
        if (envelope.kind != wsd::MessageKind::kProbe || envelope.message_id.needs_decoding) continue;
        const int family = sockets[i].family == net::Family::kIPv4 ? 0 : 1;
        ++probes_[family];
        const std::string relates_to(envelope.message_id.raw);
        for (const wsd::DeviceDescription& cam : cams[family]) {
          // Own MessageIDs (as tests/sweep/responder.h: TSan and abseil's pool).
          ++message_number;
          const std::string message_id = absl::StrCat("urn:uuid:", 20000000 + config_.nic, "-0000-4000-8000-",
                                                      100000000000 + message_number);
          const std::string reply = wsd::BuildProbeMatches(
              message_id, relates_to, {.instance_id = 1, .message_number = message_number}, {&cam, 1});
          // peer_storage holds the zoned source: a link-local reply goes
          // back over the link it came from.
          sendto(fds[i].fd, reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&peer_storage),
                 peer_length);
        }
      }
    }
  }

  ResponderConfig config_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stop_{false};
  std::atomic<int> probes_[2] = {0, 0};
  std::string error_;
  std::string link_local_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// The sweep, run and read back.

struct Device {
  std::string endpoint;
  std::vector<std::string> xaddrs, interfaces, addresses, answered;
  std::string best_xaddr;
};

struct SocketFigures {
  std::string family, address;
  std::int64_t probes = -1, received = -1;
};

struct InterfaceFigures {
  std::string name, address;
  std::int64_t probes_sent = -1, datagrams = -1, new_devices = -1, duplicates = -1, unrelated = -1, malformed = -1,
               kernel_drops = -1;
  std::vector<SocketFigures> sockets;
};

struct SweepRun {
  int exit_code = -1;
  std::string output;
  std::vector<Device> devices;
  std::vector<InterfaceFigures> interfaces;

  const Device* Find(const std::string& endpoint) const {
    for (const Device& d : devices) {
      if (d.endpoint == endpoint) return &d;
    }
    return nullptr;
  }
  const InterfaceFigures* Interface(const std::string& name) const {
    for (const InterfaceFigures& i : interfaces) {
      if (i.name == name) return &i;
    }
    return nullptr;
  }
};

std::string Joined(const std::vector<std::string>& items) { return "[" + absl::StrJoin(items, ",") + "]"; }

class Ipv6Test : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { LAB_SKIP_UNLESS_ROOT("runs onvif-sweep in network namespaces (tests/lab/lab.sh)"); }

  void Up(int nics, std::string family, bool bridge = false) {
    lab::LabOptions options;
    options.name = lab::UniqueLabName("v6");
    options.nics = nics;
    options.family = std::move(family);
    options.bridge = bridge;
    absl::StatusOr<lab::Lab> made = lab::Lab::Up(std::move(options));
    ASSERT_TRUE(made.ok()) << made.status();
    lab_.emplace(*std::move(made));
  }

  // Starts a responder behind `nic` and waits until it listens.
  FamilyResponder& Respond(int nic, int cameras, std::vector<net::Family> families, std::vector<std::string> xaddrs,
                           bool per_family_xaddrs = false) {
    responders_.push_back(std::make_unique<FamilyResponder>(ResponderConfig{lab_->CamNamespace(nic), lab_->CamNic(nic),
                                                                            nic, cameras, std::move(families),
                                                                            std::move(xaddrs), per_family_xaddrs}));
    EXPECT_TRUE(responders_.back()->WaitReady()) << responders_.back()->error();
    return *responders_.back();
  }

  // onvif-sweep --format json --backend PARAM ARGS in the host namespace.
  void Sweep(std::vector<std::string> args, SweepRun& run) {
    std::vector<std::string> argv = {kSweepBinary, "--format", "json", "--backend", GetParam()};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<lab::CommandResult> result = lab::RunCommand(lab_->HostExec(argv));
    ASSERT_TRUE(result.ok()) << result.status();
    run.exit_code = result->exit_code;
    run.output = result->output;
    ASSERT_EQ(run.exit_code, 0) << run.output;
    std::string json;
    for (absl::string_view line : absl::StrSplit(run.output, '\n')) {
      if (absl::StartsWith(line, "{\"devices\":")) json = std::string(line);
    }
    absl::StatusOr<Json> doc = ReadJson(json);
    ASSERT_TRUE(doc.ok()) << doc.status() << " in " << run.output;
    const Json* devices = doc->Find("devices");
    const Json* stats = doc->Find("stats");
    ASSERT_TRUE(devices != nullptr && devices->is_array() && stats != nullptr) << json;
    const auto strings = [](const Json& object, std::string_view key) {
      const Json* value = object.Find(key);
      return value == nullptr ? std::vector<std::string>{} : value->Strings();
    };
    const auto text = [](const Json& object, std::string_view key) {
      const Json* value = object.Find(key);
      return value == nullptr ? std::string() : value->str();
    };
    for (const Json& d : devices->array()) {
      run.devices.push_back({text(d, "endpoint"), strings(d, "xaddrs"), strings(d, "interfaces"),
                             strings(d, "addresses"), strings(d, "answered"), text(d, "best_xaddr")});
    }
    const Json* interfaces = stats->Find("interfaces");
    ASSERT_TRUE(interfaces != nullptr && interfaces->is_array()) << json;
    for (const Json& i : interfaces->array()) {
      InterfaceFigures figures;
      figures.name = text(i, "name");
      figures.address = text(i, "address");
      figures.probes_sent = i.IntAt("probes_sent");
      figures.datagrams = i.IntAt("datagrams");
      figures.new_devices = i.IntAt("new");
      figures.duplicates = i.IntAt("duplicates");
      figures.unrelated = i.IntAt("unrelated");
      figures.malformed = i.IntAt("malformed");
      figures.kernel_drops = i.IntAt("kernel_drops");
      const Json* sockets = i.Find("sockets");
      ASSERT_TRUE(sockets != nullptr && sockets->is_array()) << json;
      for (const Json& s : sockets->array()) {
        figures.sockets.push_back({text(s, "family"), text(s, "address"), s.IntAt("probes"), s.IntAt("received")});
      }
      run.interfaces.push_back(std::move(figures));
    }
  }

  // onvif-swarm serving the camera side of `nic`, ready when this returns.
  void StartSwarm(int nic, std::vector<std::string> args) {
    std::vector<std::string> argv = {kSwarmBinary, "--iface", lab_->CamNic(nic), "--stats", "--nohello",
                                     "--nobye",    "--exit-after", "120s"};
    argv.insert(argv.end(), args.begin(), args.end());
    swarms_.push_back(std::make_unique<swarm::testing::SwarmProcess>());
    ASSERT_TRUE(swarms_.back()->Start(lab_->CamExec(nic, argv)).ok());
    const absl::Status ready = swarms_.back()->WaitReady(30'000);
    ASSERT_TRUE(ready.ok()) << ready;
  }

  // Ends every swarm and returns their --stats objects.
  std::vector<Json> StopSwarms() {
    std::vector<Json> out;
    for (auto& s : swarms_) {
      absl::StatusOr<int> code = s->Finish(SIGTERM, 30'000);
      EXPECT_TRUE(code.ok() && *code == 0) << s->err();
      absl::StatusOr<Json> stats = ReadJson(s->out());
      EXPECT_TRUE(stats.ok()) << s->out();
      out.push_back(stats.ok() ? *stats : Json{});
    }
    swarms_.clear();
    return out;
  }

  // The link-local address of the camera side of `nic`, unzoned.
  std::string CamLinkLocal(int nic) {
    absl::StatusOr<std::string> out =
        lab::RunChecked({"ip", "-n", lab_->CamNamespace(nic), "-6", "-o", "addr", "show", "dev", lab_->CamNic(nic),
                         "scope", "link"});
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) return "";
    const std::size_t begin = out->find("inet6 ");
    if (begin == std::string::npos) return "";
    return out->substr(begin + 6, out->find('/', begin) - begin - 6);
  }

  void TearDown() override {
    swarms_.clear();      // killed and reaped by their owners
    responders_.clear();  // threads first, then the namespaces they are in
    if (lab_) {
      EXPECT_TRUE(lab_->Down().ok());
    }
  }

  std::optional<lab::Lab> lab_;
  std::vector<std::unique_ptr<FamilyResponder>> responders_;
  std::vector<std::unique_ptr<swarm::testing::SwarmProcess>> swarms_;
};

// a) An IPv6-only segment behind each of two NICs. Every camera is found,
// on its own NIC, from its link-local source (zoned with our NIC's name);
// an XAddr in the NIC's ULA prefix wins, and a camera that lists only its
// link-local XAddr gets it with our zone, RFC 6874 style: %25n<i>. With
// --family both the IPv4-less NICs are swept over IPv6 alone, alike.
TEST_P(Ipv6Test, Ipv6OnlySegmentsEveryCameraWithAZonedXAddr) {
  constexpr int kCameras = 20;
  ASSERT_NO_FATAL_FAILURE(Up(2, "v6"));
  FamilyResponder& ula = Respond(0, kCameras, {net::Family::kIPv6},
                                 {"http://[{ll}]/onvif/device_service",
                                  absl::StrCat("http://[", lab::Lab::CamAddress6(0), "]:8080/onvif/device_service")});
  FamilyResponder& link_local_only = Respond(1, kCameras, {net::Family::kIPv6}, {"http://[{ll}]/onvif/device_service"});
  ASSERT_FALSE(ula.link_local().empty());
  ASSERT_FALSE(link_local_only.link_local().empty());

  for (const char* family : {"v6", "both"}) {
    SCOPED_TRACE(family);
    SweepRun run;
    ASSERT_NO_FATAL_FAILURE(Sweep({"--iface", "n0,n1", "--family", family, "--timeout", "10s"}, run));
    EXPECT_EQ(run.devices.size(), 2u * kCameras) << run.output;
    for (int nic = 0; nic < 2; ++nic) {
      const std::string name = lab::Lab::HostNic(nic);
      const std::string source = (nic == 0 ? ula : link_local_only).link_local() + "%" + name;
      const std::string want_best =
          nic == 0 ? absl::StrCat("http://[", lab::Lab::CamAddress6(0), "]:8080/onvif/device_service")
                   : absl::StrCat("http://[", link_local_only.link_local(), "%25", name, "]/onvif/device_service");
      int right = 0;
      for (int k = 0; k < kCameras; ++k) {
        const Device* d = run.Find(CameraEndpoint(nic, k));
        ASSERT_NE(d, nullptr) << CameraEndpoint(nic, k) << " missing: " << run.output;
        EXPECT_EQ(d->interfaces, std::vector<std::string>{name}) << Joined(d->interfaces);
        EXPECT_EQ(d->addresses, std::vector<std::string>{source}) << Joined(d->addresses);
        EXPECT_EQ(d->best_xaddr, want_best) << Joined(d->xaddrs);
        EXPECT_EQ(d->answered, (std::vector<std::string>{"dn:NetworkVideoTransmitter", "tds:Device"}));
        right += d->best_xaddr == want_best;
      }
      EXPECT_EQ(right, kCameras);
      const InterfaceFigures* figures = run.Interface(name);
      ASSERT_NE(figures, nullptr) << run.output;
      ASSERT_EQ(figures->sockets.size(), 1u) << "no IPv4 address, no IPv4 socket: " << run.output;
      EXPECT_EQ(figures->sockets[0].family, "IPv6");
      EXPECT_TRUE(absl::StartsWith(figures->address, "[fe80::")) << figures->address;
      EXPECT_TRUE(absl::StrContains(figures->address, absl::StrCat("%", name, "]:"))) << figures->address;
      EXPECT_EQ(figures->probes_sent, kSends * kVariants);
      EXPECT_EQ(figures->new_devices, kCameras);
      EXPECT_EQ(figures->datagrams, kSends * kVariants * kCameras);
      EXPECT_EQ(figures->unrelated, 0);
    }
  }
  // Two sweeps, each the full schedule of both variants over IPv6 only.
  EXPECT_EQ(ula.probes(net::Family::kIPv6), 2 * kSends * kVariants);
  EXPECT_EQ(link_local_only.probes(net::Family::kIPv6), 2 * kSends * kVariants);
}

// b) A dual-stack segment; the cameras answer over IPv4 and IPv6, each
// family's replies with that family's XAddr. Each is ONE device, listed on
// n0 once, with both source addresses and both XAddrs; the IPv4 XAddr (in
// n0's subnet) is the best one. Both sockets of n0 received every reply;
// only the first was new.
TEST_P(Ipv6Test, DualStackCameraIsOneDeviceOnItsNic) {
  constexpr int kCameras = 25;
  ASSERT_NO_FATAL_FAILURE(Up(1, "both"));
  const std::string v4_xaddr = absl::StrCat("http://", lab::Lab::CamAddress(0), "/onvif/device_service");
  FamilyResponder& cams = Respond(0, kCameras, {net::Family::kIPv4, net::Family::kIPv6},
                                  {"http://[{ll}]/onvif/device_service", v4_xaddr}, /*per_family_xaddrs=*/true);
  const std::string v6_xaddr = absl::StrCat("http://[", cams.link_local(), "]/onvif/device_service");
  SweepRun run;
  ASSERT_NO_FATAL_FAILURE(Sweep({"--iface", "n0", "--timeout", "10s"}, run));  // --family both is the default
  ASSERT_EQ(run.devices.size(), static_cast<std::size_t>(kCameras)) << run.output;
  std::set<std::string> seen;
  const std::set<std::string> sources = {lab::Lab::CamAddress(0), cams.link_local() + "%n0"};
  for (const Device& d : run.devices) {
    EXPECT_TRUE(seen.insert(d.endpoint).second) << d.endpoint << " listed twice";
    EXPECT_EQ(d.interfaces, std::vector<std::string>{"n0"}) << Joined(d.interfaces);
    EXPECT_EQ(std::set<std::string>(d.addresses.begin(), d.addresses.end()), sources) << Joined(d.addresses);
    EXPECT_EQ(d.addresses.size(), 2u) << Joined(d.addresses);
    // Each family's replies list that family's XAddr: the device has both,
    // whichever family answered first, and the one in n0's subnet is best.
    EXPECT_EQ(std::set<std::string>(d.xaddrs.begin(), d.xaddrs.end()), (std::set<std::string>{v4_xaddr, v6_xaddr}))
        << Joined(d.xaddrs);
    EXPECT_EQ(d.best_xaddr, v4_xaddr);
  }
  for (int k = 0; k < kCameras; ++k) EXPECT_EQ(seen.count(CameraEndpoint(0, k)), 1u) << k;
  ASSERT_EQ(run.interfaces.size(), 1u) << "one stats entry per interface, whatever the families: " << run.output;
  const InterfaceFigures& n0 = run.interfaces[0];
  EXPECT_EQ(n0.name, "n0");
  EXPECT_EQ(n0.address.substr(0, n0.address.find(':')), lab::Lab::HostAddress(0)) << "IPv4 first";
  ASSERT_EQ(n0.sockets.size(), 2u) << run.output;
  EXPECT_EQ(n0.sockets[0].family, "IPv4");
  EXPECT_EQ(n0.sockets[1].family, "IPv6");
  constexpr int kRepliesPerFamily = kSends * kVariants * kCameras;
  for (const SocketFigures& s : n0.sockets) {
    EXPECT_EQ(s.probes, kSends * kVariants) << s.family;
    EXPECT_EQ(s.received, kRepliesPerFamily) << s.family;
  }
  EXPECT_EQ(n0.probes_sent, 2 * kSends * kVariants);
  EXPECT_EQ(n0.new_devices, kCameras);
  EXPECT_EQ(n0.duplicates, 2 * kRepliesPerFamily - kCameras);
  EXPECT_EQ(cams.probes(net::Family::kIPv4), kSends * kVariants);
  EXPECT_EQ(cams.probes(net::Family::kIPv6), kSends * kVariants);
}

// b') Two NICs on one bridged dual-stack segment: every camera answers both
// NICs over both families, and is one device listed on [n0,n1].
TEST_P(Ipv6Test, BridgedDualStackSegmentListsEachCameraOnceOnBothNics) {
  constexpr int kCameras = 10;
  ASSERT_NO_FATAL_FAILURE(Up(2, "both", /*bridge=*/true));
  FamilyResponder& cams =
      Respond(0, kCameras, {net::Family::kIPv4, net::Family::kIPv6}, {"http://[{ll}]/onvif/device_service"});
  SweepRun run;
  ASSERT_NO_FATAL_FAILURE(Sweep({"--iface", "n0,n1", "--threads", "2", "--timeout", "10s"}, run));
  ASSERT_EQ(run.devices.size(), static_cast<std::size_t>(kCameras)) << run.output;
  for (const Device& d : run.devices) {
    EXPECT_EQ(d.interfaces, (std::vector<std::string>{"n0", "n1"})) << d.endpoint;
    // Only a link-local XAddr: it gets the zone of the first NIC it answered on.
    EXPECT_TRUE(d.best_xaddr == absl::StrCat("http://[", cams.link_local(), "%25n0]/onvif/device_service") ||
                d.best_xaddr == absl::StrCat("http://[", cams.link_local(), "%25n1]/onvif/device_service"))
        << d.best_xaddr;
  }
  std::int64_t new_devices = 0;
  for (const InterfaceFigures& i : run.interfaces) new_devices += i.new_devices;
  EXPECT_EQ(new_devices, kCameras);
  // Each NIC's Probes, over each family, reached the bridge once.
  EXPECT_EQ(cams.probes(net::Family::kIPv4), 2 * kSends * kVariants);
  EXPECT_EQ(cams.probes(net::Family::kIPv6), 2 * kSends * kVariants);
}

// c) --family v4 sends nothing over IPv6 (and --family v6 nothing over
// IPv4), on a dual-stack segment whose cameras answer both.
TEST_P(Ipv6Test, FamilyFlagKeepsEachFamilyOut) {
  constexpr int kCameras = 5;
  ASSERT_NO_FATAL_FAILURE(Up(1, "both"));
  FamilyResponder& cams = Respond(0, kCameras, {net::Family::kIPv4, net::Family::kIPv6},
                                  {absl::StrCat("http://", lab::Lab::CamAddress(0), "/onvif/device_service")});
  SweepRun v4;
  ASSERT_NO_FATAL_FAILURE(Sweep({"--iface", "n0", "--family", "v4", "--repeat", "2"}, v4));
  EXPECT_EQ(cams.probes(net::Family::kIPv6), 0) << "--family v4 sent IPv6 Probes";
  EXPECT_EQ(cams.probes(net::Family::kIPv4), 2 * kVariants);
  ASSERT_EQ(v4.devices.size(), static_cast<std::size_t>(kCameras)) << v4.output;
  for (const Device& d : v4.devices) EXPECT_EQ(d.addresses, std::vector<std::string>{lab::Lab::CamAddress(0)});
  ASSERT_EQ(v4.interfaces.size(), 1u);
  ASSERT_EQ(v4.interfaces[0].sockets.size(), 1u);
  EXPECT_EQ(v4.interfaces[0].sockets[0].family, "IPv4");

  SweepRun v6;
  ASSERT_NO_FATAL_FAILURE(Sweep({"--iface", "n0", "--family", "v6", "--repeat", "2"}, v6));
  EXPECT_EQ(cams.probes(net::Family::kIPv4), 2 * kVariants) << "--family v6 sent IPv4 Probes";
  EXPECT_EQ(cams.probes(net::Family::kIPv6), 2 * kVariants);
  ASSERT_EQ(v6.devices.size(), static_cast<std::size_t>(kCameras)) << v6.output;
  for (const Device& d : v6.devices) {
    EXPECT_EQ(d.addresses, std::vector<std::string>{cams.link_local() + "%n0"});
  }
  ASSERT_EQ(v6.interfaces[0].sockets.size(), 1u);
  EXPECT_EQ(v6.interfaces[0].sockets[0].family, "IPv6");
}

// d) Directed Probes to IPv6 targets, a ULA one and a zoned link-local one,
// with no multicast at all (no --iface): found through the unicast
// interface. The two targets are the same responder, so it is one device.
TEST_P(Ipv6Test, DirectedProbesToIpv6Targets) {
  constexpr int kCameras = 3;
  ASSERT_NO_FATAL_FAILURE(Up(1, "v6"));
  FamilyResponder& cams = Respond(0, kCameras, {net::Family::kIPv6}, {"http://[{ll}]/onvif/device_service"});
  SweepRun run;
  ASSERT_NO_FATAL_FAILURE(Sweep(
      {"--target", lab::Lab::CamAddress6(0), "--target", cams.link_local() + "%n0", "--timeout", "3s"}, run));
  ASSERT_EQ(run.devices.size(), static_cast<std::size_t>(kCameras)) << run.output;
  for (const Device& d : run.devices) {
    EXPECT_EQ(d.interfaces, std::vector<std::string>{"unicast"});
    // Both targets answered: the ULA source and the zoned link-local one.
    EXPECT_EQ(std::set<std::string>(d.addresses.begin(), d.addresses.end()),
              (std::set<std::string>{lab::Lab::CamAddress6(0), cams.link_local() + "%n0"}))
        << Joined(d.addresses);
  }
  ASSERT_EQ(run.interfaces.size(), 1u) << run.output;
  EXPECT_EQ(run.interfaces[0].name, "unicast");
  ASSERT_EQ(run.interfaces[0].sockets.size(), 1u);
  EXPECT_EQ(run.interfaces[0].sockets[0].family, "IPv6");
  EXPECT_EQ(run.interfaces[0].sockets[0].address.substr(0, 4), "[::]");
  // Each (target, variant) once, and once more only when no reply came
  // within rand[50, 250] ms (a loaded machine).
  EXPECT_GE(cams.probes(net::Family::kIPv6), 2 * kVariants);
  EXPECT_LE(cams.probes(net::Family::kIPv6), 2 * 2 * kVariants);
}

// e) wsdd (a WSD host) over IPv6 only: found by its DPWS type; its
// link-local XAddr comes out zoned with our NIC, and its ProbeMatch without
// XAddrs is completed by a Resolve sent to ff02::c on the arrival link.
TEST_P(Ipv6Test, WsddAnswersOverIpv6) {
  const std::string wsdd = access("/usr/sbin/wsdd", X_OK) == 0 ? "/usr/sbin/wsdd" : "";
  if (wsdd.empty()) {
    GTEST_SKIP() << "wsdd not found; install it with: apt-get install -y wsdd (third_party/install-deps.sh does)";
  }
  ASSERT_NO_FATAL_FAILURE(Up(1, "v6"));
  const std::string uuid = "6a8b4c2e-1f3d-4e5a-9b7c-000000000006";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::vector<std::string> argv = lab_->CamExec(0, {"timeout", "20", wsdd, "-i", "c0", "-n", "v6peer", "-U", uuid});
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int devnull = open("/dev/null", O_RDWR);  // wsdd logs to stderr
    if (devnull >= 0) {
      dup2(devnull, STDOUT_FILENO);
      dup2(devnull, STDERR_FILENO);
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  std::string listening;
  for (int i = 0; i < 100 && !absl::StrContains(listening, ":3702"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    absl::StatusOr<lab::CommandResult> ss = lab::RunCommand(lab_->CamExec(0, {"ss", "-Hunl", "sport", "=", ":3702"}));
    if (ss.ok()) listening = ss->output;
  }
  SweepRun run;
  Sweep({"--iface", "n0", "--family", "v6", "--types", "wsdp:Device", "--timeout", "5s"}, run);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  ASSERT_TRUE(absl::StrContains(listening, ":3702")) << "wsdd does not listen: " << listening;
  ASSERT_EQ(run.devices.size(), 1u) << run.output;
  const Device& d = run.devices[0];
  EXPECT_EQ(d.endpoint, "urn:uuid:" + uuid);
  EXPECT_EQ(d.interfaces, std::vector<std::string>{"n0"});
  ASSERT_EQ(d.addresses.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(d.addresses[0], "fe80::") && absl::EndsWith(d.addresses[0], "%n0")) << d.addresses[0];
  ASSERT_EQ(d.xaddrs.size(), 1u) << "filled in by the ResolveMatch";
  EXPECT_TRUE(absl::StartsWith(d.best_xaddr, "http://[fe80::")) << d.best_xaddr;
  EXPECT_TRUE(absl::StrContains(d.best_xaddr, "%25n0]:5357/")) << d.best_xaddr;
}

// f) An IPv6-only sweep of 2 x 1000 cameras: two IPv6-only segments, a
// storm swarm of 1000 on each (--family both: IPv6 is all there is). Every
// camera is found exactly once, on its own NIC, from its segment's
// link-local source, with its ULA XAddr (in the NIC's prefix) as the best;
// nothing is dropped.
TEST_P(Ipv6Test, Ipv6OnlySweepOfAThousandCamerasPerNic) {
  constexpr std::uint32_t kCameras = 1000;
  ASSERT_NO_FATAL_FAILURE(Up(2, "v6"));
  std::map<std::string, int> expected;  // endpoint -> NIC
  for (int nic = 0; nic < 2; ++nic) {
    ASSERT_NO_FATAL_FAILURE(StartSwarm(nic, {"--cameras", std::to_string(kCameras), "--mode", "storm", "--seed",
                                             std::to_string(nic + 1)}));
    for (std::uint32_t i = 0; i < kCameras; ++i) {
      ASSERT_TRUE(expected.emplace(swarm::MakeIdentity(static_cast<std::uint64_t>(nic + 1), i).endpoint, nic).second);
    }
  }
  const std::string link_local[2] = {CamLinkLocal(0), CamLinkLocal(1)};
  ASSERT_FALSE(link_local[0].empty() || link_local[1].empty());
  SweepRun run;
  ASSERT_NO_FATAL_FAILURE(Sweep({"--iface", "n0,n1", "--timeout", "10s"}, run));
  const std::vector<Json> swarm_stats = StopSwarms();

  EXPECT_EQ(run.devices.size(), 2 * kCameras);
  std::set<std::string> seen;
  int wrong = 0;
  std::string first_wrong;
  for (const Device& d : run.devices) {
    const auto it = expected.find(d.endpoint);
    std::string why;
    if (!seen.insert(d.endpoint).second) {
      why = "listed twice";
    } else if (it == expected.end()) {
      why = "not a swarm camera";
    } else {
      const int nic = it->second;
      const std::string xaddr = absl::StrCat("http://[", lab::Lab::CamAddress6(nic), "]:80/onvif/device_service");
      if (d.interfaces != std::vector<std::string>{lab::Lab::HostNic(nic)}) why = "interfaces " + Joined(d.interfaces);
      if (d.xaddrs != std::vector<std::string>{xaddr}) why = "xaddrs " + Joined(d.xaddrs);
      if (d.best_xaddr != xaddr) why = "best_xaddr " + d.best_xaddr;
      if (d.addresses != std::vector<std::string>{link_local[nic] + "%" + lab::Lab::HostNic(nic)}) {
        why = "addresses " + Joined(d.addresses);
      }
    }
    if (!why.empty() && ++wrong == 1) first_wrong = d.endpoint + ": " + why;
  }
  EXPECT_EQ(wrong, 0) << "e.g. " << first_wrong;
  ASSERT_EQ(run.interfaces.size(), 2u) << run.output.substr(0, 2000);
  for (const InterfaceFigures& i : run.interfaces) {
    ASSERT_EQ(i.sockets.size(), 1u) << i.name;
    EXPECT_EQ(i.sockets[0].family, "IPv6") << i.name;
    EXPECT_EQ(i.new_devices, kCameras) << i.name;
    EXPECT_EQ(i.kernel_drops, 0) << i.name;
    EXPECT_EQ(i.malformed, 0) << i.name;
    EXPECT_EQ(i.unrelated, 0) << i.name;
  }
  for (const Json& stats : swarm_stats) {
    EXPECT_EQ(stats.IntAt("replies_sent"), kVariants * kCameras) << "each camera answers each Probe once";
    EXPECT_EQ(stats.IntAt("send_errors"), 0);
  }
}

// g) A dual-stack segment with a swarm serving both families: each of 1000
// cameras is found once, on n0, over both families (two source addresses,
// its IPv4 and its IPv6 XAddr), the IPv4 XAddr (n0's subnet) the best.
TEST_P(Ipv6Test, DualStackSwarmEachCameraOnceOverBothFamilies) {
  constexpr std::uint32_t kCameras = 1000;
  ASSERT_NO_FATAL_FAILURE(Up(1, "both"));
  ASSERT_NO_FATAL_FAILURE(StartSwarm(0, {"--cameras", std::to_string(kCameras), "--mode", "storm", "--seed", "7"}));
  const std::string link_local = CamLinkLocal(0);
  SweepRun run;
  ASSERT_NO_FATAL_FAILURE(Sweep({"--iface", "n0", "--timeout", "10s"}, run));
  const std::vector<Json> swarm_stats = StopSwarms();

  ASSERT_EQ(run.devices.size(), kCameras) << run.output.substr(0, 2000);
  const std::string v4_xaddr = absl::StrCat("http://", lab::Lab::CamAddress(0), ":80/onvif/device_service");
  const std::string v6_xaddr = absl::StrCat("http://[", lab::Lab::CamAddress6(0), "]:80/onvif/device_service");
  const std::set<std::string> want_addresses = {lab::Lab::CamAddress(0), link_local + "%n0"};
  const std::set<std::string> want_xaddrs = {v4_xaddr, v6_xaddr};
  std::set<std::string> seen;
  int wrong = 0;
  std::string first_wrong;
  for (const Device& d : run.devices) {
    std::string why;
    if (!seen.insert(d.endpoint).second) why = "listed twice";
    if (d.interfaces != std::vector<std::string>{"n0"}) why = "interfaces " + Joined(d.interfaces);
    if (d.addresses.size() != 2 || std::set<std::string>(d.addresses.begin(), d.addresses.end()) != want_addresses) {
      why = "addresses " + Joined(d.addresses);
    }
    if (d.xaddrs.size() != 2 || std::set<std::string>(d.xaddrs.begin(), d.xaddrs.end()) != want_xaddrs) {
      why = "xaddrs " + Joined(d.xaddrs);
    }
    if (d.best_xaddr != v4_xaddr) why = "best_xaddr " + d.best_xaddr;
    if (!why.empty() && ++wrong == 1) first_wrong = d.endpoint + ": " + why;
  }
  EXPECT_EQ(wrong, 0) << "e.g. " << first_wrong;
  for (std::uint32_t i = 0; i < kCameras; ++i) EXPECT_EQ(seen.count(swarm::MakeIdentity(7, i).endpoint), 1u) << i;
  ASSERT_EQ(run.interfaces.size(), 1u);
  const InterfaceFigures& n0 = run.interfaces[0];
  ASSERT_EQ(n0.sockets.size(), 2u);
  for (const SocketFigures& socket : n0.sockets) {
    EXPECT_EQ(socket.received, kVariants * kCameras) << socket.family << ": one reply per camera and Probe";
  }
  EXPECT_EQ(n0.new_devices, kCameras);
  EXPECT_EQ(n0.kernel_drops, 0);
  ASSERT_EQ(swarm_stats.size(), 1u);
  EXPECT_EQ(swarm_stats[0].IntAt("replies_sent"), 2 * kVariants * kCameras) << "each family's Probes answered";
}

INSTANTIATE_TEST_SUITE_P(Backends, Ipv6Test, ::testing::Values("epoll", "uring"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace onvif::integration
