// The swarm's pure parts: identities, pre-rendered replies, rate limit,
// duplicate suppression, the reply schedule and churn planning.

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "engine/swarm/churn.h"
#include "engine/swarm/identity.h"
#include "engine/swarm/limits.h"
#include "engine/swarm/reply.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/constants.h"
#include "engine/wsd/scanner.h"
#include "gtest/gtest.h"

namespace onvif::swarm {
namespace {

constexpr std::int64_t kMs = 1'000'000;

TEST(IdentityTest, PureFunctionOfSeedAndIndex) {
  const CameraIdentity a = MakeIdentity(7, 42);
  const CameraIdentity b = MakeIdentity(7, 42);
  EXPECT_EQ(a.endpoint, b.endpoint);
  EXPECT_EQ(a.hardware, b.hardware);
  EXPECT_EQ(a.location, b.location);
  EXPECT_EQ(a.scopes, b.scopes);
  EXPECT_EQ(a.name, "cam-42");
  EXPECT_NE(MakeIdentity(8, 42).endpoint, a.endpoint);
  // v4 shape: urn:uuid:xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx
  ASSERT_EQ(a.endpoint.size(), wsd::kMessageIdSize);
  EXPECT_EQ(a.endpoint.substr(0, 9), "urn:uuid:");
  EXPECT_EQ(a.endpoint[9 + 14], '4');
  EXPECT_NE(std::string_view("89ab").find(a.endpoint[9 + 19]), std::string_view::npos);
  EXPECT_NE(std::find(a.scopes.begin(), a.scopes.end(), "onvif://www.onvif.org/name/cam-42"), a.scopes.end());
}

TEST(IdentityTest, DistinctOver100000AndAcrossSeeds) {
  absl::flat_hash_set<std::string> seen;
  for (std::uint32_t i = 0; i < 100'000; ++i) {
    ASSERT_TRUE(seen.insert(MakeIdentity(1, i).endpoint).second) << i;
  }
  for (std::uint32_t i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(seen.insert(MakeIdentity(2, i).endpoint).second) << i;
  }
}

TEST(MessageIdTest, FreshV4Ids) {
  FastRng rng(1);
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    char id[wsd::kMessageIdSize];
    WriteMessageId(rng, id);
    const std::string text(id, sizeof(id));
    EXPECT_EQ(text.substr(0, 9), "urn:uuid:");
    EXPECT_EQ(text[9 + 14], '4');
    ids.insert(text);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(ReplyStoreTest, PatchedReplyScansBack) {
  ReplyStore store;
  for (std::uint32_t i = 0; i < 3; ++i) {
    store.Add(Describe(MakeIdentity(5, i), kHostMarker), {.instance_id = 9, .message_number = 2});
  }
  FastRng rng(3);
  char id[wsd::kMessageIdSize];
  WriteMessageId(rng, id);
  std::string relates;
  wsd::AppendXmlEscaped("urn:uuid:probe-<&>", &relates);
  iovec iov[kReplyIovecs];
  store.Fill(1, {id, sizeof(id)}, relates, "4000000001", "10.1.2.3:8080", iov);
  const std::string bytes = Gather(iov);

  wsd::Scanner scanner;
  ASSERT_TRUE(scanner.Scan(bytes).ok()) << bytes;
  const wsd::Envelope& env = scanner.envelope();
  EXPECT_EQ(env.kind, wsd::MessageKind::kProbeMatches);
  std::string scratch(bytes.size(), '\0');
  EXPECT_EQ(env.relates_to.Get(scratch), "urn:uuid:probe-<&>");
  EXPECT_EQ(env.message_id.raw, std::string_view(id, sizeof(id)));
  ASSERT_TRUE(env.app_sequence.has_value());
  EXPECT_EQ(env.app_sequence->message_number, 4000000001u) << "the per-message number is patched in";
  ASSERT_EQ(env.entries().size(), 1u);
  const wsd::Entry& entry = env.entries()[0];
  EXPECT_EQ(entry.endpoint.raw, MakeIdentity(5, 1).endpoint);
  EXPECT_EQ(entry.xaddrs.raw, "http://10.1.2.3:8080/onvif/device_service");
  EXPECT_EQ(env.types(entry).size(), 2u);
  ASSERT_TRUE(env.app_sequence.has_value());
  EXPECT_EQ(env.app_sequence->instance_id, 9u);
}

struct ScannedReply {
  std::string relates_to;
  std::string endpoint;
  std::uint64_t instance_id = 0;
  std::uint64_t message_number = 0;
  std::uint64_t metadata_version = 0;
};

ScannedReply FillAndScan(const ReplyStore& store, std::uint32_t index, std::string_view number) {
  iovec iov[kReplyIovecs];
  store.Fill(index, "urn:uuid:reply", "urn:uuid:probe", number, "10.0.0.9:80", iov);
  const std::string bytes = Gather(iov);
  wsd::Scanner scanner;
  ScannedReply out;
  EXPECT_TRUE(scanner.Scan(bytes).ok()) << bytes;
  const wsd::Envelope& env = scanner.envelope();
  if (env.entries().size() != 1 || !env.app_sequence.has_value()) {
    ADD_FAILURE() << bytes;
    return out;
  }
  out.relates_to = std::string(env.relates_to.raw);
  out.endpoint = std::string(env.entries()[0].endpoint.raw);
  out.instance_id = env.app_sequence->instance_id;
  out.message_number = env.app_sequence->message_number;
  out.metadata_version = env.entries()[0].metadata_version.value_or(0);
  return out;
}

// Replace: one camera's reply says its new InstanceId and MetadataVersion
// from then on (a slot of its own, reused on the next change); the others
// are untouched, and the per-send values are still patched in.
TEST(ReplyStoreTest, ReplaceRerendersOneCamera) {
  ReplyStore store;
  for (std::uint32_t i = 0; i < 3; ++i) {
    store.Add(Describe(MakeIdentity(5, i), kHostMarker), {.instance_id = 9, .message_number = 2});
  }
  const std::size_t arena = store.arena_bytes();
  wsd::DeviceDescription changed = Describe(MakeIdentity(5, 1), kHostMarker);
  changed.metadata_version = 7;
  store.Replace(1, changed, {.instance_id = 12, .message_number = 2}, {});
  ScannedReply r = FillAndScan(store, 1, "1");
  EXPECT_EQ(r.endpoint, MakeIdentity(5, 1).endpoint);
  EXPECT_EQ(r.relates_to, "urn:uuid:probe");
  EXPECT_EQ(r.instance_id, 12u);
  EXPECT_EQ(r.metadata_version, 7u);
  EXPECT_EQ(r.message_number, 1u);
  for (const std::uint32_t other : {0u, 2u}) {
    r = FillAndScan(store, other, "5");
    EXPECT_EQ(r.endpoint, MakeIdentity(5, other).endpoint);
    EXPECT_EQ(r.instance_id, 9u);
    EXPECT_EQ(r.metadata_version, 1u);
    EXPECT_EQ(r.message_number, 5u);
  }
  // Again, restyled (a comment where a real device might put one): the same
  // slot, and the pieces are found in the restyled bytes.
  changed.metadata_version = 8;
  bool restyled = false;
  store.Replace(1, changed, {.instance_id = 13, .message_number = 2}, [&restyled](std::string& bytes) {
    restyled = true;
    bytes.insert(bytes.find("<s:Body>"), "<!-- restyled -->");
  });
  EXPECT_TRUE(restyled);
  r = FillAndScan(store, 1, "2");
  EXPECT_EQ(r.instance_id, 13u);
  EXPECT_EQ(r.metadata_version, 8u);
  EXPECT_EQ(r.message_number, 2u);
  EXPECT_EQ(store.arena_bytes(), arena) << "the arena does not grow";
  EXPECT_EQ(store.size(), 3u);
}

TEST(FaultTest, MatchingRuleNotSupportedScans) {
  const std::string fault = BuildMatchingRuleFault("urn:uuid:f", "urn:uuid:probe");
  wsd::Scanner scanner;
  ASSERT_TRUE(scanner.Scan(fault).ok()) << fault;
  EXPECT_EQ(scanner.envelope().kind, wsd::MessageKind::kFault);
  EXPECT_EQ(scanner.envelope().relates_to.raw, "urn:uuid:probe");
  EXPECT_NE(fault.find("d:MatchingRuleNotSupported"), std::string::npos);
}

TEST(RateLimiterTest, PerSourcePerSecond) {
  RateLimiter limiter(10);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.Allow(1, i * kMs));
  EXPECT_FALSE(limiter.Allow(1, 20 * kMs));
  EXPECT_TRUE(limiter.Allow(2, 20 * kMs));  // another source has its own budget
  EXPECT_FALSE(limiter.Allow(1, 999 * kMs));
  EXPECT_TRUE(limiter.Allow(1, 1000 * kMs));  // a new window
  RateLimiter unlimited(0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unlimited.Allow(1, 0));
}

TEST(ProbeHistoryTest, RetransmissionIsDuplicateWithinWindow) {
  ProbeHistory history(2000 * kMs);
  EXPECT_FALSE(history.SeenBefore("urn:uuid:a", 3, 0));
  EXPECT_TRUE(history.SeenBefore("urn:uuid:a", 3, 150 * kMs));
  EXPECT_TRUE(history.SeenBefore("urn:uuid:a", 3, 1500 * kMs));
  EXPECT_FALSE(history.SeenBefore("urn:uuid:a", 4, 10 * kMs));  // other interface or source
  EXPECT_FALSE(history.SeenBefore("urn:uuid:b", 3, 10 * kMs));
  EXPECT_FALSE(history.SeenBefore("urn:uuid:a", 3, 4000 * kMs));  // window over: a new sweep
}

TEST(PlanRepliesTest, StormAndSpec) {
  constexpr std::uint32_t kN = 10'000;
  constexpr std::uint32_t kMax = 500;
  std::vector<std::uint32_t> cameras(kN), due(kN), sc(kN), sd(kN), counts(kMax + 2);
  for (std::uint32_t i = 0; i < kN; ++i) cameras[i] = i;
  FastRng rng(11);
  PlanReplies(ReplyMode::kStorm, kMax, rng, cameras, due, sc, sd, counts);
  for (std::uint32_t i = 0; i < kN; ++i) {
    EXPECT_EQ(cameras[i], i);
    EXPECT_EQ(due[i], 0u);
  }
  PlanReplies(ReplyMode::kSpec, kMax, rng, cameras, due, sc, sd, counts);
  std::set<std::uint32_t> all(cameras.begin(), cameras.end());
  EXPECT_EQ(all.size(), kN);  // a permutation
  EXPECT_EQ(*all.rbegin(), kN - 1);
  std::uint32_t early = 0;
  for (std::uint32_t i = 0; i < kN; ++i) {
    ASSERT_LE(due[i], kMax);
    if (i > 0) {
      ASSERT_LE(due[i - 1], due[i]);
    }
    if (due[i] < kMax / 2) ++early;
  }
  // Uniform: about half in the first half (10,000 draws: +-5% is > 7 sigma).
  EXPECT_GT(early, kN * 45 / 100);
  EXPECT_LT(early, kN * 55 / 100);
  EXPECT_LT(due.front(), 5u);
  EXPECT_GT(due.back(), kMax - 5);
}

// Applies a planner's events to a presence vector, counting each kind.
struct ChurnRun {
  std::vector<std::uint8_t> present;
  std::vector<ChurnEvent> events;
  std::uint32_t leaves = 0, rejoins = 0, updates = 0;
};

ChurnRun RunChurn(std::uint64_t seed, std::uint32_t cameras, std::uint32_t count) {
  ChurnPlanner planner(seed, cameras);
  ChurnRun run;
  run.present.assign(cameras, 1);
  for (std::uint32_t i = 0; i < count; ++i) {
    const ChurnEvent e = planner.Next(run.present);
    EXPECT_LT(e.camera, cameras);
    switch (e.kind) {
      case ChurnKind::kLeave:
        EXPECT_EQ(run.present[e.camera], 1) << "only a present camera leaves";
        run.present[e.camera] = 0;
        ++run.leaves;
        break;
      case ChurnKind::kRejoin:
        EXPECT_EQ(run.present[e.camera], 0) << "only an absent camera rejoins";
        run.present[e.camera] = 1;
        ++run.rejoins;
        break;
      case ChurnKind::kUpdate:
        EXPECT_EQ(run.present[e.camera], 1) << "only a present camera changes its metadata";
        ++run.updates;
        break;
    }
    run.events.push_back(e);
  }
  return run;
}

bool SameEvents(const std::vector<ChurnEvent>& a, const std::vector<ChurnEvent>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].camera != b[i].camera) return false;
  }
  return true;
}

TEST(ChurnPlannerTest, PureFunctionOfSeed) {
  const ChurnRun a = RunChurn(7, 100, 2000);
  const ChurnRun b = RunChurn(7, 100, 2000);
  EXPECT_TRUE(SameEvents(a.events, b.events));
  EXPECT_FALSE(SameEvents(a.events, RunChurn(8, 100, 2000).events));
}

// Present cameras leave or update at even odds; absent ones rejoin; in the
// long run about a third are away (leaves = rejoins when present/2 = absent).
TEST(ChurnPlannerTest, MixAndSteadyState) {
  constexpr std::uint32_t kCameras = 300;
  const ChurnRun run = RunChurn(3, kCameras, 60'000);
  const double present_picks = run.leaves + run.updates;
  EXPECT_NEAR(run.leaves / present_picks, 0.5, 0.02);
  EXPECT_GT(run.rejoins, 10'000u);
  std::uint32_t away = 0;
  for (const std::uint8_t p : run.present) away += p == 0 ? 1 : 0;
  EXPECT_EQ(away, run.leaves - run.rejoins);
  EXPECT_GT(away, kCameras * 25 / 100) << "about a third away";
  EXPECT_LT(away, kCameras * 42 / 100) << "about a third away";
  // Picks are uniform: every camera had events.
  std::set<std::uint32_t> touched;
  for (const ChurnEvent& e : run.events) touched.insert(e.camera);
  EXPECT_EQ(touched.size(), kCameras);

  // One camera: it alternates between present (leave or update) and away (rejoin).
  const ChurnRun one = RunChurn(1, 1, 100);
  EXPECT_GT(one.leaves, 0u);
  EXPECT_GT(one.updates, 0u);
  EXPECT_GE(one.rejoins + 1, one.leaves);
}

TEST(ChurnTest, EventsDueKeepTheRate) {
  constexpr std::int64_t kSecond = 1'000 * kMs;
  EXPECT_EQ(ChurnEventsDue(40, kSecond), 40u);
  EXPECT_EQ(ChurnEventsDue(40, kSecond / 2), 20u);
  EXPECT_EQ(ChurnEventsDue(40, 24 * kMs), 0u);
  EXPECT_EQ(ChurnEventsDue(40, 25 * kMs), 1u);
  EXPECT_EQ(ChurnEventsDue(2.5, kSecond), 2u);
  EXPECT_EQ(ChurnEventsDue(2.5, 4 * kSecond), 10u);
  EXPECT_EQ(ChurnEventsDue(0, 100 * kSecond), 0u);
  EXPECT_EQ(ChurnEventsDue(40, -kSecond), 0u);
  EXPECT_EQ(ChurnEventsDue(10'000, 3600 * kSecond), 36'000'000u);
}

TEST(ChurnTest, RestartInstanceIdGoesUp) {
  constexpr std::int64_t kSecond = 1'000 * kMs;
  EXPECT_EQ(RestartInstanceId(1000, 1000, 0), 1001u) << "within the first second: one more";
  EXPECT_EQ(RestartInstanceId(1000, 1000, 5 * kSecond + 999 * kMs), 1005u) << "the clock";
  EXPECT_EQ(RestartInstanceId(1000, 1007, 5 * kSecond), 1008u) << "restarted often: still up";
  EXPECT_EQ(RestartInstanceId(5, 5, 3 * kSecond), 8u) << "--instance-id 5: 5 + elapsed seconds";
}

}  // namespace
}  // namespace onvif::swarm
