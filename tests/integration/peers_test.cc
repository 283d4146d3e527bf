// Interoperability with other people's WS-Discovery software (PEERS.md):
// real third-party clients find onvif-swarm's cameras, and onvif-sweep finds a
// real third-party responder. Each test runs the peer and our binary in the
// namespaces of its own lab (tests/lab/lab.sh) and compares what the peer saw
// with what the swarm's seed must produce (camera i of seed S is a pure
// function of (S, i): engine/swarm/identity.h).
//
//   node-onvif  (npm; a Node client)      finds 50 spec-mode swarm cameras
//   onvif-util  (Debian onvif-tools)      lists a 100-camera swarm
//   wsdd        (Debian wsdd; WSD host)   answers onvif-sweep --types wsdp:Device,
//                                         and stays silent for the default types
//
// A test skips with a message naming the install command when its peer is
// missing, and when not root (network namespaces).
//
// Network safety: every process runs inside the lab's namespaces (`ip netns
// exec`); the Lab owner removes them in TearDown, also when an assertion
// fails, and `lab.sh down` ends whatever still runs inside them. Each child
// is also killed and reaped by its owner (Child) on every path, and every
// wait is bounded. Nothing is ever sent on the machine's own interfaces.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/swarm/identity.h"
#include "gtest/gtest.h"
#include "tests/lab/lab.h"
#include "tests/support/json_reader.h"
#include "tests/support/random_uuid.h"

namespace onvif::integration {
namespace {

using Clock = std::chrono::steady_clock;
using ::onvif::testing::Json;
using ::onvif::testing::ReadJson;

constexpr char kSweepBinary[] = ONVIF_SWEEP_BINARY;
constexpr char kSwarmBinary[] = ONVIF_SWARM_BINARY;
constexpr char kPeersDir[] = ONVIF_PEERS_DIR;  // tests/peers in the source tree

// Only bounds the swarm should the test process itself die; it is stopped at
// the end of each test.
constexpr char kSwarmExitAfter[] = "120s";

// Where node-onvif is looked up when ONVIF_NODE_MODULES is not set. Outside
// the repository: npm is not reachable in CI, and third-party code is never
// committed.
constexpr char kDefaultNodeModules[] = "/opt/onvif-peers/node_modules";

// ---------------------------------------------------------------------------
// A child process with separate stdout/stderr pipes. Finish and the
// destructor always reap it; whatever is still running is SIGKILLed, so no
// path (failed assertion, timeout) leaves a process behind.

class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    Kill();
    if (out_ >= 0) ::close(out_);
    if (err_ >= 0) ::close(err_);
  }

  absl::Status Start(const std::vector<std::string>& argv) {
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
    if (::pipe2(err, O_CLOEXEC) != 0) {
      ::close(out[0]);
      ::close(out[1]);
      return absl::InternalError("pipe2");
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
    if (pid_ < 0) return absl::InternalError("fork");
    command_ = absl::StrJoin(argv, " ");
    return absl::OkStatus();
  }

  // Reads until stderr contains `needle`; errors when the child closes
  // stderr (exits) first or timeout_ms passes.
  absl::Status WaitForStderr(const std::string& needle, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (err_text_.find(needle) == std::string::npos) {
      if (!err_open_) return absl::FailedPreconditionError(Describe("exited before saying '", needle, "'"));
      if (Clock::now() >= deadline) return absl::DeadlineExceededError(Describe("did not say '", needle, "'"));
      Pump(deadline);
    }
    return absl::OkStatus();
  }

  // Sends `signal` (0: none), reads both pipes to EOF and reaps. The exit
  // code, or -1 when a signal ended it. On timeout the child is SIGKILLed,
  // reaped, and DeadlineExceeded returned.
  absl::StatusOr<int> Finish(int signal, int timeout_ms) {
    if (pid_ <= 0) return absl::FailedPreconditionError("not running");
    if (signal != 0) ::kill(pid_, signal);
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while ((out_open_ || err_open_) && Clock::now() < deadline) Pump(deadline);
    if (out_open_ || err_open_) {
      Kill();
      return absl::DeadlineExceededError(Describe("still running after ", timeout_ms, " ms"));
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Sends `signal` to a running child (then Finish(0, ...) collects it).
  void Signal(int signal) const {
    if (pid_ > 0) ::kill(pid_, signal);
  }

  const std::string& out() const { return out_text_; }
  const std::string& err() const { return err_text_; }

 private:
  void Kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  template <typename... Parts>
  std::string Describe(const Parts&... parts) const {
    return absl::StrCat("`", command_, "` ", parts..., "; stderr: ", err_text_.substr(0, 4000));
  }

  // One poll over the open pipes, appending what arrived.
  void Pump(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd fds[2] = {{out_open_ ? out_ : -1, POLLIN, 0}, {err_open_ ? err_ : -1, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(std::max<std::int64_t>(left, 0))) <= 0) return;
    char buf[8192];
    const auto drain = [&buf](pollfd& p, bool& open, std::string& text, int fd) {
      if (!open || (p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) return;
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0) {
        open = false;
      } else {
        text.append(buf, static_cast<std::size_t>(n));
      }
    };
    drain(fds[0], out_open_, out_text_, out_);
    drain(fds[1], err_open_, err_text_, err_);
  }

  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool out_open_ = true;
  bool err_open_ = true;
  std::string out_text_;
  std::string err_text_;
  std::string command_;
};

// ---------------------------------------------------------------------------
// Finding the peers.

bool IsExecutable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// `name` on PATH, then in the sbin/bin directories a non-login root shell may
// lack on PATH (wsdd is in /usr/sbin). "" when absent.
std::string FindProgram(const std::string& name) {
  std::string dirs = std::getenv("PATH") == nullptr ? "" : std::getenv("PATH");
  dirs += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::stringstream stream(dirs);
  std::string dir;
  while (std::getline(stream, dir, ':')) {
    if (!dir.empty() && IsExecutable(dir + "/" + name)) return dir + "/" + name;
  }
  return "";
}

// The node_modules directory holding node-onvif: $ONVIF_NODE_MODULES, else
// kDefaultNodeModules. "" when node-onvif is not there.
std::string FindNodeOnvif() {
  const char* env = std::getenv("ONVIF_NODE_MODULES");
  const std::string dir = env != nullptr && *env != '\0' ? env : kDefaultNodeModules;
  return ::access((dir + "/node-onvif/package.json").c_str(), R_OK) == 0 ? dir : "";
}

// ---------------------------------------------------------------------------
// What onvif-sweep --format json printed.

struct SweptDevice {
  std::string endpoint;
  std::vector<std::string> types, xaddrs, interfaces, addresses;
};

struct SweepResult {
  std::vector<SweptDevice> devices;
  std::map<std::string, std::int64_t> datagrams;  // per interface
  std::string text;                               // stdout and stderr, for messages
};

// ---------------------------------------------------------------------------
// The fixture: a lab, children in its namespaces.

class PeersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LAB_SKIP_UNLESS_ROOT("runs third-party WS-Discovery peers in network namespaces (tests/lab/lab.sh)");
  }

  void TearDown() override {
    // Children first (SIGTERM to all, so wsdd's graceful ~1 s exits overlap;
    // bounded; SIGKILL by ~Child), then the lab, whose `down` also ends
    // anything still running in its namespaces.
    for (auto& child : background_) child->Signal(SIGTERM);
    for (auto& child : background_) (void)child->Finish(0, 5'000);
    background_.clear();
    if (!lab_) return;
    const absl::Status down = lab_->Down();
    EXPECT_TRUE(down.ok()) << down;
    absl::StatusOr<lab::CommandResult> left = lab::RunCommand({lab::LabScript(), "list", "--name", lab_->name()});
    ASSERT_TRUE(left.ok()) << left.status();
    EXPECT_EQ(left->output.find_first_not_of(" \n"), std::string::npos)
        << "lab " << lab_->name() << " left namespaces: " << left->output;
  }

  void Up(lab::LabOptions options) {
    options.name = lab::UniqueLabName("pe");
    // IPv4-only segments: the peers here are IPv4 clients, and wsdd would
    // also answer over IPv6 (ipv6_test.cc checks that on its own).
    options.family = "v4";
    absl::StatusOr<lab::Lab> made = lab::Lab::Up(std::move(options));
    ASSERT_TRUE(made.ok()) << made.status();
    lab_.emplace(std::move(*made));
  }

  // Starts a long-running child in camera namespace `nic`, waits until its
  // stderr says `ready_text`, then checks independently (`ss`) that a UDP
  // socket listens on :3702 in that namespace. Returns the child (owned by
  // the fixture) or nullptr after a fatal failure.
  Child* StartResponder(int nic, const std::vector<std::string>& argv, const std::string& ready_text) {
    background_.push_back(std::make_unique<Child>());
    Child* child = background_.back().get();
    const absl::Status started = child->Start(lab_->CamExec(nic, argv));
    EXPECT_TRUE(started.ok()) << started;
    if (!started.ok()) return nullptr;
    const absl::Status ready = child->WaitForStderr(ready_text, 30'000);
    EXPECT_TRUE(ready.ok()) << ready;
    if (!ready.ok()) return nullptr;
    absl::StatusOr<lab::CommandResult> ss = lab::RunCommand(lab_->CamExec(nic, {"ss", "-Hunl", "sport", "=", ":3702"}));
    EXPECT_TRUE(ss.ok()) << ss.status();
    if (!ss.ok() || ss->output.find(":3702") == std::string::npos) {
      ADD_FAILURE() << "ready, but nothing listens on :3702 in " << lab_->CamNamespace(nic) << ": "
                    << (ss.ok() ? ss->output : "");
      return nullptr;
    }
    return child;
  }

  // onvif-swarm on camera namespace `nic` with --stats, no Hello/Bye.
  Child* StartSwarm(int nic, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kSwarmBinary, "--iface", lab_->CamNic(nic), "--stats", "--nohello",
                                     "--nobye", "--exit-after", kSwarmExitAfter};
    argv.insert(argv.end(), args.begin(), args.end());
    return StartResponder(nic, argv, "ready");
  }

  // Stops a swarm (SIGTERM) and returns its --stats object.
  static absl::StatusOr<Json> StopSwarm(Child& swarm) {
    absl::StatusOr<int> code = swarm.Finish(SIGTERM, 30'000);
    if (!code.ok()) return code.status();
    if (*code != 0) return absl::InternalError(absl::StrCat("swarm exit ", *code, ": ", swarm.err()));
    return ReadJson(swarm.out());
  }

  // Runs argv in the host namespace to completion (at most timeout_ms).
  void RunInHost(const std::vector<std::string>& argv, int timeout_ms, Child& child, int& exit_code) {
    ASSERT_TRUE(child.Start(lab_->HostExec(argv)).ok());
    absl::StatusOr<int> code = child.Finish(0, timeout_ms);
    ASSERT_TRUE(code.ok()) << code.status();
    exit_code = *code;
  }

  // onvif-sweep --format json in the host namespace, read back.
  void Sweep(std::vector<std::string> args, SweepResult& result) {
    std::vector<std::string> argv = {kSweepBinary, "--format", "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    Child sweep;
    int code = -1;
    ASSERT_NO_FATAL_FAILURE(RunInHost(argv, 60'000, sweep, code));
    result.text = absl::StrCat("onvif-sweep ", absl::StrJoin(args, " "), "\nstdout: ", sweep.out().substr(0, 4000),
                               "\nstderr: ", sweep.err().substr(0, 2000));
    ASSERT_EQ(code, 0) << result.text;
    absl::StatusOr<Json> doc = ReadJson(sweep.out());
    ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << result.text;
    const Json* devices = doc->Find("devices");
    const Json* stats = doc->Find("stats");
    ASSERT_TRUE(devices != nullptr && devices->is_array() && stats != nullptr) << result.text;
    for (const Json& d : devices->array()) {
      const Json* endpoint = d.Find("endpoint");
      ASSERT_NE(endpoint, nullptr) << result.text;
      const auto list = [&d](std::string_view key) {
        const Json* v = d.Find(key);
        return v == nullptr ? std::vector<std::string>{"<missing>"} : v->Strings();
      };
      result.devices.push_back({endpoint->str(), list("types"), list("xaddrs"), list("interfaces"), list("addresses")});
    }
    const Json* interfaces = stats->Find("interfaces");
    ASSERT_TRUE(interfaces != nullptr && interfaces->is_array()) << result.text;
    for (const Json& i : interfaces->array()) {
      const Json* name = i.Find("name");
      ASSERT_NE(name, nullptr) << result.text;
      result.datagrams[name->str()] = i.IntAt("datagrams");
    }
  }

  std::optional<lab::Lab> lab_;
  std::vector<std::unique_ptr<Child>> background_;
};

std::string Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return absl::StrCat("[", absl::StrJoin(v, " "), "]");
}

// ---------------------------------------------------------------------------
// a) node-onvif's startProbe() finds every camera of a 50-camera swarm, with
// the XAddr, name, hardware and scopes the swarm's seed gives each.
//
// Sized for node-onvif: it probes for three types (NVT, Device, Display),
// each sent 3x 150 ms apart, listens a fixed 3 s, reads with the default
// receive buffer (~92 ProbeMatches of this size; LAB.md) and parses every
// reply with xml2js on its one JS thread. 50 spec-mode cameras (each answers
// after rand[0, 500 ms]) stay well under that buffer even if node is slow to
// get a CPU, and all answer inside its 3 s window; a bigger or storm swarm
// would test the kernel's drop rate, not interoperability.
TEST_F(PeersTest, NodeOnvifFindsEverySwarmCamera) {
  constexpr std::uint32_t kCameras = 50;
  constexpr std::uint64_t kSeed = 21;
  const std::string node = FindProgram("node");
  if (node.empty()) GTEST_SKIP() << "node (Node.js) not found on PATH; node-onvif needs it";
  const std::string node_modules = FindNodeOnvif();
  if (node_modules.empty()) {
    GTEST_SKIP() << "node-onvif not found in $ONVIF_NODE_MODULES or " << kDefaultNodeModules
                 << "; install it with: npm install --prefix /opt/onvif-peers node-onvif "
                    "(or set ONVIF_NODE_MODULES to a node_modules directory holding it)";
  }
  lab::LabOptions options;
  options.nics = 1;
  ASSERT_NO_FATAL_FAILURE(Up(options));
  Child* swarm = StartSwarm(0, {"--cameras", std::to_string(kCameras), "--mode", "spec", "--seed",
                                std::to_string(kSeed)});
  ASSERT_NE(swarm, nullptr);

  Child probe;
  int code = -1;
  ASSERT_NO_FATAL_FAILURE(RunInHost({"env", "ONVIF_NODE_MODULES=" + node_modules, node,
                                     std::string(kPeersDir) + "/node_onvif_probe.js"},
                                    30'000, probe, code));
  ASSERT_EQ(code, 0) << probe.err();
  absl::StatusOr<Json> found = ReadJson(probe.out());
  ASSERT_TRUE(found.ok()) << found.status() << "; stdout: " << probe.out().substr(0, 2000);
  ASSERT_TRUE(found->is_array()) << probe.out().substr(0, 2000);

  std::map<std::string, std::uint32_t> expected;  // urn -> camera index
  for (std::uint32_t i = 0; i < kCameras; ++i) expected[swarm::MakeIdentity(kSeed, i).endpoint] = i;
  const std::vector<std::string> want_xaddrs = {
      swarm::DeviceServiceXAddr(absl::StrCat(lab::Lab::CamAddress(0), ":80"))};
  std::set<std::string> seen;
  int bad = 0;
  std::string first_bad;
  for (const Json& device : found->array()) {
    const auto field = [&device](std::string_view key) {
      const Json* v = device.Find(key);
      return v == nullptr ? std::string("<missing>") : v->str();
    };
    const auto list = [&device](std::string_view key) {
      const Json* v = device.Find(key);
      return v == nullptr ? std::vector<std::string>{"<missing>"} : v->Strings();
    };
    const std::string urn = field("urn");
    std::string wrong;
    if (const auto it = expected.find(urn); it == expected.end()) {
      wrong = absl::StrCat(" not a camera of seed ", kSeed);
    } else {
      const swarm::CameraIdentity camera = swarm::MakeIdentity(kSeed, it->second);
      if (!seen.insert(urn).second) wrong += " listed twice;";
      if (list("xaddrs") != want_xaddrs) absl::StrAppend(&wrong, " xaddrs ", Sorted(list("xaddrs")), ";");
      // node-onvif takes name and hardware from our Scopes.
      if (field("name") != camera.name) absl::StrAppend(&wrong, " name ", field("name"), ";");
      if (field("hardware") != camera.hardware) absl::StrAppend(&wrong, " hardware ", field("hardware"), ";");
      if (Sorted(list("scopes")) != Sorted(camera.scopes)) {
        absl::StrAppend(&wrong, " scopes ", Sorted(list("scopes")), " want ", Sorted(camera.scopes), ";");
      }
    }
    if (!wrong.empty() && ++bad <= 5) absl::StrAppend(&first_bad, "\n  ", urn, ":", wrong);
  }
  EXPECT_EQ(bad, 0) << bad << " devices wrong, e.g." << first_bad;
  EXPECT_EQ(seen.size(), kCameras) << "node-onvif found " << found->array().size() << " of " << kCameras
                                   << " cameras; stdout: " << probe.out().substr(0, 1000);

  // What node-onvif's nine Probes did to the swarm: its NVT Probe matches
  // (dn:NetworkVideoTransmitter); its "Device" and "NetworkVideoDisplay"
  // Probes are in the ONVIF network namespace, which no camera type is
  // (tds:Device lives in the device WSDL namespace), so they must not match;
  // the 2 resends of each are duplicates (same MessageID) and unanswered.
  absl::StatusOr<Json> stats = StopSwarm(*swarm);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->IntAt("probes"), 9) << swarm->out();
  EXPECT_EQ(stats->IntAt("answered"), 1) << swarm->out();
  EXPECT_EQ(stats->IntAt("not_matched"), 2) << swarm->out();
  EXPECT_EQ(stats->IntAt("duplicates"), 6) << swarm->out();
  EXPECT_EQ(stats->IntAt("replies_sent"), kCameras) << swarm->out();
  EXPECT_EQ(stats->IntAt("send_errors"), 0) << swarm->out();
}

// b) onvif-util -a lists every camera of a 100-camera swarm, each on its own
// address: line "<XAddr host> (<name> <hardware>)" for exactly cameras 0..99.
//
// Sized for onvif-util: it keeps replies in a fixed 128-slot array (more
// crash it), sends one Probe and ends after 500 ms without a reply, and
// reads with the default receive buffer (~92 replies). 100 spec-mode cameras
// with --max-delay 250ms spread the replies over 250 ms (no burst has to fit
// the buffer) and leave no 500 ms gap. --addresses gives camera i its own
// source and XAddr host (the lab assigns 10.100.0.1..100), so the host
// column identifies the camera too. The lab's host namespace has the
// 224.0.0.0/4 route onvif-util needs (its socket sets no IP_MULTICAST_IF).
TEST_F(PeersTest, OnvifUtilListsAHundredCameras) {
  constexpr std::uint32_t kCameras = 100;
  constexpr std::uint64_t kSeed = 22;
  const std::string onvif_util = FindProgram("onvif-util");
  if (onvif_util.empty()) {
    GTEST_SKIP() << "onvif-util not found; install it with: apt-get install -y --no-install-recommends "
                    "onvif-tools (third_party/install-deps.sh does)";
  }
  lab::LabOptions options;
  options.nics = 1;
  options.addresses_per_nic = static_cast<int>(kCameras);
  ASSERT_NO_FATAL_FAILURE(Up(options));
  Child* swarm = StartSwarm(0, {"--cameras", std::to_string(kCameras), "--mode", "spec", "--max-delay",
                                "250ms", "--seed", std::to_string(kSeed), "--addresses", "10.100.0.0/16"});
  ASSERT_NE(swarm, nullptr);

  Child util;
  int code = -1;
  ASSERT_NO_FATAL_FAILURE(RunInHost({onvif_util, "-a"}, 30'000, util, code));
  const std::string output = util.out() + util.err();
  ASSERT_EQ(code, 0) << output;

  std::set<std::string> expected;
  for (std::uint32_t i = 0; i < kCameras; ++i) {
    const swarm::CameraIdentity camera = swarm::MakeIdentity(kSeed, i);
    expected.insert(absl::StrCat(lab::Lab::ExtraAddress(0, static_cast<int>(i) + 1), " (", camera.name, " ",
                                 camera.hardware, ")"));
  }
  std::set<std::string> listed;
  int found_line = 0;
  int bad = 0;
  std::string first_bad;
  std::stringstream lines(util.out());
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("Found ", 0) == 0) ++found_line;
    if (line.rfind("10.", 0) != 0) continue;  // a device line starts with its XAddr host
    const char* wrong = !listed.insert(line).second   ? "listed twice"
                        : expected.count(line) == 0 ? "not a camera of this seed at its address"
                                                    : nullptr;
    if (wrong != nullptr && ++bad <= 5) absl::StrAppend(&first_bad, "\n  ", line, ": ", wrong);
  }
  EXPECT_EQ(bad, 0) << bad << " lines wrong, e.g." << first_bad;
  EXPECT_EQ(found_line, 1) << output;
  EXPECT_NE(util.out().find(absl::StrCat("Found ", kCameras, " cameras")), std::string::npos) << output;
  EXPECT_EQ(listed, expected) << output;

  absl::StatusOr<Json> stats = StopSwarm(*swarm);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->IntAt("probes"), 1) << "onvif-util sends one Probe: " << swarm->out();
  EXPECT_EQ(stats->IntAt("replies_sent"), kCameras) << swarm->out();
  EXPECT_EQ(stats->IntAt("send_errors"), 0) << swarm->out();
}

// c) onvif-sweep finds wsdd hosts by their DPWS type, written either as
// wsdp:Device or in Clark notation, and lists exactly them (each on the NIC
// its segment is behind); the default dn:NetworkVideoTransmitter sweep gets
// not one datagram from them (wsdd answers only Probes whose Types it has).
//
// Three wsdd responders, one per camera namespace (each its own -U: the
// namespaces share a hostname, from which wsdd would derive the same UUID).
// The lab's NICs are n<i>/c<i>, not veth*/docker*, names some WSD hosts skip.
// wsdd compares the Probe's Types text with "wsdp:Device" literally, so the
// Clark-notation sweep also proves the builder writes the devprof namespace
// with the wsdp prefix.
TEST_F(PeersTest, SweepFindsWsddHostsByDevprofTypeOnly) {
  constexpr int kHosts = 3;
  const std::string wsdd = FindProgram("wsdd");
  if (wsdd.empty()) {
    GTEST_SKIP() << "wsdd not found; install it with: apt-get install -y wsdd "
                    "(third_party/install-deps.sh does)";
  }
  lab::LabOptions options;
  options.nics = kHosts;
  ASSERT_NO_FATAL_FAILURE(Up(options));
  std::mt19937_64 rng{std::random_device{}()};
  std::map<std::string, int> expected;  // urn -> NIC
  for (int i = 0; i < kHosts; ++i) {
    const std::string urn = onvif::testing::RandomUrnUuid(rng);
    expected[urn] = i;
    // -v: INFO logging, which says when the IPv4 group is joined.
    ASSERT_NE(StartResponder(i,
                             {wsdd, "-i", lab_->CamNic(i), "-n", absl::StrCat("peerhost", i), "-U",
                              urn.substr(std::string_view("urn:uuid:").size()), "-v"},
                             "joined multicast group ('239.255.255.250'"),
              nullptr);
  }
  std::vector<std::string> ifaces;
  for (int i = 0; i < kHosts; ++i) ifaces.push_back(lab::Lab::HostNic(i));
  const std::string iface_list = absl::StrJoin(ifaces, ",");

  // Each sweep on both event-loop backends, with the same expectations.
  for (const char* backend : {"epoll", "uring"}) {
    for (const char* types : {"wsdp:Device", "{http://schemas.xmlsoap.org/ws/2006/02/devprof}Device"}) {
      SCOPED_TRACE(absl::StrCat(types, " on ", backend));
      SweepResult result;
      ASSERT_NO_FATAL_FAILURE(
          Sweep({"--iface", iface_list, "--types", types, "--timeout", "5s", "--backend", backend}, result));
      std::map<std::string, int> listed;
      for (const SweptDevice& d : result.devices) {
        SCOPED_TRACE(d.endpoint);
        const auto it = expected.find(d.endpoint);
        if (it == expected.end()) {
          ADD_FAILURE() << "not one of the wsdd hosts\n" << result.text;
          continue;
        }
        EXPECT_TRUE(listed.emplace(d.endpoint, it->second).second) << "listed twice";
        EXPECT_EQ(d.interfaces, std::vector<std::string>{lab::Lab::HostNic(it->second)}) << result.text;
        EXPECT_EQ(d.addresses, std::vector<std::string>{lab::Lab::CamAddress(it->second)}) << result.text;
        EXPECT_NE(std::find(d.types.begin(), d.types.end(), "{http://schemas.xmlsoap.org/ws/2006/02/devprof}Device"),
                  d.types.end())
            << Sorted(d.types);
      }
      EXPECT_EQ(listed, expected) << result.text;
    }

    SCOPED_TRACE(backend);
    SweepResult onvif_only;
    ASSERT_NO_FATAL_FAILURE(Sweep({"--iface", iface_list, "--timeout", "5s", "--backend", backend}, onvif_only));
    EXPECT_TRUE(onvif_only.devices.empty()) << onvif_only.text;
    ASSERT_EQ(onvif_only.datagrams.size(), static_cast<std::size_t>(kHosts)) << onvif_only.text;
    for (const auto& [iface, datagrams] : onvif_only.datagrams) {
      EXPECT_EQ(datagrams, 0) << iface << ": wsdd answered a dn:NetworkVideoTransmitter Probe\n" << onvif_only.text;
    }
  }
}

}  // namespace
}  // namespace onvif::integration
