// Address ranges and the --stats JSON of engine/swarm/swarm.h.

#include <arpa/inet.h>

#include <string>

#include "engine/swarm/swarm.h"
#include "gtest/gtest.h"

namespace onvif::swarm {
namespace {

std::string Text(in_addr address) {
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &address, text, sizeof(text));
  return text;
}

TEST(Ipv4RangeTest, HostsStartAfterTheNetworkAddress) {
  absl::StatusOr<Ipv4Range> range = Ipv4Range::Parse("10.100.7.9/16");
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->HostCount(), 65534u);
  EXPECT_EQ(Text(range->Host(0)), "10.100.0.1");    // lab.sh's first extra address
  EXPECT_EQ(Text(range->Host(255)), "10.100.1.0");  // consecutive across octets
  EXPECT_EQ(Ipv4Range::Parse("10.0.0.5/32")->HostCount(), 1u);
  EXPECT_EQ(Text(Ipv4Range::Parse("10.0.0.5/32")->Host(0)), "10.0.0.5");
  EXPECT_EQ(Ipv4Range::Parse("10.0.0.0/30")->HostCount(), 2u);
}

TEST(Ipv4RangeTest, RejectsWhatIsNotACidr) {
  for (const char* bad :
       {"10.0.0.0", "10.0.0.0/33", "10.0.0/8", "x/8", "10.0.0.0/", "10.0.0.0/1a", "::1/64"}) {
    EXPECT_FALSE(Ipv4Range::Parse(bad).ok()) << bad;
  }
}

TEST(ParseQuirksTest, EveryQuirkByName) {
  absl::StatusOr<Quirks> q = ParseQuirks(
      "soap11,prefixes,echo-message-id,multi-xaddr,no-xaddrs,oversize,duplicate-epr,multicast-reply");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_TRUE(q->soap11 && q->prefixes && q->echo_message_id && q->multi_xaddr && q->no_xaddrs && q->oversize &&
              q->duplicate_epr && q->multicast_reply);
  q = ParseQuirks("multicast-reply");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->multicast_reply);
  EXPECT_FALSE(q->soap11 || q->prefixes || q->echo_message_id || q->multi_xaddr || q->no_xaddrs || q->oversize ||
               q->duplicate_epr);
  q = ParseQuirks("");
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->multicast_reply);
}

TEST(ParseQuirksTest, UnknownNamesTheKnownOnes) {
  const absl::StatusOr<Quirks> q = ParseQuirks("multicast-reply,multicast");
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(q.status().message());
  EXPECT_NE(message.find("'multicast'"), std::string::npos) << message;
  for (const char* known : {"soap11", "prefixes", "echo-message-id", "multi-xaddr", "no-xaddrs", "oversize",
                            "duplicate-epr", "multicast-reply"}) {
    EXPECT_NE(message.find(known), std::string::npos) << known << " in " << message;
  }
}

TEST(CountersJsonTest, OneObject) {
  SwarmCounters counters;
  counters.replies_sent = 1000;
  counters.duplicates = 1;
  counters.churn_byes = 4;
  counters.churn_hellos = 3;
  counters.churn_updates = 5;
  counters.away = 1;
  const std::string json = CountersJson(counters, 1000, {"c0", "c1"});
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_NE(json.find("\"cameras\":1000,\"interfaces\":[\"c0\",\"c1\"]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"replies_sent\":1000"), std::string::npos);
  EXPECT_NE(json.find("\"duplicates\":1"), std::string::npos);
  EXPECT_NE(json.find("\"churn_byes\":4,\"churn_hellos\":3,\"churn_updates\":5,\"away\":1"), std::string::npos)
      << json;
}

}  // namespace
}  // namespace onvif::swarm
