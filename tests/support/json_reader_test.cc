#include "tests/support/json_reader.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace onvif::testing {
namespace {

TEST(JsonReaderTest, ReadsWhatTheTestsNeed) {
  absl::StatusOr<Json> doc = ReadJson(R"( {"a":[1,"x\"\\\/\u00e9\ud83d\ude00",true,null,-2.5e3],"b":{},"c":[]} )");
  ASSERT_TRUE(doc.ok()) << doc.status();
  ASSERT_NE(doc->Find("a"), nullptr);
  const Json::Array& a = doc->Find("a")->array();
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a[0].Int(), 1);
  EXPECT_EQ(a[1].str(), "x\"\\/\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(a[4].Int(), -1);  // not a non-negative integer
  EXPECT_TRUE(doc->Find("b")->is_object());
  EXPECT_TRUE(doc->Find("c")->array().empty());
  EXPECT_EQ(doc->Find("d"), nullptr);
}

TEST(JsonReaderTest, ReadsPeerOutput) {
  absl::StatusOr<Json> doc =
      ReadJson(R"( [{"urn":"urn:uuid:1","xaddrs":["http:\/\/a b"],"n":12,"s":"\u00e9\n","x":null}] )");
  ASSERT_TRUE(doc.ok()) << doc.status();
  ASSERT_EQ(doc->array().size(), 1u);
  const Json& d = doc->array()[0];
  EXPECT_EQ(d.Find("urn")->str(), "urn:uuid:1");
  EXPECT_EQ(d.Find("xaddrs")->Strings(), std::vector<std::string>{"http://a b"});
  EXPECT_EQ(d.IntAt("n"), 12);
  EXPECT_EQ(d.IntAt("s"), -1);
  EXPECT_EQ(d.IntAt("missing"), -1);
  EXPECT_EQ(d.Find("s")->str(), "\xC3\xA9\n");
}

TEST(JsonReaderTest, RejectsWithOffset) {
  for (const char* bad : {"", "{", "[", "[1,]", "{\"a\" 1}", "\"\\x\"", "01x", "[1] 2", "\"\\ud800\"", "{1:2}", "-"}) {
    EXPECT_FALSE(ReadJson(bad).ok()) << bad;
  }
  absl::StatusOr<Json> trailing = ReadJson("[1] 2");
  EXPECT_NE(trailing.status().message().find("at byte 4"), std::string::npos) << trailing.status();
}

}  // namespace
}  // namespace onvif::testing
