// Interface selection: the pure filter on synthetic lists (no root), then
// ReadInterfaces inside namespaces (root; skipped otherwise).

#include "engine/net/interfaces.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/lab/lab.h"

namespace onvif::net {
namespace {

constexpr unsigned kUsable = unsigned{IFF_UP} | unsigned{IFF_LOWER_UP} | unsigned{IFF_RUNNING} |
                              unsigned{IFF_MULTICAST} | unsigned{IFF_BROADCAST};

InterfaceAddress V4(const char* text, int prefix) {
  return {*IpAddress::Parse(text), prefix};
}

Interface Make(std::string name, unsigned ifindex, unsigned flags, const char* v4 = nullptr) {
  Interface iface;
  iface.name = std::move(name);
  iface.ifindex = ifindex;
  iface.flags = flags;
  if (v4 != nullptr) iface.ipv4.push_back(V4(v4, 24));
  return iface;
}

std::vector<Interface> Host() {
  return {
      Make("lo", 1, (kUsable & ~unsigned{IFF_MULTICAST}) | unsigned{IFF_LOOPBACK}, "127.0.0.1"),
      Make("eth0", 2, kUsable, "192.168.1.10"),
      Make("nic1", 3, kUsable, "10.77.1.1"),
      Make("down0", 4, kUsable & ~IFF_UP, "10.1.0.1"),
      Make("nocarrier", 5, kUsable & ~(unsigned{IFF_LOWER_UP} | unsigned{IFF_RUNNING}), "10.2.0.1"),
      Make("nomcast", 6, kUsable & ~IFF_MULTICAST, "10.3.0.1"),
      Make("wg0", 7, kUsable | IFF_POINTOPOINT, "10.4.0.1"),
      Make("noaddr", 8, kUsable),
  };
}

// Designated initializers would trip g++ 12's -Wmissing-field-initializers.
InterfaceFilter Filter(std::vector<std::string> include, std::vector<std::string> exclude = {},
                       std::vector<Family> families = {Family::kIPv4}) {
  InterfaceFilter filter;
  filter.include = std::move(include);
  filter.exclude = std::move(exclude);
  filter.families = std::move(families);
  return filter;
}

lab::LabOptions TwoNics() {
  lab::LabOptions options;
  options.nics = 2;
  return options;
}

std::vector<std::string> Names(const std::vector<Interface>& list) {
  std::vector<std::string> out;
  for (const auto& i : list) out.push_back(i.name);
  return out;
}

TEST(SelectInterfacesTest, DefaultTakesEveryEligibleNonLoopback) {
  auto got = SelectInterfaces(Host(), {});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Names(*got), (std::vector<std::string>{"eth0", "nic1"}));
}

TEST(SelectInterfacesTest, ExcludeRemovesByName) {
  auto got = SelectInterfaces(Host(), Filter({}, {"eth0", "not-there"}));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Names(*got), (std::vector<std::string>{"nic1"}));
}

TEST(SelectInterfacesTest, IncludeKeepsItsOrderAndDropsDuplicates) {
  auto got = SelectInterfaces(Host(), Filter({"nic1", "eth0", "nic1"}));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Names(*got), (std::vector<std::string>{"nic1", "eth0"}));
}

TEST(SelectInterfacesTest, LoopbackOnlyWhenNamed) {
  auto all = SelectInterfaces(Host(), {});
  ASSERT_TRUE(all.ok());
  for (const auto& i : *all) EXPECT_NE(i.name, "lo");
  auto named = SelectInterfaces(Host(), Filter({"lo"}));
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(Names(*named), (std::vector<std::string>{"lo"}));
}

TEST(SelectInterfacesTest, NamedButMissingIsNotFound) {
  auto got = SelectInterfaces(Host(), Filter({"eth0", "cam9"}));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(got.status().message(), "no such interface: cam9");
}

TEST(SelectInterfacesTest, NamedButIneligibleSaysWhy) {
  struct Case {
    const char* name;
    const char* why;
  };
  for (const Case& c : {Case{"down0", "down0: down (not IFF_UP)"},
                        Case{"nocarrier", "nocarrier: no carrier (not lower-up)"},
                        Case{"nomcast", "nomcast: not multicast-capable"},
                        Case{"wg0", "wg0: point-to-point"},
                        Case{"noaddr", "noaddr: no IPv4 address"}}) {
    auto got = SelectInterfaces(Host(), Filter({c.name}));
    ASSERT_FALSE(got.ok()) << c.name;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(got.status().message(), std::string("interface not usable: ") + c.why);
  }
}

TEST(SelectInterfacesTest, EveryBadNameIsReportedAtOnce) {
  auto got = SelectInterfaces(Host(), Filter({"down0", "eth0", "wg0"}));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(),
            "interface not usable: down0: down (not IFF_UP); wg0: point-to-point");
}

TEST(SelectInterfacesTest, IncludedAndExcludedIsInvalid) {
  auto got = SelectInterfaces(Host(), Filter({"eth0"}, {"eth0"}));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(got.status().message(), "eth0 is both included"));
}

TEST(SelectInterfacesTest, NothingLeftListsWhyEachWasSkipped) {
  auto got = SelectInterfaces(Host(), Filter({}, {"eth0", "nic1"}));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string message(got.status().message());
  EXPECT_TRUE(absl::StartsWith(message, "no usable interface")) << message;
  for (const char* part : {"lo: loopback", "eth0: excluded", "down0: down", "wg0: point-to-point",
                           "noaddr: no IPv4 address"}) {
    EXPECT_TRUE(absl::StrContains(message, part)) << part << " in " << message;
  }
}

TEST(SelectInterfacesTest, FamilyIsAParameter) {
  std::vector<Interface> list = {Make("v4only", 2, kUsable, "10.0.0.1"),
                                 Make("v6only", 3, kUsable)};
  list[1].ipv6.push_back({*IpAddress::Parse("fe80::1"), 64});
  auto v6 = SelectInterfaces(list, Filter({}, {}, {Family::kIPv6}));
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(Names(*v6), (std::vector<std::string>{"v6only"}));
  auto both = SelectInterfaces(list, Filter({}, {}, {Family::kIPv4, Family::kIPv6}));
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(Names(*both), (std::vector<std::string>{"v4only", "v6only"}));
  auto named = SelectInterfaces(list, Filter({"v4only"}, {}, {Family::kIPv6}));
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.status().message(), "interface not usable: v4only: no IPv6 address");
}

TEST(SelectInterfacesTest, Ipv6NeedsAMulticastLink) {
  // lo has ::1 but no IFF_MULTICAST, and FF02::C does not work on it (LAB.md).
  Interface lo = Host()[0];
  lo.ipv6.push_back({*IpAddress::Parse("::1"), 128});
  EXPECT_EQ(lo.MulticastFamilies({Family::kIPv4, Family::kIPv6}), std::vector<Family>{Family::kIPv4});
  auto v6 = SelectInterfaces({lo}, Filter({"lo"}, {}, {Family::kIPv6}));
  ASSERT_FALSE(v6.ok());
  EXPECT_EQ(v6.status().message(), "interface not usable: lo: no IPv6 multicast (FF02::C needs IFF_MULTICAST)");
  auto both = SelectInterfaces({lo}, Filter({"lo"}, {}, {Family::kIPv4, Family::kIPv6}));
  ASSERT_TRUE(both.ok()) << both.status();  // IPv4 multicast works on lo
  lo.ipv4.clear();
  auto v6_only_lo = SelectInterfaces({lo}, Filter({"lo"}, {}, {Family::kIPv4, Family::kIPv6}));
  ASSERT_FALSE(v6_only_lo.ok());
  EXPECT_EQ(v6_only_lo.status().message(),
            "interface not usable: lo: no IPv4 address; no IPv6 multicast (FF02::C needs IFF_MULTICAST)");
}

TEST(InterfaceTest, MulticastFamiliesKeepsTheRequestedOrder) {
  Interface nic = Make("nic0", 2, kUsable, "10.0.0.1");
  EXPECT_EQ(nic.MulticastFamilies({Family::kIPv4, Family::kIPv6}), std::vector<Family>{Family::kIPv4});
  nic.ipv6.push_back({*IpAddress::Parse("fe80::1"), 64});
  EXPECT_EQ(nic.MulticastFamilies({Family::kIPv6, Family::kIPv4}),
            (std::vector<Family>{Family::kIPv6, Family::kIPv4}));
  EXPECT_EQ(nic.MulticastFamilies({Family::kIPv6}), std::vector<Family>{Family::kIPv6});
  EXPECT_TRUE(nic.MulticastFamilies({}).empty());
}

TEST(ParseFamiliesTest, V4V6Both) {
  EXPECT_EQ(*ParseFamilies("v4"), std::vector<Family>{Family::kIPv4});
  EXPECT_EQ(*ParseFamilies("v6"), std::vector<Family>{Family::kIPv6});
  EXPECT_EQ(*ParseFamilies("both"), (std::vector<Family>{Family::kIPv4, Family::kIPv6}));
  for (const char* bad : {"", "ipv6", "V4", "4", "v4,v6"}) {
    auto parsed = ParseFamilies(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), "expected v4, v6 or both")) << parsed.status();
  }
}

TEST(InterfaceTest, PrimaryAddressPrefersIpv6LinkLocal) {
  Interface iface = Make("nic0", 2, kUsable, "10.0.0.1");
  iface.ipv4.push_back(V4("10.0.0.2", 24));
  iface.ipv6.push_back({*IpAddress::Parse("2001:db8::1"), 64});
  iface.ipv6.push_back({*IpAddress::Parse("fe80::1"), 64});
  EXPECT_EQ(iface.PrimaryAddress(Family::kIPv4)->address.ToString(), "10.0.0.1");
  EXPECT_EQ(iface.PrimaryAddress(Family::kIPv6)->address.ToString(), "fe80::1");
  EXPECT_FALSE(Make("x", 3, kUsable).PrimaryAddress(Family::kIPv4).has_value());
}

// --- Real interfaces, inside namespaces only (root) ---

TEST(ReadInterfacesTest, PrivateNamespaceHasOnlyLoopback) {
  LAB_SKIP_UNLESS_ROOT("unshare(CLONE_NEWNET)");
  absl::StatusOr<std::vector<Interface>> all;
  absl::StatusOr<std::vector<Interface>> selected;
  absl::StatusOr<std::vector<Interface>> named;
  ASSERT_TRUE(lab::RunInPrivateNetns([&] {
                all = ReadInterfaces();
                selected = ListInterfaces({});
                named = ListInterfaces(Filter({"lo"}));
              }).ok());
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(Names(*all), (std::vector<std::string>{"lo"}));
  EXPECT_TRUE((*all)[0].IsLoopback());
  EXPECT_EQ((*all)[0].ifindex, 1u);
  ASSERT_EQ((*all)[0].ipv4.size(), 1u);
  EXPECT_EQ((*all)[0].ipv4[0].address.ToString(), "127.0.0.1");
  EXPECT_EQ((*all)[0].ipv4[0].prefix_length, 8);
  EXPECT_FALSE(selected.ok());  // lo is never picked unnamed
  EXPECT_TRUE(absl::StrContains(selected.status().message(), "lo: loopback"));
  ASSERT_TRUE(named.ok()) << named.status();
}

TEST(ReadInterfacesTest, LabHostSeesItsVethNics) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  auto lab = lab::Lab::Up(TwoNics());
  ASSERT_TRUE(lab.ok()) << lab.status();
  absl::StatusOr<std::vector<Interface>> got;
  unsigned n1_index = 0;
  ASSERT_TRUE(lab::RunInNetns(lab->HostNamespace(), [&] {
                got = ListInterfaces(Filter({}, {}, {Family::kIPv4, Family::kIPv6}));
                n1_index = if_nametoindex("n1");
              }).ok());
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(Names(*got), (std::vector<std::string>{"n0", "n1"}));
  const Interface& n1 = (*got)[1];
  EXPECT_EQ(n1.ifindex, n1_index);
  EXPECT_TRUE(n1.flags & IFF_LOWER_UP);
  ASSERT_EQ(n1.ipv4.size(), 1u);
  EXPECT_EQ(n1.ipv4[0].address.ToString(), "10.77.1.1");
  EXPECT_EQ(n1.ipv4[0].prefix_length, 24);
  // accept_dad=0 (LAB.md): the link-local address is there at once.
  auto v6 = n1.PrimaryAddress(Family::kIPv6);
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(v6->address.IsLinkLocal());
  EXPECT_EQ(v6->address.scope_id(), n1.ifindex);
  EXPECT_EQ(v6->prefix_length, 64);
}

// Zones as names: what this host calls the interface of a scope id.
TEST(ReadInterfacesTest, ZoneNamesAreThisNamespacesInterfaceNames) {
  LAB_SKIP_UNLESS_ROOT("creates network namespaces (lab.sh)");
  auto lab = lab::Lab::Up(TwoNics());
  ASSERT_TRUE(lab.ok()) << lab.status();
  std::string zone, unknown, none, shown, global;
  unsigned n1_index = 0;
  ASSERT_TRUE(lab::RunInNetns(lab->HostNamespace(), [&] {
                n1_index = if_nametoindex("n1");
                zone = ZoneName(n1_index);
                unknown = ZoneName(999999);
                none = ZoneName(0);
                in6_addr peer{};
                inet_pton(AF_INET6, "fe80::2", &peer);
                shown = DisplayString(SocketAddress(IpAddress::V6(peer, n1_index), 3702));
                global = DisplayString(*IpAddress::Parse("fd77:1::2"));
              }).ok());
  EXPECT_EQ(zone, "n1");
  EXPECT_EQ(unknown, "999999");
  EXPECT_EQ(none, "");
  EXPECT_EQ(shown, "[fe80::2%n1]:3702");
  EXPECT_EQ(global, "fd77:1::2");
}

TEST(DisplayStringTest, SourceHeardOnAKnownInterfaceNamesItsZone) {
  const IpAddress link_local = IpAddress::V6(IpAddress::Parse("fe80::2")->v6(), 7);
  EXPECT_EQ(DisplayString(link_local, 7, "n0"), "fe80::2%n0");
  EXPECT_EQ(DisplayString(*IpAddress::Parse("10.0.0.2"), 7, "n0"), "10.0.0.2");
  EXPECT_EQ(DisplayString(*IpAddress::Parse("fd77::2"), 7, "n0"), "fd77::2");
  // Another interface's zone is looked up as DisplayString does.
  EXPECT_EQ(DisplayString(link_local, 8, "n1"), DisplayString(link_local));
}

}  // namespace
}  // namespace onvif::net
