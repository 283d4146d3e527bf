// Probe matching (WS-Discovery 2005/04 section 5.1) with the spec's examples
// and the ONVIF scope shapes the swarm answers.

#include "engine/wsd/matching.h"

#include <string>
#include <string_view>
#include <vector>

#include "engine/wsd/builder.h"
#include "engine/wsd/constants.h"
#include "engine/wsd/scanner.h"
#include "gtest/gtest.h"

namespace onvif::wsd {
namespace {

constexpr std::string_view kLdapRule = "http://schemas.xmlsoap.org/ws/2005/04/discovery/ldap";

bool Rfc(std::string_view s1, std::string_view s2) { return ScopeMatches(MatchRule::kRfc3986, s1, s2); }

TEST(ParseMatchByTest, KnownAndUnknownRules) {
  EXPECT_EQ(ParseMatchBy(""), MatchRule::kRfc3986);  // absent: ONVIF's default
  EXPECT_EQ(ParseMatchBy(kMatchByRfc3986), MatchRule::kRfc3986);
  EXPECT_EQ(ParseMatchBy(kMatchByRfc2396), MatchRule::kRfc3986);
  EXPECT_EQ(ParseMatchBy(std::string(" ") + std::string(kMatchByStrcmp0) + "\n"), MatchRule::kStrcmp0);
  EXPECT_EQ(ParseMatchBy(kMatchByUuid), MatchRule::kUuid);
  EXPECT_EQ(ParseMatchBy("http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/rfc3986"),
            MatchRule::kRfc3986);
  EXPECT_EQ(ParseMatchBy("http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/none"), MatchRule::kNone);
  EXPECT_EQ(ParseMatchBy(kLdapRule), MatchRule::kUnknown);
  EXPECT_EQ(ParseMatchBy("rfc3986"), MatchRule::kUnknown);
}

TEST(Rfc3986Test, SegmentWisePrefixNotStringPrefix) {
  // WS-Discovery 1.1 section 5.1's example.
  EXPECT_TRUE(Rfc("http://example.com/abc", "http://example.com/abc/def"));
  EXPECT_FALSE(Rfc("http://example.com/a", "http://example.com/abc"));
  // The ONVIF hardware scope (PROTOCOL.md).
  EXPECT_TRUE(Rfc("onvif://www.onvif.org/hardware/D1", "onvif://www.onvif.org/hardware/D1"));
  EXPECT_FALSE(Rfc("onvif://www.onvif.org/hardware/D1", "onvif://www.onvif.org/hardware/D1-566"));
  EXPECT_TRUE(Rfc("onvif://www.onvif.org/hardware", "onvif://www.onvif.org/hardware/D1-566"));
  EXPECT_TRUE(Rfc("onvif://www.onvif.org/hardware/", "onvif://www.onvif.org/hardware/D1-566"));
  EXPECT_TRUE(Rfc("onvif://www.onvif.org", "onvif://www.onvif.org/location/x"));
  EXPECT_TRUE(Rfc("onvif://www.onvif.org/", "onvif://www.onvif.org/location/x"));
  EXPECT_FALSE(Rfc("onvif://www.onvif.org/location/x/y", "onvif://www.onvif.org/location/x"));
  EXPECT_FALSE(Rfc("onvif://www.onvif.org/location/x", "onvif://www.onvif.org/name/x"));
}

TEST(Rfc3986Test, SchemeAndAuthorityIgnoreCasePathDoesNot) {
  EXPECT_TRUE(Rfc("ONVIF://WWW.ONVIF.ORG/name/cam", "onvif://www.onvif.org/name/cam"));
  EXPECT_FALSE(Rfc("onvif://www.onvif.org/Name/cam", "onvif://www.onvif.org/name/cam"));
  EXPECT_FALSE(Rfc("onvif://other.org/name", "onvif://www.onvif.org/name"));
  EXPECT_FALSE(Rfc("http://www.onvif.org/name", "onvif://www.onvif.org/name"));
}

TEST(Rfc3986Test, PercentEscapesCompareDecoded) {
  EXPECT_TRUE(Rfc("onvif://www.onvif.org/name/Lobby%20Cam", "onvif://www.onvif.org/name/Lobby%20Cam"));
  EXPECT_TRUE(Rfc("onvif://www.onvif.org/name/%41", "onvif://www.onvif.org/name/A"));
  EXPECT_TRUE(Rfc("onvif://www.onvif.org/name/a%2c", "onvif://www.onvif.org/name/a%2C"));
  EXPECT_FALSE(Rfc("onvif://www.onvif.org/name/%61", "onvif://www.onvif.org/name/A"));
}

TEST(Rfc3986Test, QueryAndFragmentIgnoredDotSegmentsNeverMatch) {
  EXPECT_TRUE(Rfc("http://h/a?x=1", "http://h/a/b?y=2#f"));
  EXPECT_FALSE(Rfc("http://h/a/../b", "http://h/b"));
  EXPECT_FALSE(Rfc("http://h/a", "http://h/a/./b"));
  EXPECT_FALSE(Rfc("not a uri", "not a uri"));
  EXPECT_FALSE(Rfc("http://h/a", "urn:x/a"));
  EXPECT_TRUE(Rfc("urn:x:y", "urn:x:y"));
}

TEST(OtherRulesTest, Strcmp0IsExact) {
  EXPECT_TRUE(
      ScopeMatches(MatchRule::kStrcmp0, "onvif://www.onvif.org/name/x", "onvif://www.onvif.org/name/x"));
  EXPECT_FALSE(
      ScopeMatches(MatchRule::kStrcmp0, "onvif://www.onvif.org/name", "onvif://www.onvif.org/name/x"));
  EXPECT_FALSE(
      ScopeMatches(MatchRule::kStrcmp0, "ONVIF://www.onvif.org/name/x", "onvif://www.onvif.org/name/x"));
}

TEST(OtherRulesTest, UuidComparesValues) {
  EXPECT_TRUE(ScopeMatches(MatchRule::kUuid, "uuid:0A6DC791-2E96-4A6C-8F3F-5D2B9E1C7A44",
                           "urn:uuid:0a6dc791-2e96-4a6c-8f3f-5d2b9e1c7a44"));
  EXPECT_FALSE(ScopeMatches(MatchRule::kUuid, "uuid:0a6dc791-2e96-4a6c-8f3f-5d2b9e1c7a45",
                            "uuid:0a6dc791-2e96-4a6c-8f3f-5d2b9e1c7a44"));
  EXPECT_FALSE(ScopeMatches(MatchRule::kUuid, "uuid:0a6dc791", "uuid:0a6dc791"));
}

TEST(ScopesMatchTest, EveryProbeScopeNeedsAMatch) {
  const std::vector<std::string_view> device = {"onvif://www.onvif.org/name/cam-1",
                                                "onvif://www.onvif.org/hardware/SW-1000",
                                                "onvif://www.onvif.org/location/lab/row3"};
  EXPECT_EQ(ScopesMatch("", "", device), MatchResult::kMatch);
  EXPECT_EQ(ScopesMatch("onvif://www.onvif.org/location/lab", "", device), MatchResult::kMatch);
  EXPECT_EQ(ScopesMatch(" onvif://www.onvif.org/location/lab\n onvif://www.onvif.org/name ", "", device),
            MatchResult::kMatch);
  EXPECT_EQ(ScopesMatch("onvif://www.onvif.org/location/lab onvif://www.onvif.org/name/cam-2", "", device),
            MatchResult::kNoMatch);
  EXPECT_EQ(ScopesMatch("onvif://www.onvif.org/name/cam-1", kMatchByStrcmp0, device), MatchResult::kMatch);
  EXPECT_EQ(ScopesMatch("onvif://www.onvif.org/name", kMatchByStrcmp0, device), MatchResult::kNoMatch);
  // WS-Discovery 2005/04 section 5.1's example Probe uses the ldap rule,
  // which this responder does not implement.
  EXPECT_EQ(ScopesMatch("ldap:///ou=engineering,o=examplecom,c=us", kLdapRule, device),
            MatchResult::kUnsupportedRule);
  const std::string none = "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/none";
  EXPECT_EQ(ScopesMatch("", none, device), MatchResult::kNoMatch);
  EXPECT_EQ(ScopesMatch("", none, {}), MatchResult::kMatch);
}

TEST(TypesMatchTest, ByNamespaceAndLocalNameNotPrefix) {
  const std::vector<QName> device = {{"dn", kNsOnvifNetwork, kTypeNetworkVideoTransmitter},
                                     {"tds", kNsOnvifDevice, kTypeDevice}};
  EXPECT_TRUE(TypesMatch(std::span<const QName>(), device));
  const std::vector<QName> nvt = {{"x", kNsOnvifNetwork, kTypeNetworkVideoTransmitter}};
  EXPECT_TRUE(TypesMatch(nvt, device));
  const std::vector<QName> both = {{"a", kNsOnvifDevice, kTypeDevice},
                                   {"b", kNsOnvifNetwork, kTypeNetworkVideoTransmitter}};
  EXPECT_TRUE(TypesMatch(both, device));
  const std::vector<QName> devprof = {{"dn", kNsDevProf, kTypeDevice}};
  EXPECT_FALSE(TypesMatch(devprof, device));
  const std::vector<QName> extra = {{"dn", kNsOnvifNetwork, kTypeNetworkVideoTransmitter},
                                    {"dn", kNsOnvifNetwork, "Printer"}};
  EXPECT_FALSE(TypesMatch(extra, device));
}

// End to end over a scanned Probe: the QNames come resolved from the scanner.
TEST(TypesMatchTest, ScannedProbe) {
  const std::string probe = BuildProbe(
      "", ProbeSpec{.types = {{std::string(kNsOnvifNetwork), std::string(kTypeNetworkVideoTransmitter)}},
                    .scopes = {"onvif://www.onvif.org/name"}});
  Scanner scanner;
  ASSERT_TRUE(scanner.Scan(probe).ok());
  const Envelope& env = scanner.envelope();
  ASSERT_EQ(env.kind, MessageKind::kProbe);
  ASSERT_EQ(env.entries().size(), 1u);
  const Entry& entry = env.entries()[0];
  const std::vector<QName> device = {{"", kNsOnvifNetwork, kTypeNetworkVideoTransmitter}};
  EXPECT_TRUE(TypesMatch(env.types(entry), device));
  const std::vector<std::string_view> scopes = {"onvif://www.onvif.org/name/cam-7"};
  EXPECT_EQ(ScopesMatch(entry.scopes.raw, entry.match_by.raw, scopes), MatchResult::kMatch);
}

TEST(AllScopesMatchTest, EveryWantedScopeNeedsAMatch) {
  const std::vector<std::string> wanted = {"onvif://www.onvif.org/hardware/D1", "onvif://www.onvif.org/name"};
  const std::string_view device = "onvif://www.onvif.org/name/cam%201  onvif://www.onvif.org/hardware/D1";
  EXPECT_TRUE(AllScopesMatch(wanted, device));
  EXPECT_FALSE(AllScopesMatch(wanted, "onvif://www.onvif.org/hardware/D1-566 onvif://www.onvif.org/name/x"));
  EXPECT_FALSE(AllScopesMatch(wanted, ""));
  EXPECT_TRUE(AllScopesMatch({}, ""));
}

}  // namespace
TEST(TypesMatchTest, WantedSpecsEveryOneMustBePresent) {
  const std::vector<QNameSpec> wanted = {{"urn:a", "X"}, {"urn:b", "Y"}};
  const std::vector<QName> both = {{"p", "urn:b", "Y"}, {"q", "urn:a", "X"}};
  const std::vector<QName> one = {{"p", "urn:a", "X"}};
  const std::vector<QName> wrong_ns = {{"p", "urn:a", "X"}, {"p", "urn:c", "Y"}};
  EXPECT_TRUE(TypesMatch(wanted, both));
  EXPECT_FALSE(TypesMatch(wanted, one));
  EXPECT_FALSE(TypesMatch(wanted, wrong_ns));
  EXPECT_TRUE(TypesMatch(std::span<const QNameSpec>(), one));
}

TEST(Rfc3986Test, ProberFilterExamples) {
  EXPECT_TRUE(ScopeMatches(MatchRule::kRfc3986, "onvif://www.onvif.org/hardware/D1",
                                  "onvif://www.onvif.org/hardware/D1"));
  EXPECT_TRUE(ScopeMatches(MatchRule::kRfc3986, "onvif://www.onvif.org/hardware/D1",
                                  "onvif://www.onvif.org/hardware/D1/rev2"));
  EXPECT_TRUE(ScopeMatches(MatchRule::kRfc3986, "ONVIF://WWW.ONVIF.ORG/hardware/", "onvif://www.onvif.org/hardware/D1"));
  EXPECT_FALSE(ScopeMatches(MatchRule::kRfc3986, "onvif://www.onvif.org/hardware/D1",
                                   "onvif://www.onvif.org/hardware/D1-566"));
  EXPECT_FALSE(ScopeMatches(MatchRule::kRfc3986, "onvif://www.onvif.org/Hardware/D1",
                                   "onvif://www.onvif.org/hardware/D1"));
  EXPECT_FALSE(ScopeMatches(MatchRule::kRfc3986, "onvif://other.org/hardware", "onvif://www.onvif.org/hardware"));
}

}  // namespace onvif::wsd
