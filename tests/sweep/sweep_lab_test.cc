// End-to-end: the real onvif-sweep binary in the host namespace of a lab
// (tests/lab), against a small responder thread in each camera namespace.
// Needs root (network namespaces); skipped with a message otherwise. Nothing
// here sends on the host's own interfaces: every sweep runs in a lab
// namespace or in a fresh `unshare -n` namespace, and each responder is
// bounded in time.

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/unique_fd.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/scanner.h"
#include "gtest/gtest.h"
#include "tests/lab/lab.h"
#include "tests/sweep/responder.h"

namespace onvif::sweep {
namespace {

using testing::CameraEndpoint;
using testing::Responder;
using testing::ResponderConfig;

constexpr char kSweepBinary[] = ONVIF_SWEEP_BINARY;


// The device objects of onvif-sweep's JSON output, as endpoint -> the text
// of its "interfaces" array. Our own writer's layout is fixed (see
// engine/sweep/output.h), so plain string search is enough here.
std::map<std::string, std::string> DeviceInterfaces(const std::string& json) {
  std::map<std::string, std::string> out;
  const std::string key = "{\"endpoint\":\"";
  for (std::size_t at = json.find(key); at != std::string::npos; at = json.find(key, at + 1)) {
    const std::size_t begin = at + key.size();
    const std::string endpoint = json.substr(begin, json.find('"', begin) - begin);
    const std::size_t ifaces = json.find("\"interfaces\":", begin);
    out[endpoint] = json.substr(ifaces + 13, json.find(']', ifaces) - ifaces - 12);
  }
  return out;
}

// The sum of a stats counter over all interfaces.
std::uint64_t SumCounter(const std::string& json, absl::string_view name) {
  std::uint64_t sum = 0;
  const std::string key = absl::StrCat("\"", name, "\":");
  for (std::size_t at = json.find(key); at != std::string::npos; at = json.find(key, at + 1)) {
    sum += std::stoull(json.substr(at + key.size()));
  }
  return sum;
}

// The JSON document line of a run's output (stderr is interleaved).
std::string JsonLine(const std::string& output) {
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (absl::StartsWith(line, "{\"devices\":")) return std::string(line);
  }
  return "";
}

lab::LabOptions OneNic() {
  lab::LabOptions options;
  options.nics = 1;
  return options;
}
lab::LabOptions TwoNics() {
  lab::LabOptions options;
  options.nics = 2;
  return options;
}

struct RunOutcome {
  int exit_code = -1;
  std::string output;
  double seconds = 0;
};

RunOutcome RunSweep(const std::vector<std::string>& argv) {
  const auto start = std::chrono::steady_clock::now();
  auto result = lab::RunCommand(argv);
  RunOutcome run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result.ok()) {
    run.output = std::string(result.status().message());
    return run;
  }
  run.exit_code = result->exit_code;
  run.output = result->output;
  return run;
}

// The default Probe variants (dn:NetworkVideoTransmitter, tds:Device): every
// send of the schedule is one Probe of each.
constexpr int kVariants = 2;

// One in-test responder per camera namespace of a two-NIC lab, each playing
// `cameras` cameras, ready when this returns.
void StartResponders(lab::Lab& lab, int cameras, std::vector<std::unique_ptr<Responder>>& out) {
  for (int nic = 0; nic < 2; ++nic) {
    out.push_back(std::make_unique<Responder>(
        lab.CamNamespace(nic), ResponderConfig{.nic = nic, .ifname = lab.CamNic(nic), .cameras = cameras}));
    ASSERT_TRUE(out.back()->WaitReady()) << out.back()->error();
  }
}

// The lab tests run on both event-loop backends, with identical expectations.
class SweepLabTest : public ::testing::TestWithParam<std::string> {
 protected:
  // onvif-sweep with --backend set to the parameter, then `args`.
  std::vector<std::string> SweepArgv(std::vector<std::string> args) const {
    std::vector<std::string> argv = {kSweepBinary, "--backend", GetParam()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

TEST_P(SweepLabTest, FindsEachDeviceOnItsNic) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  auto lab = lab::Lab::Up(TwoNics());
  ASSERT_TRUE(lab.ok()) << lab.status();
  constexpr int kCamerasPerNic = 5;
  std::vector<std::unique_ptr<Responder>> responders;
  ASSERT_NO_FATAL_FAILURE(StartResponders(*lab, kCamerasPerNic, responders));
  const RunOutcome run = RunSweep(lab->HostExec(SweepArgv({"--iface", "n0", "--iface=n1",
                                          "--format", "json", "--timeout", "10s"})));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string json = JsonLine(run.output);
  ASSERT_FALSE(json.empty()) << run.output;
  const auto devices = DeviceInterfaces(json);
  if (getenv("SWEEP_TEST_VERBOSE") != nullptr) std::fprintf(stderr, "%s (%.2f s)\n", run.output.c_str(), run.seconds);
  EXPECT_EQ(devices.size(), 2u * kCamerasPerNic) << json;
  for (int nic = 0; nic < 2; ++nic) {
    for (int k = 0; k < kCamerasPerNic; ++k) {
      auto it = devices.find(CameraEndpoint(nic, k));
      ASSERT_NE(it, devices.end()) << CameraEndpoint(nic, k) << " missing in " << json;
      EXPECT_EQ(it->second, absl::StrCat("[\"n", nic, "\"]")) << json;
    }
    EXPECT_EQ(responders[nic]->probes(), 4 * kVariants) << "default --repeat is 4 sends of each variant";
  }
  EXPECT_NE(json.find("\"addresses\":[\"10.77.1.2\"]"), std::string::npos) << json;
  // The responder answers every Probe, so every device answered both variants.
  EXPECT_NE(json.find("\"answered\":[\"dn:NetworkVideoTransmitter\",\"tds:Device\"]"), std::string::npos) << json;
  EXPECT_EQ(SumCounter(json, "new"), 2u * kCamerasPerNic);
  EXPECT_EQ(SumCounter(json, "duplicates"), (4u * kVariants - 1) * 2u * kCamerasPerNic);
  // The lab is dual-stack and --family defaults to both: the schedule runs
  // on an IPv4 and an IPv6 socket of each NIC.
  EXPECT_EQ(SumCounter(json, "probes_sent"), 2u * 2u * 4u * kVariants);
  EXPECT_EQ(SumCounter(json, "unrelated"), 0u);
  EXPECT_EQ(SumCounter(json, "kernel_drops"), 0u);
  // Adaptive end: last send (<= 1250 ms) + 500 ms + 200 ms quiet, far below 10 s.
  EXPECT_LT(run.seconds, 4.0) << "the sweep should end by itself well before --timeout";
}

// Two of our NICs on one segment: each camera hears both Probes (distinct
// MessageIDs per interface) and is listed once, on both NICs. Two workers.
TEST_P(SweepLabTest, BridgedSegmentListsBothNics) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  lab::LabOptions options = TwoNics();
  options.bridge = true;
  auto lab = lab::Lab::Up(options);
  ASSERT_TRUE(lab.ok()) << lab.status();
  constexpr int kCameras = 4;
  Responder responder(lab->CamNamespace(0), {.nic = 0, .ifname = lab->CamNic(0), .cameras = kCameras});
  ASSERT_TRUE(responder.WaitReady()) << responder.error();
  const RunOutcome run = RunSweep(lab->HostExec(SweepArgv({"--iface", "n0,n1", "--format",
                                                 "json", "--threads", "2", "--repeat", "2"})));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string json = JsonLine(run.output);
  const auto devices = DeviceInterfaces(json);
  ASSERT_EQ(devices.size(), static_cast<std::size_t>(kCameras)) << run.output;
  for (const auto& [endpoint, interfaces] : devices) {
    EXPECT_EQ(interfaces, "[\"n0\",\"n1\"]") << endpoint << " in " << json;
  }
  EXPECT_EQ(responder.probes(), 4 * kVariants) << "2 sends of each variant on each of 2 NICs";
  EXPECT_EQ(SumCounter(json, "new"), static_cast<std::uint64_t>(kCameras));
  EXPECT_EQ(SumCounter(json, "duplicates"), (4u * kVariants - 1) * kCameras);
}

// A reply storm: 2 NICs x 1000 cameras answering every Probe at once
// (4000 datagrams per NIC). With the default buffer nothing is lost.
TEST_P(SweepLabTest, StormOfTwoThousandCameras) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  auto lab = lab::Lab::Up(TwoNics());
  ASSERT_TRUE(lab.ok()) << lab.status();
  constexpr int kCamerasPerNic = 1000;
  std::vector<std::unique_ptr<Responder>> responders;
  ASSERT_NO_FATAL_FAILURE(StartResponders(*lab, kCamerasPerNic, responders));
  const RunOutcome run = RunSweep(lab->HostExec(SweepArgv({"--format", "json", "--iface",
                                                 "n0", "--iface", "n1", "--timeout", "10s"})));
  ASSERT_EQ(run.exit_code, 0) << run.output.substr(0, 2000);
  const std::string json = JsonLine(run.output);
  const auto devices = DeviceInterfaces(json);
  EXPECT_EQ(devices.size(), 2u * kCamerasPerNic);
  int on_own_nic = 0;
  for (int nic = 0; nic < 2; ++nic) {
    for (int k = 0; k < kCamerasPerNic; ++k) {
      auto it = devices.find(CameraEndpoint(nic, k));
      on_own_nic += it != devices.end() && it->second == absl::StrCat("[\"n", nic, "\"]");
    }
  }
  EXPECT_EQ(on_own_nic, 2 * kCamerasPerNic);
  EXPECT_EQ(SumCounter(json, "kernel_drops"), 0u);
  EXPECT_EQ(SumCounter(json, "malformed"), 0u);
  EXPECT_EQ(SumCounter(json, "new"), 2u * kCamerasPerNic);
  EXPECT_LT(run.seconds, 5.0);
}

TEST_P(SweepLabTest, TableOutput) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  auto lab = lab::Lab::Up(OneNic());
  ASSERT_TRUE(lab.ok()) << lab.status();
  Responder responder(lab->CamNamespace(0), {.nic = 0, .ifname = lab->CamNic(0), .cameras = 2});
  ASSERT_TRUE(responder.WaitReady()) << responder.error();
  const RunOutcome run =
      RunSweep(lab->HostExec(SweepArgv({"--iface", "n0", "--repeat", "1", "--quiet", "50ms"})));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("NAME     HARDWARE  XADDR                                  INTERFACES\n"
                            "cam 0-0  LabCam    http://10.77.0.2/onvif/device_service  n0\n"
                            "cam 0-1  LabCam    http://10.77.0.2/onvif/device_service  n0\n"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("2 devices on 1 interfaces in "), std::string::npos) << run.output;
}

TEST_P(SweepLabTest, WrongRelatesToIsUnrelated) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  auto lab = lab::Lab::Up(OneNic());
  ASSERT_TRUE(lab.ok()) << lab.status();
  Responder responder(lab->CamNamespace(0), {.nic = 0, .ifname = lab->CamNic(0), .cameras = 3,
                                             .wrong_relates_to = true});
  ASSERT_TRUE(responder.WaitReady()) << responder.error();
  const RunOutcome run = RunSweep(lab->HostExec(SweepArgv({"--iface", "n0", "--format", "json",
                                          "--repeat", "2", "--timeout", "10s"})));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string json = JsonLine(run.output);
  ASSERT_FALSE(json.empty()) << run.output;
  EXPECT_TRUE(DeviceInterfaces(json).empty()) << json;
  EXPECT_NE(json.find("\"devices\":[]"), std::string::npos) << json;
  // 2 sends x 2 variants x 3 replies
  EXPECT_EQ(SumCounter(json, "unrelated"), 2u * kVariants * 3u) << json;
  EXPECT_EQ(SumCounter(json, "datagrams"), 2u * kVariants * 3u) << json;
  EXPECT_EQ(SumCounter(json, "new"), 0u);
}

TEST_P(SweepLabTest, ExpectShortfallExits3AndNdjson) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  auto lab = lab::Lab::Up(OneNic());
  ASSERT_TRUE(lab.ok()) << lab.status();
  Responder responder(lab->CamNamespace(0), {.nic = 0, .ifname = lab->CamNic(0), .cameras = 2});
  ASSERT_TRUE(responder.WaitReady()) << responder.error();
  const RunOutcome run = RunSweep(lab->HostExec(SweepArgv({"--iface", "n0", "--format", "ndjson",
                                          "--repeat", "1", "--expect", "3"})));
  EXPECT_EQ(run.exit_code, 3) << run.output;
  int found = 0, summaries = 0;
  for (absl::string_view line : absl::StrSplit(run.output, '\n')) {
    found += absl::StartsWith(line, "{\"event\":\"found\",\"via\":\"probe\",\"endpoint\":") &&
             absl::StrContains(line, "\"best_xaddr\":\"http://10.77.0.2/onvif/device_service\"");
    summaries += absl::StartsWith(line, "{\"event\":\"summary\",\"devices\":2,");
  }
  EXPECT_EQ(found, 2) << run.output;
  EXPECT_EQ(summaries, 1) << run.output;
  EXPECT_NE(run.output.find("expected at least 3"), std::string::npos) << run.output;
}

// Directed Probes are paced at --rate, also below 100/s, and --timeout grows
// to fit them when not given: 14 silent targets x 2 variants, each sent twice
// (nobody answers), is 56 Probes, 5.6 s at 10/s, past the 5 s default.
TEST_P(SweepLabTest, SlowTargetRateIsPacedAndExtendsTheTimeout) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  auto lab = lab::Lab::Up(OneNic());
  ASSERT_TRUE(lab.ok()) << lab.status();
  const RunOutcome run = RunSweep(
      lab->HostExec(SweepArgv({"--target", "10.77.0.16/28", "--rate", "10", "--format", "json", "--quiet", "50ms"})));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string json = JsonLine(run.output);
  EXPECT_EQ(SumCounter(json, "probes_sent"), 56u) << json;
  const std::uint64_t elapsed_ms = SumCounter(json, "elapsed_ms");
  EXPECT_GE(elapsed_ms, 5400u) << "55 gaps at 10/s: " << json;
  EXPECT_LT(elapsed_ms, 9000u) << json;
}

// Usage errors: run in a fresh empty namespace (`unshare -n`), so even a
// flag-parsing bug could not send anything on the host's interfaces.
INSTANTIATE_TEST_SUITE_P(Backends, SweepLabTest, ::testing::Values("epoll", "uring"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(SweepCliTest, BadFlagsExit2WithAMessage) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--bogus"}, "unknown flag --bogus"},
      {{"--format", "xml"}, "--format"},
      {{"--repeat", "0"}, "--repeat must be"},
      {{"--timeout", "soon"}, "--timeout"},
      {{"--types", "foo:Bar"}, "--types"},
      {{"--types", "any,dn:NetworkVideoTransmitter"}, "'any' cannot be combined"},
      {{"--types", "any", "--types", "any", "--types", "any", "--types", "any", "--types", "any", "--types", "any",
        "--types", "any", "--types", "any", "--types", "any"},
       "at most 8 --types"},
      {{"--backend", "uring2"}, "--backend must be"},
      {{"--target", "cam.local"}, "expected an IPv4 address or CIDR"},
      {{"--target", "10.0.0.0/8"}, "more than 65536"},
      {{"--target", "10.0.0.1", "--rate", "0"}, "--rate must be"},
      {{"--family", "v5"}, "--family: unknown family 'v5' (expected v4, v6 or both)"},
      {{"--target", "fd77::5", "--family", "v4"}, "--target fd77::5 is IPv6 but --family is v4"},
      {{"--target", "fe80::5"}, "needs the interface as its zone"},
      {{"--threads"}, "--threads needs a value"},
      {{"stray"}, "unexpected argument"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> argv = {"unshare", "-n", kSweepBinary};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunOutcome run = RunSweep(argv);
    EXPECT_EQ(run.exit_code, 2) << args[0] << ": " << run.output;
    EXPECT_NE(run.output.find(message), std::string::npos) << args[0] << ": " << run.output;
  }
}

TEST(SweepCliTest, HelpDocumentsEveryFlag) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  const RunOutcome run = RunSweep({"unshare", "-n", kSweepBinary, "--help"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  for (const char* flag : {"--iface", "--exclude", "--family", "--types", "--scopes", "--timeout", "--quiet",
                           "--repeat", "--rcvbuf", "--threads", "--backend", "--format",
                           "--expect", "--listen", "--watch", "--duration", "--reprobe", "--expire"}) {
    EXPECT_NE(run.output.find(flag), std::string::npos) << flag;
  }
}

TEST(SweepCliTest, NoUsableInterfaceExits2) {
  LAB_SKIP_UNLESS_ROOT("network namespaces (tests/lab)");
  // A fresh namespace has only lo (down, and loopback is used only when named).
  RunOutcome run = RunSweep({"unshare", "-n", kSweepBinary});
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("no usable interface"), std::string::npos) << run.output;
  run = RunSweep({"unshare", "-n", kSweepBinary, "--iface", "nosuch0"});
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("nosuch0"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace onvif::sweep
