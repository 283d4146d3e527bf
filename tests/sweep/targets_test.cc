#include "engine/sweep/targets.h"

#include <random>

#include "gtest/gtest.h"

namespace onvif::sweep {
namespace {

std::vector<std::string> Texts(const std::vector<net::IpAddress>& ips) {
  std::vector<std::string> out;
  for (const net::IpAddress& ip : ips) out.push_back(ip.ToString());
  return out;
}

TEST(ParseTargetsTest, HostsAndRanges) {
  auto targets = ParseTargets({"10.0.0.5", "10.1.0.0/30", "10.0.0.5", "192.0.2.7/32", "198.51.100.0/31"});
  ASSERT_TRUE(targets.ok()) << targets.status();
  EXPECT_EQ(Texts(*targets), (std::vector<std::string>{"10.0.0.5", "10.1.0.1", "10.1.0.2", "192.0.2.7",
                                                       "198.51.100.0", "198.51.100.1"}));
  auto slash24 = ParseTargets({"10.100.0.77/24"});
  ASSERT_TRUE(slash24.ok());
  EXPECT_EQ(slash24->size(), 254u);
  EXPECT_EQ(slash24->front().ToString(), "10.100.0.1");
  EXPECT_EQ(slash24->back().ToString(), "10.100.0.254");
}

TEST(ParseTargetsTest, Errors) {
  for (const char* bad : {"cam.local", "10.0.0.0/33", "10.0.0.0/x", "fe80::1", "10.0.0.0/8", ""}) {
    auto targets = ParseTargets({bad});
    EXPECT_FALSE(targets.ok()) << bad;
  }
  EXPECT_NE(ParseTargets({"10.0.0.0/8"}).status().message().find("more than 65536"), std::string::npos);
  EXPECT_FALSE(ParseTargets({"10.0.0.0/16", "10.1.0.0/24"}).ok()) << "65534 + 254 > 65536";
}

TEST(ParseTargetsTest, Ipv6HostsAndRanges) {
  auto targets = ParseTargets({"fd77:1::2", "fd77:2::/126", "FD77:1:0::2", "10.0.0.5", "fd77:3::/127"});
  ASSERT_TRUE(targets.ok()) << targets.status();
  // The Subnet-Router anycast address (host part 0) is left out below /127.
  EXPECT_EQ(Texts(*targets), (std::vector<std::string>{"fd77:1::2", "fd77:2::1", "fd77:2::2", "fd77:2::3",
                                                       "10.0.0.5", "fd77:3::", "fd77:3::1"}));
  auto slash112 = ParseTargets({"fd77::ab:77/112"});
  ASSERT_TRUE(slash112.ok()) << slash112.status();
  EXPECT_EQ(slash112->size(), 65535u);
  EXPECT_EQ(slash112->front().ToString(), "fd77::ab:1");
  EXPECT_EQ(slash112->back().ToString(), "fd77::ab:ffff");
  const std::string too_big(ParseTargets({"fd77::/64"}).status().message());
  EXPECT_NE(too_big.find("has 2^64 addresses, more than 65536"), std::string::npos) << too_big;
  EXPECT_FALSE(ParseTargets({"fd77::/111"}).ok());
  EXPECT_FALSE(ParseTargets({"fd77::/129"}).ok());
}

TEST(ParseTargetsTest, LinkLocalNeedsAZoneAndOnlyItTakesOne) {
  auto numeric = ParseTargets({"fe80::5%7"});
  ASSERT_TRUE(numeric.ok()) << numeric.status();
  EXPECT_EQ(Texts(*numeric), std::vector<std::string>{"fe80::5%7"});
  EXPECT_EQ(numeric->front().scope_id(), 7u);
  const std::string no_zone(ParseTargets({"fe80::5"}).status().message());
  EXPECT_NE(no_zone.find("needs the interface as its zone, e.g. fe80::5%eth0"), std::string::npos) << no_zone;
  const std::string unknown(ParseTargets({"fe80::5%nosuch0"}).status().message());
  EXPECT_NE(unknown.find("no interface 'nosuch0' on this host"), std::string::npos) << unknown;
  EXPECT_FALSE(ParseTargets({"fd77::5%7"}).ok()) << "only link-local addresses have zones";
  EXPECT_FALSE(ParseTargets({"10.0.0.5%7"}).ok());
  // The same address on two links is two targets.
  auto two = ParseTargets({"fe80::5%7", "fe80::5%8", "fe80::5%7"});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
}

TEST(UnicastMessageIdTest, RoundTripAndShape) {
  std::mt19937_64 gen(7);
  const std::string prefix = NewUnicastIdPrefix(gen);
  ASSERT_EQ(prefix.size(), 28u);
  const std::string id = UnicastMessageId(prefix, 1, 65535);
  ASSERT_EQ(id.size(), 45u);
  EXPECT_EQ(id.substr(0, 9), "urn:uuid:");
  EXPECT_EQ(id[23], '4');  // version nibble
  EXPECT_EQ(id[28], '8');  // RFC 4122 variant
  const auto ref = ParseUnicastMessageId(prefix, id);
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->variant, 1u);
  EXPECT_EQ(ref->target, 65535u);
  EXPECT_FALSE(ParseUnicastMessageId(prefix, "urn:uuid:00000000-0000-4000-8000-000000000000").has_value());
  EXPECT_FALSE(ParseUnicastMessageId(prefix, id.substr(0, 44)).has_value());
  std::string bad = id;
  bad[40] = 'g';
  EXPECT_FALSE(ParseUnicastMessageId(prefix, bad).has_value());
}

}  // namespace
}  // namespace onvif::sweep
