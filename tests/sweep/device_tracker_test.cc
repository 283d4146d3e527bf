#include "engine/sweep/device_tracker.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace onvif::sweep {
namespace {

constexpr std::string_view kCam = "urn:uuid:00000000-0000-0000-0000-000000000001";

DeviceInfo Described(std::optional<std::uint64_t> metadata_version, std::vector<std::string> xaddrs = {"http://10.0.0.2/onvif/device_service"}) {
  DeviceInfo device;
  device.types = {"{http://www.onvif.org/ver10/network/wsdl}NetworkVideoTransmitter"};
  device.scopes = {"onvif://www.onvif.org/name/cam"};
  device.xaddrs = std::move(xaddrs);
  device.metadata_version = metadata_version;
  return device;
}

Observation Message(Via via, std::uint64_t instance, std::uint64_t number,
                    std::optional<std::uint64_t> metadata_version = 1, std::string_view sequence = "") {
  Observation o;
  o.via = via;
  o.endpoint = kCam;
  o.app_sequence = SequencePosition{instance, sequence, number};
  o.metadata_version = metadata_version;
  o.interface_name = "n0";
  return o;
}

class DeviceTrackerTest : public ::testing::Test {
 protected:
  // Observes and returns the change; counts describe() calls.
  Change See(Observation o, std::int64_t now_ms = 0, std::vector<std::string> xaddrs = {"http://10.0.0.2/"},
             const std::string& peer = "10.0.0.2") {
    o.peer_fingerprint = Fingerprint(peer);
    const DeviceTracker::Event event = tracker.Observe(
        o, now_ms,
        [&] {
          ++describes;
          return Described(o.metadata_version, xaddrs);
        },
        [&] {
          ++peer_texts;
          return peer;
        });
    if (event.change != Change::kNone) {
      EXPECT_EQ(event.via, o.via);
      EXPECT_NE(event.device, nullptr);
      last = *event.device;
    }
    return event.change;
  }

  static std::uint64_t Fingerprint(const std::string& peer) { return std::hash<std::string>{}(peer) | 1; }

  DeviceTracker tracker{100, nullptr};
  int describes = 0;
  int peer_texts = 0;
  DeviceInfo last;
};

TEST_F(DeviceTrackerTest, HelloFindsThenRepeatsAreNotNews) {
  EXPECT_EQ(See(Message(Via::kHello, 5, 1)), Change::kFound);
  EXPECT_EQ(last.endpoint, kCam);
  EXPECT_EQ(last.interfaces, std::vector<std::string>{"n0"});
  EXPECT_EQ(last.addresses, std::vector<std::string>{"10.0.0.2"});
  EXPECT_EQ(See(Message(Via::kProbe, 5, 2)), Change::kNone);
  EXPECT_EQ(See(Message(Via::kHello, 5, 3)), Change::kNone);
  EXPECT_EQ(describes, 1) << "a repeat must not build a description";
  EXPECT_EQ(peer_texts, 1) << "nor the text of a known source address";
  EXPECT_EQ(tracker.present(), 1u);
  EXPECT_EQ(tracker.counters().found, 1u);
}

TEST_F(DeviceTrackerTest, ByeIsGoneAndHelloAfterItIsFoundAgain) {
  ASSERT_EQ(See(Message(Via::kHello, 5, 1)), Change::kFound);
  EXPECT_EQ(See(Message(Via::kBye, 5, 2)), Change::kGone);
  EXPECT_EQ(tracker.present(), 0u);
  EXPECT_EQ(See(Message(Via::kBye, 5, 3)), Change::kNone) << "already gone";
  EXPECT_EQ(See(Message(Via::kHello, 6, 1)), Change::kFound);
  EXPECT_EQ(tracker.present(), 1u);
  EXPECT_EQ(tracker.counters().gone, 1u);
  EXPECT_EQ(tracker.counters().found, 2u);
}

TEST_F(DeviceTrackerTest, RestartIsAnUpdate) {
  ASSERT_EQ(See(Message(Via::kHello, 5, 7)), Change::kFound);
  EXPECT_EQ(See(Message(Via::kHello, 6, 1)), Change::kUpdated) << "higher InstanceId: the device restarted";
  EXPECT_EQ(tracker.counters().updated, 1u);
  // The new instance's numbering is what counts from now on.
  EXPECT_EQ(See(Message(Via::kHello, 6, 2)), Change::kNone);
  EXPECT_EQ(tracker.counters().stale, 0u);
}

TEST_F(DeviceTrackerTest, StaleAndDuplicateAnnouncementsAreCountedNotReported) {
  ASSERT_EQ(See(Message(Via::kHello, 6, 4)), Change::kFound);
  EXPECT_EQ(See(Message(Via::kHello, 6, 4)), Change::kNone);  // the same message again
  EXPECT_EQ(See(Message(Via::kHello, 6, 3)), Change::kNone);  // older, same instance
  EXPECT_EQ(See(Message(Via::kHello, 5, 9, 7)), Change::kNone);  // from before a restart, even with news
  EXPECT_EQ(See(Message(Via::kBye, 5, 10)), Change::kNone);   // a replayed Bye does not remove it
  EXPECT_EQ(See(Message(Via::kBye, 6, 2)), Change::kNone);
  EXPECT_EQ(tracker.present(), 1u);
  EXPECT_EQ(tracker.counters().duplicates, 1u);
  EXPECT_EQ(tracker.counters().stale, 4u);
  EXPECT_EQ(tracker.counters().gone, 0u);
}

TEST_F(DeviceTrackerTest, StaleMessagesDoNotKeepADeviceAlive) {
  ASSERT_EQ(See(Message(Via::kHello, 6, 4), /*now_ms=*/0), Change::kFound);
  ASSERT_EQ(See(Message(Via::kHello, 5, 9), /*now_ms=*/900), Change::kNone);
  const std::vector<DeviceTracker::Event> gone = tracker.Expire(/*now_ms=*/1000, /*expire_after_ms=*/1000);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].change, Change::kGone);
  EXPECT_EQ(gone[0].via, Via::kExpired);
  EXPECT_EQ(gone[0].device->endpoint, kCam);
}

TEST_F(DeviceTrackerTest, ExpireKeepsDevicesHeardRecently) {
  ASSERT_EQ(See(Message(Via::kHello, 6, 1), 0), Change::kFound);
  ASSERT_EQ(See(Message(Via::kProbe, 6, 2), 800), Change::kNone);
  EXPECT_TRUE(tracker.Expire(1500, 1000).empty());
  EXPECT_EQ(tracker.Expire(1800, 1000).size(), 1u);
  EXPECT_TRUE(tracker.Expire(5000, 1000).empty()) << "gone once";
  // Answering a Probe brings it back.
  EXPECT_EQ(See(Message(Via::kProbe, 6, 3), 5000), Change::kFound);
}

TEST_F(DeviceTrackerTest, MetadataVersionUpRefreshesTheRecord) {
  ASSERT_EQ(See(Message(Via::kHello, 6, 1, 3)), Change::kFound);
  EXPECT_EQ(See(Message(Via::kHello, 6, 2, 3)), Change::kNone);
  EXPECT_EQ(See(Message(Via::kHello, 6, 3, 2)), Change::kNone) << "a lower version is no news";
  EXPECT_EQ(See(Message(Via::kProbe, 6, 4, 4), 0, {"http://10.0.0.9/"}), Change::kUpdated);
  EXPECT_EQ(last.metadata_version, 4u);
  EXPECT_EQ(last.xaddrs, std::vector<std::string>{"http://10.0.0.9/"});
}

TEST_F(DeviceTrackerTest, AnUpdateWithoutXAddrsKeepsTheKnownOnes) {
  ASSERT_EQ(See(Message(Via::kHello, 6, 1, 1), 0, {"http://10.0.0.2/"}), Change::kFound);
  ASSERT_EQ(See(Message(Via::kHello, 6, 2, 2), 0, {}), Change::kUpdated);
  EXPECT_EQ(last.xaddrs, std::vector<std::string>{"http://10.0.0.2/"});
}

TEST_F(DeviceTrackerTest, RepliesRepeatingAMessageNumberAreNotDuplicates) {
  // Cameras pre-render their ProbeMatches: two answers can carry one number.
  ASSERT_EQ(See(Message(Via::kProbe, 6, 2), 0), Change::kFound);
  EXPECT_EQ(See(Message(Via::kProbe, 6, 2), 500), Change::kNone);
  EXPECT_EQ(tracker.counters().duplicates, 0u);
  EXPECT_TRUE(tracker.Expire(1200, 1000).empty()) << "the repeat answer refreshed last-heard";
  // ...but a reply from before a restart is stale, and the reply's number
  // still orders later announcements.
  EXPECT_EQ(See(Message(Via::kProbe, 5, 9)), Change::kNone);
  EXPECT_EQ(tracker.counters().stale, 1u);
  EXPECT_EQ(See(Message(Via::kHello, 6, 1)), Change::kNone);
  EXPECT_EQ(tracker.counters().stale, 2u);
}

TEST_F(DeviceTrackerTest, AnotherSequenceOfTheSameInstanceIsAccepted) {
  ASSERT_EQ(See(Message(Via::kHello, 6, 9, 1, "urn:uuid:seq-a")), Change::kFound);
  EXPECT_EQ(See(Message(Via::kBye, 6, 1, 1, "urn:uuid:seq-b")), Change::kGone);
  EXPECT_EQ(tracker.counters().stale, 0u);
}

TEST_F(DeviceTrackerTest, MessagesWithoutAppSequenceAreTakenAsTheyCome) {
  Observation hello = Message(Via::kHello, 0, 0);
  hello.app_sequence.reset();
  ASSERT_EQ(See(hello), Change::kFound);
  EXPECT_EQ(See(hello), Change::kNone);
  Observation bye = hello;
  bye.via = Via::kBye;
  EXPECT_EQ(See(bye), Change::kGone);
}

TEST_F(DeviceTrackerTest, UnknownByeIsCountedNotRecorded) {
  EXPECT_EQ(See(Message(Via::kBye, 6, 3)), Change::kNone);
  EXPECT_EQ(tracker.counters().unknown_byes, 1u);
  EXPECT_EQ(tracker.tracked(), 0u);
}

TEST_F(DeviceTrackerTest, InterfacesAddressesAndVariantsMerge) {
  Observation a = Message(Via::kProbe, 6, 1);
  a.answered = "dn:NetworkVideoTransmitter";
  ASSERT_EQ(See(a), Change::kFound);
  Observation b = Message(Via::kProbe, 6, 2);
  b.interface_name = "n1";
  b.answered = "tds:Device";
  EXPECT_EQ(See(b, 0, {"http://10.0.0.2/"}, "10.1.0.2"), Change::kNone);
  const std::vector<const DeviceInfo*> present = tracker.PresentDevices();
  ASSERT_EQ(present.size(), 1u);
  EXPECT_EQ(present[0]->interfaces, (std::vector<std::string>{"n0", "n1"}));
  EXPECT_EQ(present[0]->addresses, (std::vector<std::string>{"10.0.0.2", "10.1.0.2"}));
  EXPECT_EQ(present[0]->answered, (std::vector<std::string>{"dn:NetworkVideoTransmitter", "tds:Device"}));
}

TEST_F(DeviceTrackerTest, FillXAddrsOnlyForAPresentDeviceWithout) {
  ASSERT_EQ(See(Message(Via::kHello, 6, 1), 0, {}), Change::kFound);
  EXPECT_EQ(tracker.FillXAddrs("urn:uuid:other", {"http://x/"}), nullptr);
  EXPECT_EQ(tracker.FillXAddrs(kCam, {}), nullptr);
  const DeviceInfo* filled = tracker.FillXAddrs(kCam, {"http://10.0.0.2/"});
  ASSERT_NE(filled, nullptr);
  EXPECT_EQ(filled->xaddrs, std::vector<std::string>{"http://10.0.0.2/"});
  EXPECT_EQ(tracker.FillXAddrs(kCam, {"http://10.0.0.3/"}), nullptr) << "already has XAddrs";
}

TEST_F(DeviceTrackerTest, RankerPicksBestXAddrOnChanges) {
  DeviceTracker ranked(10, [](const DeviceInfo& d) -> std::optional<std::string> {
    return d.xaddrs.empty() ? std::nullopt : std::optional<std::string>(d.xaddrs.back());
  });
  const Observation hello = Message(Via::kHello, 6, 1);
  const DeviceTracker::Event event =
      ranked.Observe(hello, 0, [] { return Described(1, {"http://169.254.1.1/", "http://10.0.0.2/"}); },
                     [] { return std::string("10.0.0.2"); });
  ASSERT_EQ(event.change, Change::kFound);
  EXPECT_EQ(event.device->best_xaddr, "http://10.0.0.2/");
}

TEST_F(DeviceTrackerTest, BoundedByMaxDevices) {
  DeviceTracker small(2, nullptr);
  const std::string endpoints[] = {"urn:a", "urn:b", "urn:c"};
  for (const std::string& endpoint : endpoints) {
    Observation o = Message(Via::kHello, 1, 1);
    o.endpoint = endpoint;
    (void)small.Observe(o, 0, [] { return Described(1); }, [] { return std::string("10.0.0.2"); });
  }
  EXPECT_EQ(small.tracked(), 2u);
  EXPECT_EQ(small.counters().full, 1u);
}

}  // namespace
}  // namespace onvif::sweep
