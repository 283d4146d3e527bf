// The Sweeper in-process, in a lab's host namespace (tests/lab): skipping a
// bad interface, failing clearly when none is left, the hard timeout and
// Stop. Needs root; skipped with a message otherwise. Every sweep runs on a
// thread that entered the lab's namespace, never on the host's interfaces.

#include "engine/sweep/sweeper.h"

#include <net/if.h>
#include <netinet/in.h>

#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "engine/net/os_sys_calls.h"
#include "gtest/gtest.h"
#include "tests/lab/lab.h"
#include "tests/sweep/responder.h"

namespace onvif::sweep {
namespace {

using testing::CameraEndpoint;
using testing::Responder;


// Real syscalls, except IP_MULTICAST_IF fails (EADDRNOTAVAIL) for the
// interfaces named in `bad`.
class FailingSysCalls final : public net::OsSysCalls {
 public:
  explicit FailingSysCalls(std::vector<unsigned> bad) : bad_(std::move(bad)) {}
  net::SysCallResult Socket(int d, int t, int p) override { return real_.Socket(d, t, p); }
  net::SysCallResult Bind(int fd, const sockaddr* a, socklen_t l) override { return real_.Bind(fd, a, l); }
  net::SysCallResult SetSockOpt(int fd, int level, int name, const void* value, socklen_t len) override {
    if (level == IPPROTO_IP && name == IP_MULTICAST_IF && len >= sizeof(ip_mreqn)) {
      ip_mreqn request;
      std::memcpy(&request, value, sizeof request);
      for (unsigned ifindex : bad_) {
        if (static_cast<unsigned>(request.imr_ifindex) == ifindex) return {-1, EADDRNOTAVAIL};
      }
    }
    return real_.SetSockOpt(fd, level, name, value, len);
  }
  net::SysCallResult GetSockOpt(int fd, int level, int name, void* value, socklen_t* len) override {
    return real_.GetSockOpt(fd, level, name, value, len);
  }
  net::SysCallResult GetSockName(int fd, sockaddr* a, socklen_t* l) override {
    return real_.GetSockName(fd, a, l);
  }
  net::SysCallResult SendTo(int fd, const void* b, size_t n, int f, const sockaddr* a,
                            socklen_t l) override {
    return real_.SendTo(fd, b, n, f, a, l);
  }
  net::SysCallResult RecvMsg(int fd, msghdr* m, int f) override { return real_.RecvMsg(fd, m, f); }

 private:
  net::OsSysCallsImpl real_;
  std::vector<unsigned> bad_;
};

lab::LabOptions TwoNics() {
  lab::LabOptions options;
  options.nics = 2;
  return options;
}

SweepOptions BothNics(io::Backend backend) {
  SweepOptions options;
  options.interfaces.include = {"n0", "n1"};
  // The responders speak IPv4, and the tests count IPv4 sockets and sends
  // (the lab is dual-stack; tests/integration/ipv6_test.cc covers IPv6).
  options.families = {net::Family::kIPv4};
  options.repeat = 2;
  options.seed = 1;
  options.backend = backend;
  return options;
}

// Every test on both event-loop backends.
class SweeperTest : public ::testing::TestWithParam<io::Backend> {};

TEST_P(SweeperTest, OneBadInterfaceIsReportedAndSkipped) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  auto lab = lab::Lab::Up(TwoNics());
  ASSERT_TRUE(lab.ok()) << lab.status();
  Responder r0(lab->CamNamespace(0), {.nic = 0, .ifname = lab->CamNic(0), .cameras = 2});
  Responder r1(lab->CamNamespace(1), {.nic = 1, .ifname = lab->CamNic(1), .cameras = 2});
  ASSERT_TRUE(r0.WaitReady()) << r0.error();
  ASSERT_TRUE(r1.WaitReady()) << r1.error();
  ASSERT_TRUE(lab::RunInNetns(lab->HostNamespace(), [&] {
                FailingSysCalls sys({if_nametoindex("n1")});
                SweepOptions options = BothNics(GetParam());
                options.sys = &sys;
                auto sweeper = Sweeper::Create(options);
                ASSERT_TRUE(sweeper.ok()) << sweeper.status();
                ASSERT_EQ((*sweeper)->warnings().size(), 1u);
                EXPECT_TRUE(absl::StartsWith((*sweeper)->warnings()[0], "n1: ")) << (*sweeper)->warnings()[0];
                EXPECT_TRUE(absl::StrContains((*sweeper)->warnings()[0], "IP_MULTICAST_IF"))
                    << (*sweeper)->warnings()[0];
                EXPECT_EQ((*sweeper)->interface_names(), std::vector<std::string>{"n0"});
                auto result = (*sweeper)->Run();
                ASSERT_TRUE(result.ok()) << result.status();
                ASSERT_EQ(result->devices.size(), 2u);
                for (const DeviceInfo& device : result->devices) {
                  EXPECT_TRUE(device.endpoint == CameraEndpoint(0, 0) ||
                              device.endpoint == CameraEndpoint(0, 1))
                      << device.endpoint;
                  EXPECT_EQ(device.interfaces, std::vector<std::string>{"n0"});
                }
                EXPECT_EQ(result->stats.backend, io::BackendName(GetParam()));
                ASSERT_EQ(result->stats.interfaces.size(), 1u);
                // Every Probe variant on every send of the schedule.
                EXPECT_EQ(result->stats.interfaces[0].counters.probes_sent,
                          static_cast<std::uint64_t>(options.repeat) * options.probes.size());
              }).ok());
}

// Sockets are per family: an interface whose IPv4 socket fails keeps its
// IPv6 one (the lab is dual-stack), and the warning names the IPv4 option.
TEST_P(SweeperTest, OneBadFamilyKeepsTheInterfacesOtherFamily) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  auto lab = lab::Lab::Up(TwoNics());
  ASSERT_TRUE(lab.ok()) << lab.status();
  Responder r0(lab->CamNamespace(0), {.nic = 0, .ifname = lab->CamNic(0), .cameras = 2});
  Responder r1(lab->CamNamespace(1), {.nic = 1, .ifname = lab->CamNic(1), .cameras = 2});
  ASSERT_TRUE(r0.WaitReady()) << r0.error();
  ASSERT_TRUE(r1.WaitReady()) << r1.error();
  ASSERT_TRUE(lab::RunInNetns(lab->HostNamespace(), [&] {
                FailingSysCalls sys({if_nametoindex("n1")});
                SweepOptions options = BothNics(GetParam());
                options.families = {net::Family::kIPv4, net::Family::kIPv6};
                options.sys = &sys;
                auto sweeper = Sweeper::Create(options);
                ASSERT_TRUE(sweeper.ok()) << sweeper.status();
                ASSERT_EQ((*sweeper)->warnings().size(), 1u);
                EXPECT_TRUE(absl::StartsWith((*sweeper)->warnings()[0], "n1: IP_MULTICAST_IF on n1: "))
                    << (*sweeper)->warnings()[0];
                EXPECT_EQ((*sweeper)->interface_names(), (std::vector<std::string>{"n0", "n1"}));
                auto result = (*sweeper)->Run();
                ASSERT_TRUE(result.ok()) << result.status();
                // The (IPv4-only) responders behind n1 are out of reach.
                ASSERT_EQ(result->devices.size(), 2u);
                for (const DeviceInfo& device : result->devices) {
                  EXPECT_EQ(device.interfaces, std::vector<std::string>{"n0"});
                }
                ASSERT_EQ(result->stats.interfaces.size(), 2u);
                const InterfaceStats& n0 = result->stats.interfaces[0];
                const InterfaceStats& n1 = result->stats.interfaces[1];
                ASSERT_EQ(n0.sockets.size(), 2u);
                EXPECT_EQ(n0.sockets[0].family, net::Family::kIPv4);
                EXPECT_EQ(n0.sockets[1].family, net::Family::kIPv6);
                EXPECT_EQ(n0.address, n0.sockets[0].address);
                ASSERT_EQ(n1.sockets.size(), 1u);
                EXPECT_EQ(n1.sockets[0].family, net::Family::kIPv6);
                EXPECT_TRUE(absl::StrContains(n1.address, "%n1]:")) << n1.address;
                // Every socket ran the schedule; the interface counts their sum.
                const std::uint64_t per_socket = static_cast<std::uint64_t>(options.repeat) * options.probes.size();
                EXPECT_EQ(n0.sockets[1].counters.probes_sent, per_socket);
                EXPECT_EQ(n0.counters.probes_sent, 2 * per_socket);
                EXPECT_EQ(n1.counters.probes_sent, per_socket);
                EXPECT_EQ(n0.counters.new_devices, 2u);
                EXPECT_EQ(n0.sockets[0].counters.new_devices, 2u) << "the IPv4 responders answered IPv4";
              }).ok());
}

TEST_P(SweeperTest, NoUsableInterfaceIsAClearError) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  auto lab = lab::Lab::Up(TwoNics());
  ASSERT_TRUE(lab.ok()) << lab.status();
  ASSERT_TRUE(lab::RunInNetns(lab->HostNamespace(), [&] {
                FailingSysCalls sys({if_nametoindex("n0"), if_nametoindex("n1")});
                SweepOptions options = BothNics(GetParam());
                options.sys = &sys;
                auto sweeper = Sweeper::Create(options);
                ASSERT_FALSE(sweeper.ok());
                EXPECT_EQ(sweeper.status().code(), absl::StatusCode::kFailedPrecondition);
                EXPECT_TRUE(absl::StrContains(sweeper.status().message(), "n0: "));
                EXPECT_TRUE(absl::StrContains(sweeper.status().message(), "n1: "));

                SweepOptions unknown;
                unknown.interfaces.include = {"nosuch0"};
                auto missing = Sweeper::Create(unknown);
                ASSERT_FALSE(missing.ok());
                EXPECT_TRUE(absl::StrContains(missing.status().message(), "nosuch0"))
                    << missing.status();
              }).ok());
}

TEST_P(SweeperTest, TimeoutIsAHardCap) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  auto lab = lab::Lab::Up(TwoNics());
  ASSERT_TRUE(lab.ok()) << lab.status();
  ASSERT_TRUE(lab::RunInNetns(lab->HostNamespace(), [&] {
                SweepOptions options = BothNics(GetParam());
                options.repeat = 4;
                options.quiet = absl::Seconds(10);
                options.timeout = absl::Milliseconds(300);
                auto sweeper = Sweeper::Create(options);
                ASSERT_TRUE(sweeper.ok()) << sweeper.status();
                const absl::Time before = absl::Now();
                auto result = (*sweeper)->Run();
                const absl::Duration took = absl::Now() - before;
                ASSERT_TRUE(result.ok()) << result.status();
                EXPECT_GE(took, absl::Milliseconds(290));
                EXPECT_LT(took, absl::Milliseconds(800));
                // Sends due after the cap never happen (the 4th is >= 350 ms
                // in); each send is one Probe per variant.
                const std::uint64_t variants = options.probes.size();
                for (const InterfaceStats& iface : result->stats.interfaces) {
                  EXPECT_GE(iface.counters.probes_sent, variants);
                  EXPECT_LT(iface.counters.probes_sent, 4 * variants);
                }
              }).ok());
}

TEST_P(SweeperTest, StopEndsARunningSweep) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  auto lab = lab::Lab::Up(TwoNics());
  ASSERT_TRUE(lab.ok()) << lab.status();
  ASSERT_TRUE(lab::RunInNetns(lab->HostNamespace(), [&] {
                SweepOptions options = BothNics(GetParam());
                options.threads = 2;
                options.quiet = absl::Seconds(10);
                options.timeout = absl::Seconds(20);
                auto sweeper = Sweeper::Create(options);
                ASSERT_TRUE(sweeper.ok()) << sweeper.status();
                std::thread stopper([&] {
                  absl::SleepFor(absl::Milliseconds(300));
                  (*sweeper)->Stop();
                });
                const absl::Time before = absl::Now();
                auto result = (*sweeper)->Run();
                stopper.join();
                ASSERT_TRUE(result.ok()) << result.status();
                EXPECT_LT(absl::Now() - before, absl::Seconds(2));
                EXPECT_FALSE((*sweeper)->Run().ok()) << "a Sweeper runs once";
              }).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, SweeperTest, ::testing::Values(io::Backend::kEpoll, io::Backend::kUring),
                         [](const ::testing::TestParamInfo<io::Backend>& info) {
                           return std::string(io::BackendName(info.param));
                         });

}  // namespace
}  // namespace onvif::sweep
