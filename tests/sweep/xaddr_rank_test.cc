#include "engine/sweep/xaddr_rank.h"

#include "gtest/gtest.h"

namespace onvif::sweep {
namespace {

net::InterfaceAddress Addr(const char* ip, int prefix) {
  return net::InterfaceAddress{*net::IpAddress::Parse(ip), prefix};
}

const std::vector<std::string> kSource = {"192.0.2.9"};
const std::vector<ArrivalInterface> kN0 = {{"n0", {Addr("10.77.0.1", 24), Addr("fe80::1", 64)}}};

TEST(ParseUrlHostTest, Shapes) {
  auto h = ParseUrlHost("http://10.0.0.5:8080/onvif/device_service");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->host, "10.0.0.5");
  h = ParseUrlHost("https://user:pw@cam.example:443");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->host, "cam.example");
  h = ParseUrlHost("http://[fe80::1%25eth0]:80/x");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->host, "fe80::1");
  EXPECT_EQ(h->zone, "eth0");
  EXPECT_TRUE(h->bracketed);
  h = ParseUrlHost("http://[2001:db8::7]/x");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->host, "2001:db8::7");
  EXPECT_TRUE(h->zone.empty());
  for (const char* bad : {"", "10.0.0.5", "http://", "http://[fe80::1/x", "://x", "http:///path"}) {
    EXPECT_FALSE(ParseUrlHost(bad).has_value()) << bad;
  }
}

TEST(BestXAddrTest, ArrivalSubnetBeatsEverythingElse) {
  const std::vector<std::string> xaddrs = {"http://169.254.3.4/onvif/device_service",
                                           "https://cam-7.local/onvif/device_service",
                                           "http://192.0.2.9/onvif/device_service",
                                           "http://10.77.0.2:80/onvif/device_service"};
  EXPECT_EQ(BestXAddr(xaddrs, kN0, kSource), "http://10.77.0.2:80/onvif/device_service");
}

TEST(BestXAddrTest, SourceAddressThenRoutableThenLinkLocal) {
  EXPECT_EQ(BestXAddr({"http://cam.local/", "http://192.0.2.9/"}, kN0, kSource), "http://192.0.2.9/");
  EXPECT_EQ(BestXAddr({"http://169.254.3.4/", "http://cam.local/"}, kN0, {}), "http://cam.local/");
  EXPECT_EQ(BestXAddr({"http://127.0.0.1/", "http://169.254.3.4/"}, kN0, {}), "http://169.254.3.4/");
  EXPECT_EQ(BestXAddr({"not a url", "http://127.0.0.1/"}, kN0, {}), "http://127.0.0.1/");
  EXPECT_EQ(BestXAddr({"not a url"}, kN0, {}), "not a url");
  EXPECT_FALSE(BestXAddr({}, kN0, {}).has_value());
}

TEST(BestXAddrTest, TiesKeepTheDevicesOrder) {
  EXPECT_EQ(BestXAddr({"https://10.77.0.2/", "http://10.77.0.2/"}, kN0, {}), "https://10.77.0.2/");
}

TEST(BestXAddrTest, TiesPreferIpv4WhicheverFamilyAnsweredFirst) {
  const std::vector<ArrivalInterface> dual = {{"n0", {Addr("10.77.0.1", 24), Addr("fd77::1", 64)}}};
  EXPECT_EQ(BestXAddr({"http://[fd77::2]/x", "http://10.77.0.2/x"}, dual, {}), "http://10.77.0.2/x");
  EXPECT_EQ(BestXAddr({"http://10.77.0.2/x", "http://[fd77::2]/x"}, dual, {}), "http://10.77.0.2/x");
  // A better rank still wins over the family.
  EXPECT_EQ(BestXAddr({"http://192.0.2.9/x", "http://[fd77::2]/x"}, dual, {}), "http://[fd77::2]/x");
}

TEST(BestXAddrTest, LinkLocalIpv6GetsTheArrivalZone) {
  EXPECT_EQ(BestXAddr({"http://[fe80::2]/onvif/device_service"}, kN0, {}),
            "http://[fe80::2%25n0]/onvif/device_service");
  // A zone the device wrote names its own interface, meaningless here: ours replaces it.
  EXPECT_EQ(BestXAddr({"http://[fe80::2%25eth9]:80/x"}, kN0, {}), "http://[fe80::2%25n0]:80/x");
  EXPECT_EQ(BestXAddr({"http://[fe80::2%eth9]/x"}, kN0, {}), "http://[fe80::2%25n0]/x");
  // A global IPv6 address in the arrival prefix wins over the link-local one.
  const std::vector<ArrivalInterface> v6 = {{"n0", {Addr("2001:db8:1::1", 64)}}};
  EXPECT_EQ(BestXAddr({"http://[fe80::2]/", "http://[2001:db8:1::9]/"}, v6, {}), "http://[2001:db8:1::9]/");
}

TEST(BestXAddrTest, LinkLocalIpv6OnlyWhenNothingBetterExists) {
  const std::vector<ArrivalInterface> n1 = {{"n1", {Addr("fd77:1::1", 64), Addr("fe80::1", 64)}}};
  // Link-local even from the link-local source itself loses to routable.
  EXPECT_EQ(BestXAddr({"http://[fe80::2]/x", "http://cam.example/x"}, n1, std::vector<std::string>{"fe80::2%n1"}),
            "http://cam.example/x");
  EXPECT_EQ(BestXAddr({"http://[fe80::2]/x", "http://169.254.3.4/x"}, n1, {}), "http://[fe80::2%25n1]/x");
  EXPECT_EQ(BestXAddr({"http://[::1]/x", "http://[fe80::2]:8080/x"}, n1, {}), "http://[fe80::2%25n1]:8080/x");
  // Without an arrival interface there is no zone to give.
  EXPECT_EQ(BestXAddr({"http://[fe80::2]/x"}, {}, {}), "http://[fe80::2]/x");
}

TEST(BestXAddrTest, Ipv6ArrivalPrefixThenSourceThenRoutable) {
  const std::vector<ArrivalInterface> n1 = {{"n1", {Addr("10.77.1.1", 24), Addr("fd77:1::1", 64)}}};
  // In n1's IPv6 prefix beats a source address and a global address.
  EXPECT_EQ(BestXAddr({"http://[2001:db8::9]/x", "http://192.0.2.9/x", "http://[fd77:1::2]/x"}, n1, kSource),
            "http://[fd77:1::2]/x");
  // Outside every prefix: the source address (compared as an address, zone
  // and spelling aside) beats a routable one.
  const std::vector<std::string> sources = {"fe80::2%n1", "2001:db8:0:0::9"};
  EXPECT_EQ(BestXAddr({"http://[2001:db8:7::1]/x", "http://[2001:db8::9]:80/x"}, n1, sources),
            "http://[2001:db8::9]:80/x");
  // A /64 boundary: fd77:1:0:1:: is not in fd77:1::/64.
  EXPECT_EQ(BestXAddr({"http://[fd77:1:0:1::2]/x", "http://[fd77:1::7]/x"}, n1, {}), "http://[fd77:1::7]/x");
}

TEST(BestXAddrTest, ZoneNamesAreEncodedForTheUrl) {
  const std::vector<ArrivalInterface> odd = {{"br-lan@x", {}}};
  EXPECT_EQ(BestXAddr({"http://[fe80::2]/x"}, odd, {}), "http://[fe80::2%25br-lan%40x]/x");
}

TEST(BestXAddrTest, SubnetBoundaries) {
  const std::vector<ArrivalInterface> odd = {{"n1", {Addr("10.1.2.129", 25)}}};
  EXPECT_EQ(BestXAddr({"http://10.1.2.5/", "http://10.1.2.200/"}, odd, {}), "http://10.1.2.200/");
  EXPECT_EQ(BestXAddr({"http://10.1.2.5/", "http://10.1.2.127/"}, odd, std::vector<std::string>{"10.1.2.127"}), "http://10.1.2.127/");
}

}  // namespace
}  // namespace onvif::sweep
