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
