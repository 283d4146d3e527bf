#include "engine/sweep/probe_types.h"

#include "engine/wsd/constants.h"
#include "gtest/gtest.h"

namespace onvif::sweep {
namespace {

using wsd::QNameSpec;

TEST(ParseTypesTest, PrefixesClarkAndAny) {
  auto types = ParseTypes("dn:NetworkVideoTransmitter, tds:Device wsdp:Device,{urn:x}Cam");
  ASSERT_TRUE(types.ok()) << types.status();
  EXPECT_EQ(*types, (std::vector<QNameSpec>{
                        {std::string(wsd::kNsOnvifNetwork), "NetworkVideoTransmitter"},
                        {std::string(wsd::kNsOnvifDevice), "Device"},
                        {std::string(wsd::kNsDevProf), "Device"},
                        {"urn:x", "Cam"}}));
  auto any = ParseTypes("any");
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE(any->empty());
}

TEST(ParseTypesTest, Errors) {
  for (const char* bad : {"", "  ", "foo:Bar", "NetworkVideoTransmitter", "dn:", "{}X", "{urn:x}",
                          "{urn:x", "any,dn:Device", "dn:a:b"}) {
    EXPECT_FALSE(ParseTypes(bad).ok()) << bad;
  }
  EXPECT_NE(ParseTypes("foo:Bar").status().message().find("foo:Bar"), std::string_view::npos);
}

TEST(ClarkNameTest, Formats) {
  EXPECT_EQ(ClarkName("urn:x", "Y"), "{urn:x}Y");
  EXPECT_EQ(ClarkName("", "Y"), "Y");
}

}  // namespace
}  // namespace onvif::sweep
