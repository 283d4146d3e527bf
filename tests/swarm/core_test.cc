// The swarm's pure parts: identities, pre-rendered replies, rate limit,
// duplicate suppression and the reply schedule.

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
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

}  // namespace
}  // namespace onvif::swarm
