#include "engine/wsd/type_names.h"

#include "engine/wsd/constants.h"
#include "gtest/gtest.h"

namespace onvif::wsd {
namespace {


TEST(ParseTypeNamesTest, PrefixesClarkAndAny) {
  auto types = ParseTypeNames("dn:NetworkVideoTransmitter, tds:Device wsdp:Device,{urn:x}Cam");
  ASSERT_TRUE(types.ok()) << types.status();
  EXPECT_EQ(*types, (std::vector<QNameSpec>{
                        {std::string(kNsOnvifNetwork), "NetworkVideoTransmitter"},
                        {std::string(kNsOnvifDevice), "Device"},
                        {std::string(kNsDevProf), "Device"},
                        {"urn:x", "Cam"}}));
  auto any = ParseTypeNames("any");
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE(any->empty());
}

TEST(ParseTypeNamesTest, Errors) {
  for (const char* bad : {"", "  ", "foo:Bar", "NetworkVideoTransmitter", "dn:", "{}X", "{urn:x}",
                          "{urn:x", "any,dn:Device", "dn:a:b"}) {
    EXPECT_FALSE(ParseTypeNames(bad).ok()) << bad;
  }
  EXPECT_NE(ParseTypeNames("foo:Bar").status().message().find("foo:Bar"), std::string_view::npos);
}

TEST(ClarkNameTest, Formats) {
  EXPECT_EQ(ClarkName("urn:x", "Y"), "{urn:x}Y");
  EXPECT_EQ(ClarkName("", "Y"), "Y");
}

}  // namespace
}  // namespace onvif::wsd
