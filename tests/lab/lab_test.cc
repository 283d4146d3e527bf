// The sandbox harness itself: what `lab.sh up` builds, that traffic flows,
// and that `down` (explicit, by destructor, or after a failed `up`) leaves no
// namespace behind. Needs root; skips otherwise.

#include "tests/lab/lab.h"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace onvif::lab {
namespace {

// Designated initializers would trip g++ 12's -Wmissing-field-initializers.
LabOptions Options(int nics, std::string name = "") {
  LabOptions options;
  options.nics = nics;
  options.name = std::move(name);
  return options;
}

std::string Out(const std::vector<std::string>& argv) {
  auto out = RunChecked(argv);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::string();
}

// lab.sh's own view, and the kernel's (`ip netns list`), of the lab's namespaces.
std::string Remaining(const std::string& name) {
  std::string remaining = Out({LabScript(), "list", "--name", name});
  const std::string all = Out({"ip", "netns", "list"});
  for (const char* suffix : {"-host", "-cam0", "-cam1", "-cam2"}) {
    const std::string ns = absl::StrCat(name, suffix);
    if (absl::StrContains(all, ns)) absl::StrAppend(&remaining, " ip:", ns);
  }
  return remaining;
}

bool PingOnce(const Lab& lab, const std::string& address) {
  auto r = RunCommand(lab.HostExec({"ping", "-c1", "-W1", address}));
  return r.ok() && r->exit_code == 0;
}

// `ip -o -4|-6 addr show dev DEV` in namespace `ns`.
std::string Addresses(const std::string& ns, const char* family, const std::string& dev) {
  return Out({"ip", "-n", ns, "-o", family, "addr", "show", "dev", dev});
}

TEST(LabTest, TwoNicsUpPingDown) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  auto lab = Lab::Up(Options(2));
  ASSERT_TRUE(lab.ok()) << lab.status();
  const std::string name = lab->name();
  EXPECT_TRUE(absl::StrContains(lab->up_output(), absl::StrCat("lab ", name, " up"))) << lab->up_output();

  const std::string host_links = Out({"ip", "-n", lab->HostNamespace(), "-br", "link"});
  EXPECT_TRUE(absl::StrContains(host_links, "n0@")) << host_links;
  EXPECT_TRUE(absl::StrContains(host_links, "n1@")) << host_links;
  for (int i = 0; i < 2; ++i) {
    const std::string host_addr =
        Out({"ip", "-n", lab->HostNamespace(), "-o", "-4", "addr", "show", "dev", Lab::HostNic(i)});
    EXPECT_TRUE(absl::StrContains(host_addr, absl::StrCat(Lab::HostAddress(i), "/24"))) << host_addr;
    const std::string cam_addr =
        Out({"ip", "-n", lab->CamNamespace(i), "-o", "-4", "addr", "show", "dev", lab->CamNic(i)});
    EXPECT_TRUE(absl::StrContains(cam_addr, absl::StrCat(Lab::CamAddress(i), "/24"))) << cam_addr;
    EXPECT_TRUE(PingOnce(*lab, Lab::CamAddress(i))) << "ping " << Lab::CamAddress(i);
  }
  const std::string routes = Out({"ip", "-n", lab->HostNamespace(), "route"});
  EXPECT_TRUE(absl::StrContains(routes, "224.0.0.0/4 dev n0")) << routes;
  // accept_dad=0 was set before the links existed (LAB.md).
  EXPECT_EQ(Out(lab->HostExec({"sysctl", "-n", "net.ipv6.conf.n0.accept_dad"})), "0\n");

  ASSERT_TRUE(lab->Down().ok());
  EXPECT_EQ(Remaining(name), "");
  // Idempotent.
  EXPECT_TRUE(lab->Down().ok());
  EXPECT_TRUE(absl::StrContains(Out({LabScript(), "down", "--name", name}), "removed 0"));
}

TEST(LabTest, BridgedSegmentReachesEveryCameraAddress) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  LabOptions options = Options(2);
  options.bridge = true;
  auto lab = Lab::Up(options);
  ASSERT_TRUE(lab.ok()) << lab.status();
  EXPECT_EQ(lab->CamNamespace(1), lab->CamNamespace(0));
  const std::string br = Out({"ip", "-n", lab->CamNamespace(0), "-o", "-4", "addr", "show", "dev", "br0"});
  const std::string ports = Out({"ip", "-n", lab->CamNamespace(0), "-br", "link", "show", "master", "br0"});
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(absl::StrContains(br, absl::StrCat(Lab::CamAddress(i), "/16"))) << br;
    EXPECT_TRUE(absl::StrContains(ports, absl::StrCat("c", i, "@"))) << ports;
    EXPECT_TRUE(PingOnce(*lab, Lab::CamAddress(i)));
  }
}

TEST(LabTest, ExtraAddressesAndLossRule) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  LabOptions options = Options(2);
  options.addresses_per_nic = 3;
  options.loss_percent = 20;
  auto lab = Lab::Up(options);
  ASSERT_TRUE(lab.ok()) << lab.status();
  for (int j = 0; j < 2; ++j) {
    const std::string addrs = Out({"ip", "-n", lab->CamNamespace(j), "-o", "-4", "addr", "show"});
    for (int k = 1; k <= 3; ++k) {
      EXPECT_TRUE(absl::StrContains(addrs, absl::StrCat(Lab::ExtraAddress(j, k), "/32"))) << addrs;
    }
    EXPECT_FALSE(absl::StrContains(addrs, absl::StrCat(Lab::ExtraAddress(j, 4), "/")));
    const std::string rules = Out(lab->CamExec(j, {"nft", "list", "ruleset"}));
    EXPECT_TRUE(absl::StrContains(rules, "udp sport 3702 numgen random mod 100 < 20 drop")) << rules;
  }
  // The host routes each extra block to its NIC; the extra addresses answer.
  EXPECT_TRUE(PingOnce(*lab, Lab::ExtraAddress(1, 2)));
}

// The default lab is dual-stack: every NIC also has its ULA and link-local
// IPv6 addresses, usable at once (nodad / accept_dad=0).
TEST(LabTest, DefaultIsDualStack) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  auto lab = Lab::Up(Options(2));
  ASSERT_TRUE(lab.ok()) << lab.status();
  EXPECT_TRUE(absl::StrContains(lab->up_output(), "IPv4 + IPv6")) << lab->up_output();
  for (int i = 0; i < 2; ++i) {
    const std::string host6 = Addresses(lab->HostNamespace(), "-6", Lab::HostNic(i));
    EXPECT_TRUE(absl::StrContains(host6, absl::StrCat(Lab::HostAddress6(i), "/64"))) << host6;
    EXPECT_TRUE(absl::StrContains(host6, "fe80::")) << host6;
    EXPECT_FALSE(absl::StrContains(host6, "tentative")) << host6;
    const std::string cam6 = Addresses(lab->CamNamespace(i), "-6", lab->CamNic(i));
    EXPECT_TRUE(absl::StrContains(cam6, absl::StrCat(Lab::CamAddress6(i), "/64"))) << cam6;
    EXPECT_TRUE(PingOnce(*lab, Lab::CamAddress6(i))) << "ping " << Lab::CamAddress6(i);
    EXPECT_TRUE(PingOnce(*lab, Lab::CamAddress(i))) << "ping " << Lab::CamAddress(i);
  }
  EXPECT_EQ(Lab::HostAddress6(0), "fd77::1");
  EXPECT_EQ(Lab::CamAddress6(3), "fd77:3::2");
}

TEST(LabTest, FamilyV6IsAnIpv6OnlySegment) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  for (const bool bridge : {false, true}) {
    SCOPED_TRACE(bridge ? "bridged" : "separate");
    LabOptions options = Options(2);
    options.bridge = bridge;
    options.family = "v6";
    auto lab = Lab::Up(options);
    ASSERT_TRUE(lab.ok()) << lab.status();
    EXPECT_TRUE(absl::StrContains(lab->up_output(), "IPv6 only")) << lab->up_output();
    const std::string prefix = bridge ? "/16" : "/64";
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(Addresses(lab->HostNamespace(), "-4", Lab::HostNic(i)), "");
      EXPECT_EQ(Addresses(lab->CamNamespace(i), "-4", lab->CamNic(i)), "");
      const std::string host6 = Addresses(lab->HostNamespace(), "-6", Lab::HostNic(i));
      EXPECT_TRUE(absl::StrContains(host6, absl::StrCat(Lab::HostAddress6(i), prefix))) << host6;
      EXPECT_TRUE(absl::StrContains(host6, "fe80::")) << host6;
      EXPECT_TRUE(absl::StrContains(Addresses(lab->CamNamespace(i), "-6", lab->CamNic(i)),
                                    absl::StrCat(Lab::CamAddress6(i), prefix)));
      EXPECT_TRUE(PingOnce(*lab, Lab::CamAddress6(i))) << "ping " << Lab::CamAddress6(i);
    }
    const std::string routes = Out({"ip", "-n", lab->HostNamespace(), "route"});
    EXPECT_FALSE(absl::StrContains(routes, "224.0.0.0/4")) << routes;
  }
}

TEST(LabTest, FamilyV4DisablesIpv6OnTheLabLinks) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  for (const bool bridge : {false, true}) {
    SCOPED_TRACE(bridge ? "bridged" : "separate");
    LabOptions options = Options(2);
    options.bridge = bridge;
    options.family = "v4";
    auto lab = Lab::Up(options);
    ASSERT_TRUE(lab.ok()) << lab.status();
    EXPECT_TRUE(absl::StrContains(lab->up_output(), "IPv4 only")) << lab->up_output();
    for (int i = 0; i < 2; ++i) {
      // Not even a link-local address.
      EXPECT_EQ(Addresses(lab->HostNamespace(), "-6", Lab::HostNic(i)), "");
      EXPECT_EQ(Addresses(lab->CamNamespace(i), "-6", lab->CamNic(i)), "");
      EXPECT_EQ(Out(lab->HostExec({"sysctl", "-n", absl::StrCat("net.ipv6.conf.n", i, ".disable_ipv6")})), "1\n");
      EXPECT_TRUE(PingOnce(*lab, Lab::CamAddress(i)));
    }
  }
}

TEST(LabTest, BadFamilyAndIpv4ExtrasOnIpv6OnlyAreRefused) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  const std::string name = UniqueLabName("labv");
  LabOptions bad = Options(1, name);
  bad.family = "v5";
  auto bad_family = Lab::Up(bad);
  ASSERT_FALSE(bad_family.ok());
  EXPECT_TRUE(absl::StrContains(bad_family.status().message(), "--family must be v4, v6 or both"))
      << bad_family.status();
  LabOptions extras = Options(1, name);
  extras.family = "v6";
  extras.addresses_per_nic = 2;
  auto v6_extras = Lab::Up(extras);
  ASSERT_FALSE(v6_extras.ok());
  EXPECT_TRUE(absl::StrContains(v6_extras.status().message(), "not with --family v6")) << v6_extras.status();
  EXPECT_EQ(Remaining(name), "");
}

TEST(LabTest, FailureMidwayRemovesEverything) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  for (const char* step : {"namespaces", "links", "addresses", "routes", "loss"}) {
    LabOptions options = Options(2, UniqueLabName("labf"));
    options.loss_percent = 5;
    options.extra_args = {"--fail-at", step};
    auto lab = Lab::Up(options);
    ASSERT_FALSE(lab.ok()) << step;
    EXPECT_TRUE(absl::StrContains(lab.status().message(), absl::StrCat("removing lab ", options.name)))
        << lab.status();
    EXPECT_EQ(Remaining(options.name), "") << "after failing at " << step;
  }
}

TEST(LabTest, InvalidOptionsFailWithoutLeftovers) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  const std::string name = UniqueLabName("labi");
  LabOptions loss = Options(1, name);
  loss.loss_percent = 150;
  auto bad_loss = Lab::Up(loss);
  ASSERT_FALSE(bad_loss.ok());
  EXPECT_TRUE(absl::StrContains(bad_loss.status().message(), "--loss must be 0..100"))
      << bad_loss.status();
  LabOptions flag = Options(1, name);
  flag.extra_args = {"--colour", "blue"};
  auto bad_flag = Lab::Up(flag);
  ASSERT_FALSE(bad_flag.ok());
  EXPECT_TRUE(absl::StrContains(bad_flag.status().message(), "unknown option '--colour'"));
  EXPECT_EQ(Remaining(name), "");
}

TEST(LabTest, ExistingLabIsRefusedAndKept) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  auto first = Lab::Up(Options(1));
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Lab::Up(Options(1, first->name()));
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::StrContains(second.status().message(), "exists")) << second.status();
  EXPECT_TRUE(PingOnce(*first, Lab::CamAddress(0)));  // untouched by the refused `up`
}

TEST(LabTest, DestructorRunsDownAndEndsProcessesInside) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  std::string name;
  int pid = 0;
  {
    auto lab = Lab::Up(Options(1));
    ASSERT_TRUE(lab.ok()) << lab.status();
    name = lab->name();
    // A forgotten background process inside the lab would keep its namespace
    // alive after `ip netns del`; down ends it.
    const std::string out = Out({"bash", "-c",
                                 absl::StrCat("ip netns exec ", lab->CamNamespace(0),
                                              " sleep 300 </dev/null >/dev/null 2>&1 & echo $!")});
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripTrailingAsciiWhitespace(out), &pid)) << out;
  }
  EXPECT_EQ(Remaining(name), "");
  bool gone = false;
  for (int i = 0; i < 40 && !gone; ++i) {
    std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
    std::string line;
    gone = !std::getline(stat, line) || absl::StrContains(line, ") Z ");
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gone) << "process " << pid << " still runs";
}

TEST(LabTest, ExecRunsInsideTheNamedNamespace) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  auto lab = Lab::Up(Options(2));
  ASSERT_TRUE(lab.ok()) << lab.status();
  const std::string links =
      Out({LabScript(), "exec", "--name", lab->name(), "cam1", "--", "ip", "-br", "link"});
  EXPECT_TRUE(absl::StrContains(links, "c1@")) << links;
  EXPECT_FALSE(absl::StrContains(links, "c0@")) << links;
  EXPECT_FALSE(absl::StrContains(links, "eth0")) << links;
}

}  // namespace
}  // namespace onvif::lab
