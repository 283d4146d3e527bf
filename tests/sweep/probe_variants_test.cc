#include "engine/sweep/probe_variants.h"

#include "engine/wsd/constants.h"
#include "gtest/gtest.h"

namespace onvif::sweep {
namespace {

TEST(ProbeVariantsTest, DefaultIsNvtThenDevice) {
  const std::vector<ProbeVariant> variants = DefaultProbeVariants();
  ASSERT_EQ(variants.size(), 2u);
  EXPECT_EQ(variants[0].name, "dn:NetworkVideoTransmitter");
  EXPECT_EQ(variants[0].types,
            (std::vector<wsd::QNameSpec>{{std::string(wsd::kNsOnvifNetwork), "NetworkVideoTransmitter"}}));
  EXPECT_EQ(variants[1].name, "tds:Device");
  EXPECT_EQ(variants[1].types, (std::vector<wsd::QNameSpec>{{std::string(wsd::kNsOnvifDevice), "Device"}}));
}

TEST(ProbeVariantsTest, ParseKeepsItemsAsWritten) {
  absl::StatusOr<ProbeVariant> both = ParseProbeVariant("dn:NetworkVideoTransmitter, tds:Device");
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->name, "dn:NetworkVideoTransmitter,tds:Device");
  EXPECT_EQ(both->types.size(), 2u);
  absl::StatusOr<ProbeVariant> any = ParseProbeVariant("any");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->name, "any");
  EXPECT_TRUE(any->types.empty());
  absl::StatusOr<ProbeVariant> bad = ParseProbeVariant("xx:Camera");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("xx:Camera"), std::string_view::npos) << bad.status();
}

}  // namespace
}  // namespace onvif::sweep
