#include "engine/sweep/pipeline.h"

#include <arpa/inet.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/constants.h"
#include "gtest/gtest.h"
#include "tests/support/alloc_counter.h"

namespace onvif::sweep {
namespace {

constexpr char kProbeId0[] = "urn:uuid:00000000-0000-4000-8000-000000000000";
constexpr char kProbeId1[] = "urn:uuid:11111111-1111-4111-8111-111111111111";
constexpr char kProbeIdDevice[] = "urn:uuid:22222222-2222-4222-8222-222222222222";

wsd::DeviceDescription Camera(int i, std::uint64_t metadata_version = 1) {
  wsd::DeviceDescription d;
  d.endpoint = absl::StrCat("urn:uuid:cam-", i);
  d.types = {{std::string(wsd::kNsOnvifNetwork), "NetworkVideoTransmitter"},
             {std::string(wsd::kNsOnvifDevice), "Device"}};
  d.scopes = {absl::StrCat("onvif://www.onvif.org/name/cam%20", i),
              "onvif://www.onvif.org/hardware/HW"};
  d.xaddrs = {absl::StrCat("http://10.0.0.", i, "/onvif/device_service")};
  d.metadata_version = metadata_version;
  return d;
}

std::string Reply(std::string_view relates_to, std::vector<wsd::DeviceDescription> cams,
                  std::uint64_t instance = 1, std::uint64_t number = 1) {
  return wsd::BuildProbeMatches("", relates_to, {.instance_id = instance, .message_number = number},
                                cams);
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto seen = dedup::SeenTable::Create(64, 64 * 64);
    ASSERT_TRUE(seen.ok());
    seen_ = std::make_unique<dedup::SeenTable>(std::move(*seen));
    auto store = DeviceStore::Create(
        seen_->slot_count(), [this](const DeviceInfo& d) { found_.push_back(d.endpoint); },
        {"dn:NetworkVideoTransmitter", "tds:Device"},
        [this](const DeviceInfo& d) { resolved_.push_back(d.endpoint + " " + d.xaddrs.front()); });
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    Make({});
  }
  void Make(PipelineOptions options) {
    // n0's and n1's Probe of variant 0, and n0's Probe of variant 1.
    options.probes = {{kProbeId0, 0}, {kProbeId1, 0}, {kProbeIdDevice, 1}};
    options.interface_names = {"n0", "n1"};
    options.start = absl::UnixEpoch();
    options.now = [this] { return absl::UnixEpoch() + now_; };
    options.last_new_ms = &last_new_ms_;
    pipeline_ = std::make_unique<ReplyPipeline>(*seen_, *store_, std::move(options));
  }
  void Feed(const std::string& bytes, unsigned iface = 0, std::uint64_t fp = 1,
            std::string ip = "10.0.0.9", bool truncated = false) {
    pipeline_->Process(bytes, truncated, iface, fp, [&] { return ip; });
  }

  std::unique_ptr<dedup::SeenTable> seen_;
  std::unique_ptr<DeviceStore> store_;
  std::unique_ptr<ReplyPipeline> pipeline_;
  std::vector<std::string> found_;
  std::vector<std::string> resolved_;
  std::atomic<std::int64_t> last_new_ms_{-1};
  absl::Duration now_ = absl::Milliseconds(42);
};

TEST_F(PipelineTest, NewDeviceIsCopiedOut) {
  Feed(Reply(kProbeId0, {Camera(1), Camera(2)}));
  const InterfaceCounters& c = pipeline_->counters()[0];
  EXPECT_EQ(c.datagrams, 1u);
  EXPECT_EQ(c.matches, 2u);
  EXPECT_EQ(c.new_devices, 2u);
  EXPECT_EQ(found_, (std::vector<std::string>{"urn:uuid:cam-1", "urn:uuid:cam-2"}));
  EXPECT_EQ(last_new_ms_.load(), 42);
  const auto devices = store_->Snapshot();
  ASSERT_EQ(devices.size(), 2u);
  const DeviceInfo& d = devices[0].second;
  EXPECT_EQ(d.endpoint, "urn:uuid:cam-1");
  EXPECT_EQ(d.types, (std::vector<std::string>{
                         "{http://www.onvif.org/ver10/network/wsdl}NetworkVideoTransmitter",
                         "{http://www.onvif.org/ver10/device/wsdl}Device"}));
  EXPECT_EQ(d.scopes, (std::vector<std::string>{"onvif://www.onvif.org/name/cam%201",
                                                "onvif://www.onvif.org/hardware/HW"}));
  EXPECT_EQ(d.xaddrs, std::vector<std::string>{"http://10.0.0.1/onvif/device_service"});
  EXPECT_EQ(d.metadata_version, 1u);
  EXPECT_EQ(d.interfaces, std::vector<std::string>{"n0"});
  EXPECT_EQ(d.addresses, std::vector<std::string>{"10.0.0.9"});
  EXPECT_EQ(d.first_seen_ms, 42);
}

// Sockets 0 and 1 are n0 over IPv4 and IPv6, socket 2 is n1: a camera
// answering both of n0's sockets is one device on n0, counted per socket,
// with its link-local source zoned by n0's name (ifindex 5).
TEST_F(PipelineTest, SocketsOfOneInterfaceShareItsSeenTableBit) {
  PipelineOptions options;
  options.socket_interfaces = {0, 0, 1};
  options.interface_ifindexes = {5, 6};
  Make(std::move(options));
  const std::string reply = Reply(kProbeId0, {Camera(1)});
  const auto datagram = [&](unsigned socket, const net::SocketAddress& peer) {
    io::Datagram d;
    d.socket_tag = socket;
    d.peer = peer;
    d.payload = {reply.data(), reply.size()};
    return d;
  };
  in6_addr link_local{};
  inet_pton(AF_INET6, "fe80::2", &link_local);
  pipeline_->Process(datagram(0, net::SocketAddress(*net::IpAddress::Parse("10.0.0.1"), 3702)));
  pipeline_->Process(datagram(1, net::SocketAddress(net::IpAddress::V6(link_local, 5), 3702)));
  // The same source on another link (n1, ifindex 6) is another address.
  pipeline_->Process(datagram(2, net::SocketAddress(net::IpAddress::V6(link_local, 6), 3702)));
  ASSERT_EQ(pipeline_->counters().size(), 3u);
  EXPECT_EQ(pipeline_->counters()[0].new_devices, 1u);
  EXPECT_EQ(pipeline_->counters()[1].duplicates, 1u);
  EXPECT_EQ(pipeline_->counters()[2].duplicates, 1u);
  const auto devices = store_->Snapshot();
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].second.interfaces, std::vector<std::string>{"n0"});
  EXPECT_EQ(devices[0].second.addresses, (std::vector<std::string>{"10.0.0.1", "fe80::2%n0", "fe80::2%n1"}));
  const std::optional<dedup::EntryView> entry = seen_->At(devices[0].first);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->interface_mask, 0b11u) << "one bit per interface, not per socket";
}

TEST_F(PipelineTest, ReplyToResentProbeIsSeenNotUpdated) {
  Feed(Reply(kProbeId0, {Camera(1)}, 1, 1));
  now_ = absl::Milliseconds(400);
  Feed(Reply(kProbeId0, {Camera(1)}, 1, 2));  // MessageNumber went up: still a duplicate
  Feed(Reply(kProbeId1, {Camera(1)}, 1, 3), 1);  // on the other interface
  EXPECT_EQ(pipeline_->counters()[0].duplicates, 1u);
  EXPECT_EQ(pipeline_->counters()[1].duplicates, 1u);
  EXPECT_EQ(pipeline_->counters()[0].updated, 0u);
  EXPECT_EQ(last_new_ms_.load(), 42);
  auto entry = seen_->Find("urn:uuid:cam-1");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->interface_mask, 3u);
}

TEST_F(PipelineTest, MetadataOrRestartIsAnUpdate) {
  Feed(Reply(kProbeId0, {Camera(1, 1)}, 1));
  Feed(Reply(kProbeId0, {Camera(1, 2)}, 1));  // MetadataVersion up
  Feed(Reply(kProbeId0, {Camera(1, 2)}, 2));  // InstanceId up: restarted
  EXPECT_EQ(pipeline_->counters()[0].updated, 2u);
  EXPECT_EQ(found_.size(), 1u);
  EXPECT_EQ(store_->Snapshot()[0].second.metadata_version, 2u);
}

TEST_F(PipelineTest, UnrelatedMalformedTruncated) {
  Feed(Reply("urn:uuid:not-ours", {Camera(1)}));
  Feed(wsd::BuildProbe(kProbeId0, {}));  // our own Probe, looped back
  Feed(wsd::BuildHello("", {.instance_id = 1, .message_number = 1}, Camera(3)));
  Feed("<s:Envelope");
  Feed("not xml at all");
  Feed(Reply(kProbeId0, {Camera(2)}), 0, 1, "x", /*truncated=*/true);
  const InterfaceCounters& c = pipeline_->counters()[0];
  EXPECT_EQ(c.datagrams, 6u);
  EXPECT_EQ(c.unrelated, 3u);
  EXPECT_EQ(c.malformed, 2u);
  EXPECT_EQ(c.truncated, 1u);
  EXPECT_EQ(c.malformed_by_error[static_cast<int>(wsd::ScanError::kTruncated)], 1u);
  EXPECT_EQ(c.new_devices, 0u);
  EXPECT_TRUE(store_->Snapshot().empty());
  EXPECT_EQ(last_new_ms_.load(), -1);
}

TEST_F(PipelineTest, TypesAndScopesFilter) {
  PipelineOptions options;
  options.filter = true;
  options.filter_types_by_variant = {{{std::string(wsd::kNsOnvifNetwork), "NetworkVideoTransmitter"}}};
  options.filter_scopes = {"onvif://www.onvif.org/hardware/HW"};
  Make(std::move(options));
  wsd::DeviceDescription printer = Camera(5);
  printer.types = {{std::string(wsd::kNsDevProf), "Device"}};
  wsd::DeviceDescription other_hw = Camera(6);
  other_hw.scopes = {"onvif://www.onvif.org/hardware/HW-2"};
  Feed(Reply(kProbeId0, {Camera(1), printer, other_hw}));
  EXPECT_EQ(pipeline_->counters()[0].matches, 3u);
  EXPECT_EQ(pipeline_->counters()[0].filtered, 2u);
  EXPECT_EQ(found_, std::vector<std::string>{"urn:uuid:cam-1"});
}

// Which Probe variant a reply answers is recorded per device, on the
// duplicate path too, and reaches on_found and the snapshot.
TEST_F(PipelineTest, AnsweredVariantsAreRecorded) {
  Feed(Reply(kProbeId0, {Camera(1)}));
  Feed(Reply(kProbeIdDevice, {Camera(1), Camera(2)}));
  Feed(Reply(kProbeIdDevice, {Camera(2)}));
  const auto devices = store_->Snapshot();
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0].second.answered, (std::vector<std::string>{"dn:NetworkVideoTransmitter", "tds:Device"}));
  EXPECT_EQ(devices[1].second.answered, std::vector<std::string>{"tds:Device"});
  EXPECT_EQ(pipeline_->counters()[0].duplicates, 2u);
}

// A ProbeMatch without XAddrs asks for a Resolve; only a ResolveMatches
// answering a Resolve we sent fills the XAddrs in.
TEST_F(PipelineTest, EndpointWithoutXAddrsIsResolved) {
  wsd::DeviceDescription bare = Camera(4);
  bare.xaddrs.clear();
  Feed(Reply(kProbeId0, {bare, Camera(5)}), 1);
  ASSERT_TRUE(pipeline_->has_resolve_requests());
  const std::vector<ResolveRequest> requests = pipeline_->TakeResolveRequests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].endpoint, "urn:uuid:cam-4");
  EXPECT_EQ(requests[0].interface_index, 1u);
  EXPECT_FALSE(pipeline_->has_resolve_requests());

  const wsd::DeviceDescription resolved = Camera(4);
  const std::string match = wsd::BuildResolveMatches("", "urn:uuid:resolve-1", {.instance_id = 1, .message_number = 2},
                                                     resolved);
  Feed(match, 1);  // not a Resolve of ours yet
  EXPECT_EQ(pipeline_->counters()[1].unrelated, 1u);
  pipeline_->ExpectResolveMatches("urn:uuid:resolve-1");
  Feed(match, 1);
  Feed(match, 1);  // a retransmission's answer: nothing left to fill
  EXPECT_EQ(pipeline_->counters()[1].resolved, 1u);
  EXPECT_EQ(resolved_, std::vector<std::string>{"urn:uuid:cam-4 http://10.0.0.4/onvif/device_service"})
      << "on_resolved, once";
  const auto devices = store_->Snapshot();
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0].second.endpoint, "urn:uuid:cam-4");
  EXPECT_EQ(devices[0].second.xaddrs, std::vector<std::string>{"http://10.0.0.4/onvif/device_service"});
}

TEST_F(PipelineTest, SecondSourceAddressIsMerged) {
  Feed(Reply(kProbeId0, {Camera(1)}), 0, 7, "10.0.0.7");
  Feed(Reply(kProbeId1, {Camera(1)}), 1, 8, "10.0.1.7");
  EXPECT_EQ(store_->Snapshot()[0].second.addresses,
            (std::vector<std::string>{"10.0.0.7", "10.0.1.7"}));
}

TEST_F(PipelineTest, DuplicatesAndRejectsAllocateNothing) {
  const std::string first = Reply(kProbeId0, {Camera(1), Camera(2)});
  const std::string again = Reply(kProbeId0, {Camera(1), Camera(2)}, 1, 2);
  const std::string unrelated = Reply("urn:uuid:x", {Camera(3)});
  Feed(first);
  const std::string garbage = "<s:Envelope xmlns:s=\"urn:x\"><";
  std::uint64_t fp = 1;
  auto ip = [] { return std::string("never"); };
  // The per-datagram path allocates nothing for duplicates and rejects.
  const long before = onvif::testing::AllocationCount();
  for (int i = 0; i < 100; ++i) {
    pipeline_->Process(again, false, 0, fp, ip);
    pipeline_->Process(unrelated, false, 0, fp, ip);
    pipeline_->Process(garbage, false, 0, fp, ip);
  }
  EXPECT_EQ(onvif::testing::AllocationCount() - before, 0);
  EXPECT_EQ(pipeline_->counters()[0].duplicates, 200u);
}

io::Datagram MakeDatagram(const std::string& bytes, std::uint32_t tag, std::string_view ip) {
  io::Datagram d;
  d.socket_tag = tag;
  d.peer = net::SocketAddress(*net::IpAddress::Parse(ip), 3702);
  d.payload = std::span<const char>(bytes.data(), bytes.size());
  return d;
}

TEST_F(PipelineTest, FedWithDatagrams) {
  const std::string first = Reply(kProbeId1, {Camera(1)});
  const std::string again = Reply(kProbeId1, {Camera(1)}, 1, 2);
  pipeline_->Process(MakeDatagram(first, 1, "10.77.1.2"));
  const io::Datagram duplicate = MakeDatagram(again, 1, "10.77.1.2");
  const long before = onvif::testing::AllocationCount();
  for (int i = 0; i < 50; ++i) pipeline_->Process(duplicate);
  EXPECT_EQ(onvif::testing::AllocationCount() - before, 0)
      << "a duplicate from the known address allocates nothing";
  pipeline_->Process(MakeDatagram(again, 0, "10.77.0.2"));  // second address, other NIC
  io::Datagram cut = MakeDatagram(first, 0, "10.77.0.2");
  cut.truncated = true;
  pipeline_->Process(cut);
  EXPECT_EQ(pipeline_->counters()[1].new_devices, 1u);
  EXPECT_EQ(pipeline_->counters()[1].duplicates, 50u);
  EXPECT_EQ(pipeline_->counters()[0].duplicates, 1u);
  EXPECT_EQ(pipeline_->counters()[0].truncated, 1u);
  const auto devices = store_->Snapshot();
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].second.interfaces, std::vector<std::string>{"n1"});
  EXPECT_EQ(devices[0].second.addresses, (std::vector<std::string>{"10.77.1.2", "10.77.0.2"}));
}

// A storm of new cameras: each one's description goes into the store's
// compact records and arena, not into a dozen strings of its own. Counted,
// not timed: the old copy-out took about 20 allocations per device.
TEST(PipelineStormTest, NewDevicesCostUnderHalfAnAllocationEach) {
  constexpr int kCameras = 2000;
  auto seen = dedup::SeenTable::Create(2 * kCameras, 64 * kCameras);
  ASSERT_TRUE(seen.ok());
  int found = 0;
  auto store = DeviceStore::Create(seen->slot_count(), [&found](const DeviceInfo&) { ++found; },
                                   {"dn:NetworkVideoTransmitter"});
  ASSERT_TRUE(store.ok());
  PipelineOptions options;
  options.probes = {{kProbeId0, 0}};
  options.interface_names = {"n0"};
  ReplyPipeline pipeline(*seen, **store, std::move(options));
  std::vector<std::string> replies;
  for (int i = 0; i < kCameras; ++i) replies.push_back(Reply(kProbeId0, {Camera(i)}));
  const auto ip = [] { return std::string("10.0.0.9"); };
  constexpr int kWarm = 100;  // first arena block, intern tables, scratch strings
  for (int i = 0; i < kWarm; ++i) pipeline.Process(replies[i], false, 0, 1 + i, ip);
  const long before = onvif::testing::AllocationCount();
  for (int i = kWarm; i < kCameras; ++i) pipeline.Process(replies[i], false, 0, 1 + i, ip);
  const long allocations = onvif::testing::AllocationCount() - before;
  EXPECT_EQ(found, kCameras);
  EXPECT_LT(allocations, (kCameras - kWarm) / 2) << allocations << " allocations for " << kCameras - kWarm
                                                  << " new devices";
  const auto devices = (*store)->Snapshot();
  ASSERT_EQ(devices.size(), static_cast<std::size_t>(kCameras));
  EXPECT_EQ(devices.back().second.endpoint, absl::StrCat("urn:uuid:cam-", kCameras - 1));
  EXPECT_EQ(devices.back().second.scopes,
            (std::vector<std::string>{absl::StrCat("onvif://www.onvif.org/name/cam%20", kCameras - 1),
                                      "onvif://www.onvif.org/hardware/HW"}));
  EXPECT_EQ(devices.back().second.types,
            (std::vector<std::string>{"{http://www.onvif.org/ver10/network/wsdl}NetworkVideoTransmitter",
                                      "{http://www.onvif.org/ver10/device/wsdl}Device"}));
}

TEST(PeerFingerprintTest, DistinctNonzeroAndPortBlind) {
  const auto v4 = [](std::string_view ip, std::uint16_t port) {
    return PeerFingerprint(net::SocketAddress(*net::IpAddress::Parse(ip), port));
  };
  EXPECT_NE(v4("10.0.0.1", 1), 0u);
  EXPECT_EQ(v4("10.0.0.1", 1), v4("10.0.0.1", 2));
  EXPECT_NE(v4("10.0.0.1", 1), v4("10.0.0.2", 1));
  EXPECT_NE(v4("0.0.0.0", 1), 0u);
  const auto v6 = PeerFingerprint(net::SocketAddress(*net::IpAddress::Parse("fe80::1"), 1));
  EXPECT_NE(v6, 0u);
  EXPECT_NE(v6, PeerFingerprint(net::SocketAddress(*net::IpAddress::Parse("fe80::2"), 1)));
}

}  // namespace
}  // namespace onvif::sweep
