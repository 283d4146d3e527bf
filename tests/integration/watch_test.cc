// onvif-sweep --watch end to end: the real binary in the host namespace of a
// lab (tests/lab/lab.sh) against real onvif-swarm processes in the camera
// namespace that announce themselves (Hello, Bye), restart, replay old
// announcements and fall silent. Needs root; skips otherwise (the usage
// tests run everywhere).
//
// Network safety as in sweep_swarm_test.cc: every process runs inside the
// lab's namespaces, which the Lab owner removes, also on failure; swarms get
// --exit-after as a safety net and are killed by their owner.
//
// Camera i of a swarm with seed S is a pure function of (S, i), so each test
// knows the exact endpoints every event must name.

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/swarm/identity.h"
#include "gtest/gtest.h"
#include "tests/lab/lab.h"
#include "tests/support/json_reader.h"
#include "tests/swarm/swarm_process.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ONVIF_WATCH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ONVIF_WATCH_SANITIZED 1
#endif
#endif
#ifndef ONVIF_WATCH_SANITIZED
#define ONVIF_WATCH_SANITIZED 0
#endif

namespace onvif::integration {
namespace {

using swarm::testing::SwarmProcess;
using ::onvif::testing::Json;
using ::onvif::testing::ReadJson;

constexpr char kSweepBinary[] = ONVIF_SWEEP_BINARY;
constexpr char kSwarmBinary[] = ONVIF_SWARM_BINARY;
// Sanitized binaries are several times slower: settle times grow.
constexpr int kSlow = ONVIF_WATCH_SANITIZED != 0 ? 3 : 1;
constexpr std::uint32_t kCameras = 200;


struct Event {
  std::string event;
  std::string via;
  std::string endpoint;
  std::vector<std::string> xaddrs;
  std::string best_xaddr;
};

struct WatchOutput {
  std::vector<Event> events;
  std::optional<Json> summary;
  std::string stderr_text;

  // Endpoints of the events with this event and via, each once; a repeat
  // fails the test (every change is reported once).
  std::set<std::string> Endpoints(std::string_view event, std::string_view via) const {
    std::set<std::string> out;
    for (const Event& e : events) {
      if (e.event == event && e.via == via) {
        EXPECT_TRUE(out.insert(e.endpoint).second) << event << " via " << via << " twice for " << e.endpoint;
      }
    }
    return out;
  }
  std::size_t Count(std::string_view event, std::string_view via = "") const {
    std::size_t n = 0;
    for (const Event& e : events) n += e.event == event && (via.empty() || e.via == via);
    return n;
  }
  std::int64_t Summary(std::string_view key) const {
    return summary.has_value() ? summary->IntAt(key) : -1;
  }
};

std::set<std::string> Cameras(std::uint64_t seed, std::uint32_t count) {
  std::set<std::string> out;
  for (std::uint32_t i = 0; i < count; ++i) out.insert(swarm::MakeIdentity(seed, i).endpoint);
  return out;
}

class WatchTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { LAB_SKIP_UNLESS_ROOT("watch tests run the sweep and the swarm in network namespaces"); }

  // A one-NIC lab; "v4" (the default) pins the counts to one family: on a
  // dual-stack link every announcement arrives twice.
  void Up(std::string family = "v4") {
    lab::LabOptions options;
    options.name = lab::UniqueLabName("wt");
    options.family = std::move(family);
    absl::StatusOr<lab::Lab> made = lab::Lab::Up(std::move(options));
    ASSERT_TRUE(made.ok()) << made.status();
    lab_.emplace(std::move(*made));
  }
  void TearDown() override {
    watch_.reset();
    swarm_.reset();
    if (lab_) {
      EXPECT_TRUE(lab_->Down().ok());
    }
  }

  // Starts `onvif-sweep --watch` with `args` and waits for its ready line.
  void StartWatch(std::vector<std::string> args) {
    std::vector<std::string> argv = {kSweepBinary, "--watch", "--backend", GetParam(), "--duration", "120s"};
    argv.insert(argv.end(), args.begin(), args.end());
    watch_ = std::make_unique<SwarmProcess>();
    ASSERT_TRUE(watch_->Start(lab_->HostExec(argv)).ok());
    const absl::Status ready = watch_->WaitReady(20'000);
    ASSERT_TRUE(ready.ok()) << ready;
  }

  // Starts a swarm of kCameras with `seed` and `args`, waits until it serves.
  void StartSwarm(std::uint64_t seed, std::vector<std::string> args) {
    std::vector<std::string> argv = {kSwarmBinary, "--iface", lab_->CamNic(0), "--cameras", absl::StrCat(swarm_cameras_),
                                     "--seed", absl::StrCat(seed), "--rate_limit", "0", "--exit-after", "120s"};
    argv.insert(argv.end(), args.begin(), args.end());
    swarm_ = std::make_unique<SwarmProcess>();
    ASSERT_TRUE(swarm_->Start(lab_->CamExec(0, argv)).ok());
    const absl::Status ready = swarm_->WaitReady(20'000);
    ASSERT_TRUE(ready.ok()) << ready;
  }

  // SIGTERM (a Bye for every camera unless --nobye), waits for the exit;
  // returns what the swarm printed on stdout (its --stats, when asked for).
  std::string StopSwarm() {
    absl::StatusOr<int> code = swarm_->Finish(SIGTERM, 30'000);
    EXPECT_TRUE(code.ok()) << code.status();
    if (code.ok()) {
      EXPECT_EQ(*code, 0) << swarm_->err();
    }
    std::string out = swarm_->out();
    swarm_.reset();
    return out;
  }

  // SIGTERM to the watch; reads every event and the summary line.
  void StopWatch(WatchOutput& out) {
    absl::StatusOr<int> code = watch_->Finish(SIGTERM, 30'000);
    ASSERT_TRUE(code.ok()) << code.status();
    out.stderr_text = watch_->err();
    ASSERT_EQ(*code, 0) << out.stderr_text;
    for (absl::string_view line : absl::StrSplit(watch_->out(), '\n', absl::SkipEmpty())) {
      absl::StatusOr<Json> json = ReadJson(std::string(line));
      ASSERT_TRUE(json.ok()) << json.status() << " in line: " << line;
      const Json* event = json->Find("event");
      ASSERT_NE(event, nullptr) << line;
      if (event->str() == "summary") {
        ASSERT_FALSE(out.summary.has_value()) << "two summary lines";
        out.summary = *json;
        continue;
      }
      ASSERT_FALSE(out.summary.has_value()) << "an event after the summary: " << line;
      Event e;
      e.event = event->str();
      const Json* via = json->Find("via");
      const Json* endpoint = json->Find("endpoint");
      ASSERT_TRUE(via != nullptr && endpoint != nullptr) << line;
      e.via = via->str();
      e.endpoint = endpoint->str();
      if (const Json* xaddrs = json->Find("xaddrs"); xaddrs != nullptr) e.xaddrs = xaddrs->Strings();
      const Json* best = json->Find("best_xaddr");
      if (best != nullptr && best->is_string()) e.best_xaddr = best->str();
      out.events.push_back(std::move(e));
    }
    ASSERT_TRUE(out.summary.has_value()) << "no summary line; stderr: " << out.stderr_text;
    EXPECT_EQ(out.summary->Find("backend")->str(), GetParam());
    watch_.reset();
  }

  // Waits while reading the watch's output (it streams: a full pipe would
  // stall it).
  void Settle(int ms) {
    if (watch_ != nullptr) {
      watch_->Drain(ms * kSlow);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms * kSlow));
    }
  }

  std::optional<lab::Lab> lab_;
  std::unique_ptr<SwarmProcess> watch_;
  std::unique_ptr<SwarmProcess> swarm_;
  std::uint32_t swarm_cameras_ = kCameras;
};

TEST_P(WatchTest, TwoHundredHellosAndByes) {
  // Only the start's Probe round, before any camera exists: every device
  // must come from its Hello and leave with its Bye.
  ASSERT_NO_FATAL_FAILURE(Up());
  StartWatch({"--reprobe", "inf"});
  Settle(1500);
  StartSwarm(7, {});
  Settle(1000);
  StopSwarm();
  Settle(1000);
  WatchOutput out;
  StopWatch(out);
  const std::set<std::string> cameras = Cameras(7, kCameras);
  EXPECT_EQ(out.Endpoints("found", "hello"), cameras);
  EXPECT_EQ(out.Endpoints("gone", "bye"), cameras);
  EXPECT_EQ(out.events.size(), 2 * kCameras) << "nothing but one found and one gone per camera";
  EXPECT_EQ(out.Summary("hellos"), kCameras);
  EXPECT_EQ(out.Summary("byes"), kCameras);
  EXPECT_EQ(out.Summary("found"), kCameras);
  EXPECT_EQ(out.Summary("gone"), kCameras);
  EXPECT_EQ(out.Summary("devices"), 0);
  EXPECT_EQ(out.Summary("stale"), 0);
  for (const Event& e : out.events) {
    EXPECT_FALSE(e.xaddrs.empty()) << e.endpoint;
    EXPECT_FALSE(e.best_xaddr.empty()) << e.endpoint;
  }
}

TEST_P(WatchTest, RestartIsAnUpdateAndReplayedAnnouncementsAreIgnored) {
  ASSERT_NO_FATAL_FAILURE(Up());
  StartWatch({"--reprobe", "inf"});
  Settle(1500);
  // Instance 1000 announces itself, then dies without a Bye.
  StartSwarm(7, {"--instance-id", "1000", "--nobye"});
  Settle(500);
  StopSwarm();
  // It comes back as instance 2000: a restart.
  StartSwarm(7, {"--instance-id", "2000", "--nobye"});
  Settle(500);
  StopSwarm();
  // A replay of instance 1000, Hello and Bye: stale, reported never.
  StartSwarm(7, {"--instance-id", "1000"});
  Settle(500);
  StopSwarm();
  // Instance 2000's Hello (MessageNumber 1) once more: a duplicate.
  StartSwarm(7, {"--instance-id", "2000", "--nobye"});
  Settle(500);
  StopSwarm();
  Settle(500);
  WatchOutput out;
  StopWatch(out);
  const std::set<std::string> cameras = Cameras(7, kCameras);
  EXPECT_EQ(out.Endpoints("found", "hello"), cameras);
  EXPECT_EQ(out.Endpoints("updated", "hello"), cameras);
  EXPECT_EQ(out.Count("gone"), 0u) << "the replayed Bye must not remove anyone";
  EXPECT_EQ(out.events.size(), 2 * kCameras);
  EXPECT_EQ(out.Summary("stale"), 2 * kCameras) << "200 Hellos and 200 Byes of the old instance";
  EXPECT_EQ(out.Summary("duplicate_announcements"), kCameras);
  EXPECT_EQ(out.Summary("devices"), kCameras);
}

TEST_P(WatchTest, SilentDevicesExpireAndAnsweringOnesDoNot) {
  // Re-probes every second keep the cameras present while they answer;
  // after they fall silent (no Bye) they expire.
  ASSERT_NO_FATAL_FAILURE(Up());
  StartWatch({"--reprobe", "1s", "--expire", "2500ms"});
  StartSwarm(9, {"--nohello", "--nobye"});
  Settle(4000);
  StopSwarm();
  Settle(4000);
  WatchOutput out;
  StopWatch(out);
  const std::set<std::string> cameras = Cameras(9, kCameras);
  EXPECT_EQ(out.Endpoints("found", "probe"), cameras);
  EXPECT_EQ(out.Endpoints("gone", "expired"), cameras);
  EXPECT_EQ(out.events.size(), 2 * kCameras) << "no camera expired while it was answering";
  EXPECT_GE(out.Summary("rounds"), 5);
  EXPECT_EQ(out.Summary("devices"), 0);
}

TEST_P(WatchTest, HelloWithoutXAddrsIsResolved) {
  ASSERT_NO_FATAL_FAILURE(Up());
  StartWatch({"--reprobe", "inf"});
  Settle(1500);
  StartSwarm(11, {"--quirks", "no-xaddrs", "--nobye"});
  Settle(1500);
  StopSwarm();
  WatchOutput out;
  StopWatch(out);
  const std::set<std::string> cameras = Cameras(11, kCameras);
  EXPECT_EQ(out.Endpoints("found", "hello"), cameras);
  EXPECT_EQ(out.Endpoints("updated", "resolve"), cameras);
  for (const Event& e : out.events) {
    if (e.via == "hello") {
      EXPECT_TRUE(e.xaddrs.empty()) << e.endpoint;
    } else {
      EXPECT_FALSE(e.xaddrs.empty()) << e.endpoint;
      EXPECT_FALSE(e.best_xaddr.empty()) << e.endpoint;
    }
  }
}

TEST_P(WatchTest, HellosOfOtherDeviceTypesAreNotReported) {
  // Cameras that are only tds:Device: a watch for NetworkVideoTransmitters
  // must not list them (a sweep would not: they would not answer).
  ASSERT_NO_FATAL_FAILURE(Up());
  StartWatch({"--reprobe", "inf", "--types", "dn:NetworkVideoTransmitter"});
  Settle(1500);
  StartSwarm(13, {"--types", "tds:Device", "--nobye"});
  Settle(1000);
  StopSwarm();
  WatchOutput out;
  StopWatch(out);
  EXPECT_TRUE(out.events.empty()) << out.events.size() << " events, first " << out.events[0].endpoint;
  EXPECT_EQ(out.Summary("hellos"), kCameras);
  EXPECT_EQ(out.Summary("filtered"), kCameras);
}

TEST_P(WatchTest, MulticastProbeMatchesAreHeardOnTheListener) {
  ASSERT_NO_FATAL_FAILURE(Up());
  StartSwarm(23, {"--quirks", "multicast-reply", "--nohello", "--nobye"});
  StartWatch({"--reprobe", "inf"});
  Settle(2500);
  StopSwarm();
  WatchOutput out;
  StopWatch(out);
  EXPECT_EQ(out.Endpoints("found", "probe"), Cameras(23, kCameras));
  EXPECT_EQ(out.events.size(), kCameras);
}

TEST_P(WatchTest, ChurnIsReportedEventForEvent) {
  // 50 cameras, 40 churn events a second for 3 s: every Bye is a "gone",
  // every rejoin (Hello, higher InstanceId) a "found", every metadata bump
  // (Hello, same instance, higher MetadataVersion) an "updated".
  ASSERT_NO_FATAL_FAILURE(Up());
  StartWatch({"--reprobe", "inf"});
  Settle(1500);
  swarm_cameras_ = 50;
  StartSwarm(29, {"--churn", "40", "--nobye", "--stats"});
  Settle(3000);
  const std::string stats_text = StopSwarm();
  Settle(500);
  WatchOutput out;
  StopWatch(out);
  absl::StatusOr<Json> stats = ReadJson(stats_text);
  ASSERT_TRUE(stats.ok()) << stats.status() << ": " << stats_text;
  const std::int64_t byes = stats->IntAt("churn_byes");
  const std::int64_t rejoins = stats->IntAt("churn_hellos");
  const std::int64_t updates = stats->IntAt("churn_updates");
  ASSERT_GT(byes + rejoins + updates, 60) << stats_text;
  EXPECT_EQ(static_cast<std::int64_t>(out.Count("gone", "bye")), byes);
  EXPECT_EQ(static_cast<std::int64_t>(out.Count("found", "hello")), 50 + rejoins);
  EXPECT_EQ(static_cast<std::int64_t>(out.Count("updated", "hello")), updates);
  EXPECT_EQ(out.Summary("devices"), 50 - stats->IntAt("away")) << stats_text;
  EXPECT_EQ(out.Summary("stale"), 0);
}

TEST_P(WatchTest, Ipv6OnlySegmentHellosAndByes) {
  ASSERT_NO_FATAL_FAILURE(Up("v6"));
  StartWatch({"--reprobe", "inf"});
  Settle(1500);
  StartSwarm(17, {});
  Settle(1000);
  StopSwarm();
  Settle(1000);
  WatchOutput out;
  StopWatch(out);
  const std::set<std::string> cameras = Cameras(17, kCameras);
  EXPECT_EQ(out.Endpoints("found", "hello"), cameras);
  EXPECT_EQ(out.Endpoints("gone", "bye"), cameras);
  EXPECT_EQ(out.Summary("hellos"), kCameras);
  for (const Event& e : out.events) {
    ASSERT_FALSE(e.best_xaddr.empty()) << e.endpoint;
    EXPECT_EQ(e.best_xaddr.find("http://["), 0u) << "an IPv6 XAddr: " << e.best_xaddr;
  }
}

TEST_P(WatchTest, DualStackCameraIsOneDeviceAndItsSecondHelloADuplicate) {
  ASSERT_NO_FATAL_FAILURE(Up("both"));
  StartWatch({"--reprobe", "inf"});
  Settle(1500);
  StartSwarm(19, {"--nobye"});
  Settle(1000);
  StopSwarm();
  WatchOutput out;
  StopWatch(out);
  EXPECT_EQ(out.Endpoints("found", "hello"), Cameras(19, kCameras));
  EXPECT_EQ(out.events.size(), kCameras) << "one device per camera, whichever family came first";
  EXPECT_EQ(out.Summary("hellos"), 2 * kCameras) << "each Hello once per family";
  EXPECT_EQ(out.Summary("duplicate_announcements"), kCameras);
}

INSTANTIATE_TEST_SUITE_P(Backends, WatchTest, ::testing::Values("epoll", "uring"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

// Usage errors exit 2 before any socket is opened: no root, no lab.
struct UsageCase {
  std::vector<std::string> args;
  std::string message;
};

TEST(WatchUsageTest, BadCombinationsExitTwoWithAReason) {
  const UsageCase cases[] = {
      {{"--watch", "--timeout", "1s"}, "--timeout applies to a one-time sweep"},
      {{"--watch", "--target", "10.0.0.1"}, "--target applies to a one-time sweep"},
      {{"--watch", "--format", "json"}, "--format must be ndjson"},
      {{"--watch", "--reprobe", "0s"}, "--reprobe must be at least 1s"},
      {{"--watch", "--duration", "-1s"}, "--duration must be positive"},
      {{"--duration", "1s"}, "--duration needs --watch"},
      {{"--expire", "5s"}, "--expire needs --watch"},
  };
  for (const UsageCase& c : cases) {
    std::vector<std::string> argv = {kSweepBinary};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    absl::StatusOr<lab::CommandResult> run = lab::RunCommand(argv);
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->exit_code, 2) << absl::StrJoin(c.args, " ") << ": " << run->output;
    EXPECT_NE(run->output.find(c.message), std::string::npos) << absl::StrJoin(c.args, " ") << ": " << run->output;
  }
}

}  // namespace
}  // namespace onvif::integration
