#include "engine/sweep/device_store.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace onvif::sweep {
namespace {

DeviceInfo Device(std::string endpoint, std::int64_t first_seen_ms, std::string iface) {
  DeviceInfo d;
  d.endpoint = std::move(endpoint);
  d.scopes = {"onvif://www.onvif.org/name/cam"};
  d.xaddrs = {"http://10.0.0.2/onvif/device_service"};
  d.metadata_version = 1;
  d.interfaces = {std::move(iface)};
  d.first_seen_ms = first_seen_ms;
  return d;
}

TEST(DeviceStoreTest, DescribeOnceThenUpdateKeepsFirstSeen) {
  std::vector<std::string> found;
  auto store = DeviceStore::Create(16, [&](const DeviceInfo& d) { found.push_back(d.endpoint); });
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->Describe(3, Device("urn:a", 10, "n0"), 1, [] { return "10.0.0.2"; }));
  DeviceInfo updated = Device("urn:a", 99, "n1");
  updated.metadata_version = 2;
  updated.xaddrs = {"http://10.0.0.9/"};
  EXPECT_FALSE((*store)->Describe(3, updated, 1, [] { return "10.0.0.2"; }));
  EXPECT_EQ(found, std::vector<std::string>{"urn:a"});
  const auto snapshot = (*store)->Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].first, 3u);
  EXPECT_EQ(snapshot[0].second.first_seen_ms, 10);
  EXPECT_EQ(snapshot[0].second.metadata_version, 2u);
  EXPECT_EQ(snapshot[0].second.xaddrs, std::vector<std::string>{"http://10.0.0.9/"});
  EXPECT_EQ(snapshot[0].second.interfaces, std::vector<std::string>{"n0"});
  EXPECT_EQ(snapshot[0].second.addresses, std::vector<std::string>{"10.0.0.2"});
}

// Snapshots are built from the compact records, as often as asked, with
// every field as described; lists shared between devices are interned.
TEST(DeviceStoreTest, SnapshotsRebuildEveryField) {
  std::vector<DeviceInfo> seen_by_callback;
  auto store = DeviceStore::Create(16, [&](const DeviceInfo& d) { seen_by_callback.push_back(d); },
                                   {"dn:NetworkVideoTransmitter", "tds:Device"});
  ASSERT_TRUE(store.ok());
  DeviceInfo b = Device("urn:b", 7, "n1");
  b.types = {"{http://www.onvif.org/ver10/network/wsdl}NetworkVideoTransmitter", "Local"};
  b.scopes = {"onvif://www.onvif.org/name/b", "onvif://www.onvif.org/location/x", "odd:scope"};
  b.xaddrs = {"http://10.0.0.3/onvif/device_service", "http://[fe80::3%25n1]/onvif/device_service"};
  b.best_xaddr = "http://10.0.0.3/onvif/device_service";
  (*store)->MarkAnswered(4, 1);
  ASSERT_TRUE((*store)->Describe(4, b, 1, [] { return "10.0.0.3"; }));
  DeviceInfo a = Device("urn:a", 9, "n0");
  a.types = b.types;
  a.xaddrs.clear();
  a.metadata_version.reset();
  ASSERT_TRUE((*store)->Describe(2, a, 2, [] { return "10.0.0.2"; }));
  for (int round = 0; round < 2; ++round) {
    const auto snapshot = (*store)->Snapshot();
    ASSERT_EQ(snapshot.size(), 2u);
    EXPECT_EQ(snapshot[0].first, 4u);  // discovery order
    const DeviceInfo& got = snapshot[0].second;
    EXPECT_EQ(got.endpoint, "urn:b");
    EXPECT_EQ(got.types, b.types);
    EXPECT_EQ(got.scopes, b.scopes);
    EXPECT_EQ(got.xaddrs, b.xaddrs);
    EXPECT_EQ(got.metadata_version, 1u);
    EXPECT_EQ(got.interfaces, std::vector<std::string>{"n1"});
    EXPECT_EQ(got.addresses, std::vector<std::string>{"10.0.0.3"});
    EXPECT_EQ(got.answered, std::vector<std::string>{"tds:Device"});
    EXPECT_EQ(got.first_seen_ms, 7);
    EXPECT_FALSE(got.best_xaddr.has_value()) << "ranked by the sweep at the end";
    EXPECT_EQ(snapshot[1].second.endpoint, "urn:a");
    EXPECT_EQ(snapshot[1].second.types, b.types);
    EXPECT_TRUE(snapshot[1].second.xaddrs.empty());
    EXPECT_FALSE(snapshot[1].second.metadata_version.has_value());
    EXPECT_TRUE(snapshot[1].second.answered.empty());
  }
  EXPECT_EQ((*store)->CountWithoutXAddrs(), 1u);
  // on_found saw the description as stored, with the ranking it was given.
  ASSERT_EQ(seen_by_callback.size(), 2u);
  EXPECT_EQ(seen_by_callback[0].scopes, b.scopes);
  EXPECT_EQ(seen_by_callback[0].best_xaddr, b.best_xaddr);
  EXPECT_EQ(seen_by_callback[0].answered, std::vector<std::string>{"tds:Device"});
  EXPECT_EQ(seen_by_callback[1].endpoint, "urn:a");
  EXPECT_FALSE(seen_by_callback[1].best_xaddr.has_value()) << "the scratch does not leak the last device's";
  EXPECT_TRUE(seen_by_callback[1].xaddrs.empty());
}

TEST(DeviceStoreTest, MergeAddressFastPathAndNewAddress) {
  auto store = DeviceStore::Create(16);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Describe(0, Device("urn:a", 1, "n0"), 11, [] { return "10.0.0.2"; }));
  int calls = 0;
  (*store)->MergeAddress(0, 11, [&] {
    ++calls;
    return std::string("never");
  });
  EXPECT_EQ(calls, 0);
  (*store)->MergeAddress(0, 12, [] { return "10.0.1.2"; });
  (*store)->MergeAddress(0, 12, [] { return "again"; });
  const auto snapshot = (*store)->Snapshot();
  EXPECT_EQ(snapshot[0].second.addresses, (std::vector<std::string>{"10.0.0.2", "10.0.1.2"}));
}

// A device heard from a second address (another family) adds the XAddrs it
// lists there; from a known address its XAddrs are not even decoded.
TEST(DeviceStoreTest, NewAddressMergesItsXAddrs) {
  auto store = DeviceStore::Create(16);
  ASSERT_TRUE(store.ok());
  DeviceInfo device = Device("urn:a", 1, "n0");
  device.xaddrs = {"http://10.77.0.2/onvif/device_service"};
  ASSERT_TRUE((*store)->Describe(0, device, 11, [] { return "10.77.0.2"; }));
  int decoded = 0;
  const auto v6_xaddrs = [&] {
    ++decoded;
    return std::vector<std::string>{"http://[fe80::2]/onvif/device_service", "http://10.77.0.2/onvif/device_service"};
  };
  (*store)->MergeAddress(0, 11, [] { return "10.77.0.2"; }, v6_xaddrs);
  EXPECT_EQ(decoded, 0) << "a known address";
  (*store)->MergeAddress(0, 12, [] { return "fe80::2%n0"; }, v6_xaddrs);
  (*store)->MergeAddress(0, 12, [] { return "fe80::2%n0"; }, v6_xaddrs);
  EXPECT_EQ(decoded, 1) << "only when the address is new";
  const auto snapshot = (*store)->Snapshot();
  EXPECT_EQ(snapshot[0].second.addresses, (std::vector<std::string>{"10.77.0.2", "fe80::2%n0"}));
  EXPECT_EQ(snapshot[0].second.xaddrs, (std::vector<std::string>{"http://10.77.0.2/onvif/device_service",
                                                                 "http://[fe80::2]/onvif/device_service"}));
}

TEST(DeviceStoreTest, SeenBeforeDescribedIsNotListedUntilDescribed) {
  auto store = DeviceStore::Create(16);
  ASSERT_TRUE(store.ok());
  (*store)->MergeAddress(5, 7, [] { return "10.0.0.7"; });
  EXPECT_TRUE((*store)->Snapshot().empty());
  EXPECT_TRUE((*store)->Describe(5, Device("urn:b", 4, "n0"), 7, [] { return "dup"; }));
  const auto snapshot = (*store)->Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].second.addresses, std::vector<std::string>{"10.0.0.7"});
}

TEST(DeviceStoreTest, BadSlotsAreIgnored) {
  EXPECT_FALSE(DeviceStore::Create(0).ok());
  auto store = DeviceStore::Create(4);
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE((*store)->Describe(4, Device("urn:x", 0, "n0"), 1, [] { return "x"; }));
  (*store)->MergeAddress(9, 1, [] { return "x"; });
  EXPECT_EQ((*store)->described(), 0u);
}

TEST(DeviceStoreTest, ConcurrentWorkers) {
  std::atomic<int> found{0};
  auto store = DeviceStore::Create(1024, [&](const DeviceInfo&) { ++found; });
  ASSERT_TRUE(store.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint32_t slot = 0; slot < 256; ++slot) {
        if (slot % 4 == static_cast<std::uint32_t>(t)) {
          (void)(*store)->Describe(slot, Device(absl::StrCat("urn:", slot), 0, "n0"), 100,
                                   [] { return "10.0.0.100"; });
        } else {
          (*store)->MergeAddress(slot, 1 + t, [t] { return absl::StrCat("10.0.0.", 1 + t); });
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(found.load(), 256);
  for (const auto& [slot, info] : (*store)->Snapshot()) {
    EXPECT_EQ(info.endpoint, absl::StrCat("urn:", slot));
    EXPECT_EQ(info.addresses.size(), 4u) << slot;
  }
}

}  // namespace
}  // namespace onvif::sweep
