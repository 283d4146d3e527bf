// EventLoop behaviour, parameterised over the backends. Socket tests run in a
// private network namespace on lo (see io_test_util.h); timer tests need none.

#include "engine/io/event_loop.h"

#include <gtest/gtest.h>
#include <net/if.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "tests/io/io_test_util.h"

namespace onvif::io {
namespace {

using testing::Address;
using testing::EnterPrivateNetnsOnce;
using testing::LocalAddress;
using testing::NumberOf;
using testing::SendNumbered;
using testing::SendTo;
using testing::SocketSpec;
using testing::UdpSocket;
using base::UniqueFd;
using net::SocketAddress;

struct Received {
  uint32_t tag;
  uint32_t ifindex;
  SocketAddress peer;
  SocketAddress destination;
  std::string payload;
  bool truncated;
};

// Copies everything out (tests may allocate) and runs an optional hook.
class RecordingHandler : public DatagramHandler {
 public:
  void OnDatagrams(EventLoop& loop, std::span<const Datagram> batch) override {
    EXPECT_FALSE(batch.empty());
    batches.push_back({batch.front().socket_tag, batch.size()});
    for (const Datagram& d : batch) {
      received.push_back({d.socket_tag, d.arrival_ifindex, d.peer, d.destination, std::string(d.text()),
                          d.truncated});
      ++per_tag[d.socket_tag];
    }
    if (hook) hook(loop, batch);
    if (stop_at != 0 && received.size() >= stop_at) loop.Stop();
  }

  std::vector<Received> received;
  std::vector<std::pair<uint32_t, size_t>> batches;  // tag, size
  std::map<uint32_t, size_t> per_tag;
  size_t stop_at = 0;  // Stop() once this many have arrived (0: never)
  std::function<void(EventLoop&, std::span<const Datagram>)> hook;
};

// The uring backend needs Linux >= 6.0 with io_uring allowed: elsewhere its
// tests skip (a missing kernel feature is not a failure).
std::string UringUnavailable() {
  static const std::string reason = [] {
    class Null : public DatagramHandler {
      void OnDatagrams(EventLoop&, std::span<const Datagram>) override {}
    } handler;
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = CreateEventLoop(Backend::kUring, handler);
    return loop.ok() ? std::string() : loop.status().ToString();
  }();
  return reason;
}

class EventLoopTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kUring && !UringUnavailable().empty()) GTEST_SKIP() << UringUnavailable();
  }

  std::unique_ptr<EventLoop> MakeLoop(DatagramHandler& handler, const EventLoopOptions& options = {}) {
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = CreateEventLoop(GetParam(), handler, options);
    EXPECT_TRUE(loop.ok()) << loop.status();
    if (!loop.ok()) return nullptr;
    EXPECT_EQ((*loop)->backend(), GetParam());
    return std::move(*loop);
  }
};

// Socket tests: inside the private namespace, or skipped.
class EventLoopSocketTest : public EventLoopTest {
 protected:
  void SetUp() override {
    EventLoopTest::SetUp();
    if (IsSkipped()) return;
    if (const std::string& why = EnterPrivateNetnsOnce(); !why.empty()) GTEST_SKIP() << why;
  }
};

std::string ParamName(const ::testing::TestParamInfo<Backend>& info) { return std::string(BackendName(info.param)); }

INSTANTIATE_TEST_SUITE_P(Backends, EventLoopTest, ::testing::Values(Backend::kEpoll, Backend::kUring), ParamName);
INSTANTIATE_TEST_SUITE_P(Backends, EventLoopSocketTest, ::testing::Values(Backend::kEpoll, Backend::kUring),
                         ParamName);

constexpr absl::Duration kSafety = absl::Seconds(10);  // no test waits this long unless broken

// ---------------------------------------------------------------- sockets

TEST_P(EventLoopSocketTest, DeliversTagsPeersPayloadsAndArrivalInterface) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  const uint32_t lo_index = if_nametoindex("lo");
  ASSERT_NE(lo_index, 0u);

  UniqueFd rx_a = UdpSocket({});
  UniqueFd rx_b = UdpSocket({});
  UniqueFd rx_v6 = UdpSocket({.family = AF_INET6, .address = "::1"});
  UniqueFd tx_1 = UdpSocket({.address = "127.0.0.2", .pktinfo = false});
  UniqueFd tx_2 = UdpSocket({.address = "127.0.0.3", .pktinfo = false});
  UniqueFd tx_v6 = UdpSocket({.family = AF_INET6, .address = "::1", .pktinfo = false});
  for (const UniqueFd* fd : {&rx_a, &rx_b, &rx_v6, &tx_1, &tx_2, &tx_v6}) ASSERT_GE(fd->get(), 0) << strerror(errno);
  ASSERT_TRUE(loop->AddSocket(rx_a.get(), 10).ok());
  ASSERT_TRUE(loop->AddSocket(rx_b.get(), 20).ok());
  ASSERT_TRUE(loop->AddSocket(rx_v6.get(), 30).ok());

  ASSERT_TRUE(SendTo(tx_1.get(), LocalAddress(rx_a.get()), "one to a"));
  ASSERT_TRUE(SendTo(tx_2.get(), LocalAddress(rx_a.get()), "two to a"));
  ASSERT_TRUE(SendTo(tx_2.get(), LocalAddress(rx_b.get()), "two to b"));
  ASSERT_TRUE(SendTo(tx_v6.get(), LocalAddress(rx_v6.get()), "v6 to v6"));
  ASSERT_TRUE(SendTo(tx_1.get(), LocalAddress(rx_b.get()), std::string_view("\0bin\0", 5)));
  handler.stop_at = 5;
  ASSERT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());
  ASSERT_EQ(handler.received.size(), 5u);

  std::map<std::string, Received> by_payload;
  for (const Received& r : handler.received) by_payload[r.payload] = r;
  struct Expect {
    std::string payload;
    uint32_t tag;
    SocketAddress peer;
    SocketAddress destination;
  };
  const std::vector<Expect> expected = {
      {"one to a", 10, LocalAddress(tx_1.get()), Address("127.0.0.1")},
      {"two to a", 10, LocalAddress(tx_2.get()), Address("127.0.0.1")},
      {"two to b", 20, LocalAddress(tx_2.get()), Address("127.0.0.1")},
      {"v6 to v6", 30, LocalAddress(tx_v6.get()), Address("::1")},
      {std::string("\0bin\0", 5), 20, LocalAddress(tx_1.get()), Address("127.0.0.1")},
  };
  for (const Expect& e : expected) {
    ASSERT_TRUE(by_payload.contains(e.payload)) << e.payload;
    const Received& r = by_payload[e.payload];
    EXPECT_EQ(r.tag, e.tag) << e.payload;
    EXPECT_EQ(r.peer, e.peer) << e.payload << ": " << r.peer.ToString() << " vs " << e.peer.ToString();
    EXPECT_EQ(r.destination, e.destination) << e.payload << ": " << r.destination.ToString();
    EXPECT_EQ(r.ifindex, lo_index) << e.payload;
    EXPECT_FALSE(r.truncated);
  }
  // Per-socket order is arrival order.
  std::vector<std::string> order_a;
  for (const Received& r : handler.received) {
    if (r.tag == 10) order_a.push_back(r.payload);
  }
  EXPECT_EQ(order_a, (std::vector<std::string>{"one to a", "two to a"}));

  absl::StatusOr<SocketCounters> a = loop->GetCounters(10);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->datagrams, 2u);
  EXPECT_EQ(a->bytes, 16u);
  EXPECT_EQ(a->kernel_drops, 0u);
  EXPECT_EQ(a->receive_errors, 0u);
  EXPECT_GE(a->batches, 1u);
}

TEST_P(EventLoopSocketTest, WithoutPktinfoArrivalInterfaceIsZero) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  UniqueFd rx = UdpSocket({.pktinfo = false});
  UniqueFd tx = UdpSocket({.pktinfo = false});
  ASSERT_TRUE(loop->AddSocket(rx.get(), 1).ok());
  ASSERT_TRUE(SendTo(tx.get(), LocalAddress(rx.get()), "x"));
  handler.stop_at = 1;
  ASSERT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());
  ASSERT_EQ(handler.received.size(), 1u);
  EXPECT_EQ(handler.received[0].ifindex, 0u);
  EXPECT_TRUE(handler.received[0].destination.empty()) << handler.received[0].destination.ToString();
  EXPECT_EQ(handler.received[0].peer, LocalAddress(tx.get()));
}

TEST_P(EventLoopSocketTest, BurstArrivesInBoundedBatchesInOrder) {
  constexpr size_t kCount = 10'000;
  constexpr size_t kSize = 256;
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  UniqueFd rx = UdpSocket({.rcvbuf = 64 << 20});
  UniqueFd tx = UdpSocket({.pktinfo = false});
  ASSERT_GE(rx.get(), 0);
  ASSERT_TRUE(loop->AddSocket(rx.get(), 7).ok());
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx.get()), kCount, kSize), kCount);

  handler.stop_at = kCount;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  ASSERT_EQ(handler.received.size(), kCount);
  size_t total = 0;
  for (const auto& [tag, size] : handler.batches) {
    EXPECT_EQ(tag, 7u);
    EXPECT_GE(size, 1u);
    EXPECT_LE(size, 64u);
    total += size;
  }
  EXPECT_EQ(total, kCount);
  EXPECT_GE(handler.batches.size(), (kCount + 63) / 64);
  // Everything was queued before the loop ran, so batches are full.
  EXPECT_LE(handler.batches.size(), (kCount + 63) / 64 + 1);
  for (size_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(NumberOf(handler.received[i].payload), i);
    ASSERT_EQ(handler.received[i].payload.size(), kSize);
  }
  absl::StatusOr<SocketCounters> counters = loop->GetCounters(7);
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ(counters->datagrams, kCount);
  EXPECT_EQ(counters->batches, handler.batches.size());
  EXPECT_EQ(counters->kernel_drops, 0u);
  std::printf("[ drain    ] %zu datagrams of %zu B in %zu batches, %.2f ms, %.0f datagrams/s (incl. test copies)\n",
              kCount, kSize, handler.batches.size(), seconds * 1e3, kCount / seconds);
  RecordProperty("drain_datagrams_per_second", std::to_string(static_cast<long>(kCount / seconds)));
}

TEST_P(EventLoopSocketTest, TruncatedDatagramsAreFlaggedAndCounted) {
  RecordingHandler handler;
  EventLoopOptions options;
  options.max_datagram_size = 1024;
  auto loop = MakeLoop(handler, options);
  ASSERT_NE(loop, nullptr);
  UniqueFd rx = UdpSocket({});
  UniqueFd tx = UdpSocket({.pktinfo = false});
  ASSERT_TRUE(loop->AddSocket(rx.get(), 1).ok());
  const std::string small(100, 's');
  const std::string exact(1024, 'e');
  std::string big(2000, 'b');
  big[1023] = 'L';
  big[1024] = 'X';
  ASSERT_TRUE(SendTo(tx.get(), LocalAddress(rx.get()), small));
  ASSERT_TRUE(SendTo(tx.get(), LocalAddress(rx.get()), exact));
  ASSERT_TRUE(SendTo(tx.get(), LocalAddress(rx.get()), big));
  ASSERT_TRUE(SendTo(tx.get(), LocalAddress(rx.get()), small));
  handler.stop_at = 4;
  ASSERT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());
  ASSERT_EQ(handler.received.size(), 4u);
  EXPECT_EQ(handler.received[0].payload, small);
  EXPECT_FALSE(handler.received[0].truncated);
  EXPECT_EQ(handler.received[1].payload, exact);
  EXPECT_FALSE(handler.received[1].truncated);
  EXPECT_EQ(handler.received[2].payload, big.substr(0, 1024));
  EXPECT_TRUE(handler.received[2].truncated);
  EXPECT_EQ(handler.received[3].payload, small);  // the next slot is not disturbed
  EXPECT_FALSE(handler.received[3].truncated);
  absl::StatusOr<SocketCounters> counters = loop->GetCounters(1);
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ(counters->truncated, 1u);
  EXPECT_EQ(counters->bytes, 100u + 1024u + 1024u + 100u);
}

TEST_P(EventLoopSocketTest, KernelDropsAreCountedOnceWithoutLoss) {
  constexpr size_t kFirst = 2000;
  constexpr size_t kLater = 4;
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  UniqueFd rx = UdpSocket({.rcvbuf = 4096, .tiny_rcvbuf = true});
  UniqueFd tx = UdpSocket({.pktinfo = false});
  ASSERT_GE(rx.get(), 0);
  ASSERT_TRUE(loop->AddSocket(rx.get(), 3).ok());
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx.get()), kFirst, 100), kFirst);

  // Everything is queued or dropped already: one short run drains it.
  ASSERT_TRUE(loop->RunUntil(absl::Now() + absl::Milliseconds(200)).ok());
  absl::StatusOr<SocketCounters> counters = loop->GetCounters(3);
  ASSERT_TRUE(counters.ok());
  std::printf("[ drops    ] rcvbuf 4 KiB: %zu sent, %llu received, %llu kernel drops\n", kFirst,
              static_cast<unsigned long long>(counters->datagrams),
              static_cast<unsigned long long>(counters->kernel_drops));
  EXPECT_GT(counters->kernel_drops, 0u);
  EXPECT_GT(counters->datagrams, 0u);
  EXPECT_EQ(counters->datagrams, handler.received.size());
  EXPECT_EQ(counters->datagrams + counters->kernel_drops, kFirst);

  // Later datagrams (fewer than the buffer holds) carry the same cumulative
  // counter (SO_RXQ_OVFL cmsg): it must not be counted again.
  ASSERT_LT(kLater, counters->datagrams);
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx.get()), kLater, 100, kFirst), kLater);
  const uint64_t drops_before = counters->kernel_drops;
  ASSERT_TRUE(loop->RunUntil(absl::Now() + absl::Milliseconds(100)).ok());
  counters = loop->GetCounters(3);
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ(counters->kernel_drops, drops_before);
  EXPECT_EQ(counters->datagrams + counters->kernel_drops, kFirst + kLater);

  // A second overflow, drained this time without an SO_MEMINFO read in
  // between: the cmsg path and the final read together count it exactly.
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx.get()), kFirst, 100, kFirst + kLater), kFirst);
  ASSERT_TRUE(loop->RunUntil(absl::Now() + absl::Milliseconds(100)).ok());
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx.get()), kLater, 100, 2 * kFirst + kLater), kLater);
  ASSERT_TRUE(loop->RunUntil(absl::Now() + absl::Milliseconds(100)).ok());
  absl::StatusOr<SocketCounters> final_counters = loop->RemoveSocket(3);
  ASSERT_TRUE(final_counters.ok());
  EXPECT_GT(final_counters->kernel_drops, drops_before);
  EXPECT_EQ(final_counters->datagrams + final_counters->kernel_drops, 2 * (kFirst + kLater));
  EXPECT_EQ(final_counters->datagrams, handler.received.size());
}

TEST_P(EventLoopSocketTest, TwoFloodedSocketsAreServedInTurn) {
  constexpr size_t kEach = 2000;
  RecordingHandler handler;
  EventLoopOptions options;
  options.max_batches_per_turn = 2;
  auto loop = MakeLoop(handler, options);
  ASSERT_NE(loop, nullptr);
  UniqueFd rx_a = UdpSocket({.rcvbuf = 16 << 20});
  UniqueFd rx_b = UdpSocket({.rcvbuf = 16 << 20});
  UniqueFd tx = UdpSocket({.pktinfo = false});
  ASSERT_TRUE(loop->AddSocket(rx_a.get(), 1).ok());
  ASSERT_TRUE(loop->AddSocket(rx_b.get(), 2).ok());
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx_a.get()), kEach, 200), kEach);
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx_b.get()), kEach, 200), kEach);
  handler.stop_at = 2 * kEach;
  ASSERT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());
  ASSERT_EQ(handler.per_tag[1], kEach);
  ASSERT_EQ(handler.per_tag[2], kEach);

  // Both sockets are served within the first turn (2 batches each at most)...
  ASSERT_GE(handler.batches.size(), 4u);
  std::set<uint32_t> first_turn;
  for (size_t i = 0; i < 4; ++i) first_turn.insert(handler.batches[i].first);
  EXPECT_EQ(first_turn.size(), 2u);
  // ...and while both still have data, no socket gets more than the cap in a row.
  std::map<uint32_t, size_t> seen;
  size_t run = 0;
  uint32_t last = 0;
  for (const auto& [tag, size] : handler.batches) {
    if (seen[1] >= kEach - 128 || seen[2] >= kEach - 128) break;
    run = tag == last ? run + 1 : 1;
    last = tag;
    EXPECT_LE(run, 2u) << "socket " << tag << " served " << run << " batches in a row";
    seen[tag] += size;
  }
}

TEST_P(EventLoopSocketTest, RemovedSocketDeliversNothingMore) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  UniqueFd rx_a = UdpSocket({});
  UniqueFd rx_b = UdpSocket({});
  UniqueFd tx = UdpSocket({.pktinfo = false});
  ASSERT_TRUE(loop->AddSocket(rx_a.get(), 1).ok());
  ASSERT_TRUE(loop->AddSocket(rx_b.get(), 2).ok());
  absl::StatusOr<SocketCounters> removed = loop->RemoveSocket(1);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->datagrams, 0u);
  EXPECT_EQ(loop->RemoveSocket(1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(loop->GetCounters(1).status().code(), absl::StatusCode::kNotFound);

  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx_a.get()), 3, 8), 3u);
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx_b.get()), 3, 8), 3u);
  ASSERT_TRUE(loop->RunUntil(absl::Now() + absl::Milliseconds(100)).ok());
  EXPECT_EQ(handler.per_tag[1], 0u);
  EXPECT_EQ(handler.per_tag[2], 3u);

  // The tag can be used again; the queued datagrams are then delivered.
  ASSERT_TRUE(loop->AddSocket(rx_a.get(), 1).ok());
  ASSERT_TRUE(loop->RunUntil(absl::Now() + absl::Milliseconds(100)).ok());
  EXPECT_EQ(handler.per_tag[1], 3u);
}

TEST_P(EventLoopSocketTest, RemoveFromHandlerStopsDeliveryAtOnce) {
  constexpr size_t kQueued = 500;
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  UniqueFd rx = UdpSocket({.rcvbuf = 8 << 20});
  UniqueFd tx = UdpSocket({.pktinfo = false});
  ASSERT_TRUE(loop->AddSocket(rx.get(), 5).ok());
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx.get()), kQueued, 64), kQueued);
  uint64_t counted = 0;
  handler.hook = [&](EventLoop& l, std::span<const Datagram> batch) {
    if (batch.front().socket_tag != 5) return;
    absl::StatusOr<SocketCounters> c = l.RemoveSocket(5);
    ASSERT_TRUE(c.ok());
    counted = c->datagrams;
    // The batch in hand stays readable after RemoveSocket.
    EXPECT_EQ(NumberOf(batch.back().payload), batch.size() - 1);
  };
  ASSERT_TRUE(loop->RunUntil(absl::Now() + absl::Milliseconds(100)).ok());
  EXPECT_EQ(handler.received.size(), 64u);
  EXPECT_EQ(counted, 64u);

  handler.hook = nullptr;
  ASSERT_TRUE(loop->AddSocket(rx.get(), 5).ok());
  handler.stop_at = kQueued;
  ASSERT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());
  ASSERT_EQ(handler.received.size(), kQueued);
  for (size_t i = 0; i < kQueued; ++i) ASSERT_EQ(NumberOf(handler.received[i].payload), i);
}

TEST_P(EventLoopSocketTest, StopFromHandlerReturnsAfterThatBatch) {
  constexpr size_t kQueued = 500;
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  UniqueFd rx = UdpSocket({.rcvbuf = 8 << 20});
  UniqueFd tx = UdpSocket({.pktinfo = false});
  ASSERT_TRUE(loop->AddSocket(rx.get(), 1).ok());
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx.get()), kQueued, 64), kQueued);
  handler.stop_at = 1;
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(handler.received.size(), 64u);  // one full batch, then Run returned
  handler.stop_at = kQueued;
  ASSERT_TRUE(loop->Run().ok());  // picks up where it stopped
  EXPECT_EQ(handler.received.size(), kQueued);
}

TEST_P(EventLoopSocketTest, ReceiveErrorsAreCountedNotFatal) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  // A connected socket that sends to a closed port gets ECONNREFUSED (ICMP
  // port unreachable) on its next receive.
  UniqueFd rx = UdpSocket({});
  UniqueFd closed = UdpSocket({});
  const SocketAddress nowhere = LocalAddress(closed.get());
  closed.reset();
  sockaddr_storage storage;
  const socklen_t length = nowhere.ToSockaddr(storage);
  ASSERT_EQ(connect(rx.get(), reinterpret_cast<const sockaddr*>(&storage), length), 0);
  ASSERT_TRUE(loop->AddSocket(rx.get(), 1).ok());
  ASSERT_EQ(send(rx.get(), "x", 1, 0), 1);
  ASSERT_TRUE(loop->RunUntil(absl::Now() + absl::Milliseconds(100)).ok());
  absl::StatusOr<SocketCounters> counters = loop->GetCounters(1);
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ(counters->receive_errors, 1u);
  EXPECT_EQ(counters->last_error, ECONNREFUSED);
  EXPECT_EQ(counters->datagrams, 0u);
}

TEST_P(EventLoopSocketTest, AddSocketErrors) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  UniqueFd rx = UdpSocket({});
  UniqueFd other = UdpSocket({});
  ASSERT_TRUE(loop->AddSocket(rx.get(), 1).ok());
  EXPECT_EQ(loop->AddSocket(other.get(), 1).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(loop->AddSocket(-1, 2).ok());
  UniqueFd not_a_socket(eventfd(0, EFD_CLOEXEC));  // SO_RXQ_OVFL: ENOTSOCK
  EXPECT_FALSE(loop->AddSocket(not_a_socket.get(), 3).ok());
  EXPECT_TRUE(loop->AddSocket(other.get(), 2).ok());
}

// Binds a fresh socket to `address` (no SO_REUSEADDR): true when the port is free.
bool CanBind(const SocketAddress& address) {
  UniqueFd fd(socket(address.family() == net::Family::kIPv4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_storage storage;
  const socklen_t length = address.ToSockaddr(storage);
  return fd.get() >= 0 && bind(fd.get(), reinterpret_cast<const sockaddr*>(&storage), length) == 0;
}

// An armed receive holds a reference to the socket: RemoveSocket must drop
// it, or closing the fd leaves the port bound (an io_uring hazard).
TEST_P(EventLoopSocketTest, RemovedAndClosedSocketFreesItsPort) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  UniqueFd tx = UdpSocket({.pktinfo = false});
  for (int round = 0; round < 3; ++round) {
    UniqueFd rx = UdpSocket({});
    ASSERT_GE(rx.get(), 0);
    const SocketAddress bound = LocalAddress(rx.get());
    ASSERT_TRUE(loop->AddSocket(rx.get(), 1).ok());
    ASSERT_TRUE(SendTo(tx.get(), bound, "armed"));
    handler.stop_at = handler.received.size() + 1;
    ASSERT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());  // the receive is armed now
    if (round == 1) {
      // Removed from inside a handler, with the loop running.
      ASSERT_TRUE(SendTo(tx.get(), bound, "in handler"));
      handler.hook = [](EventLoop& l, std::span<const Datagram>) { ASSERT_TRUE(l.RemoveSocket(1).ok()); };
      handler.stop_at = handler.received.size() + 1;
      ASSERT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());
      handler.hook = nullptr;
      EXPECT_EQ(loop->RemoveSocket(1).status().code(), absl::StatusCode::kNotFound);
    } else {
      ASSERT_TRUE(loop->RemoveSocket(1).ok());
    }
    EXPECT_FALSE(CanBind(bound)) << "still open: the port must be taken";
    rx.reset();
    EXPECT_TRUE(CanBind(bound)) << "round " << round << ": port " << bound.ToString() << " still bound";
  }
  // The loop's own teardown lets go too.
  UniqueFd rx = UdpSocket({});
  const SocketAddress bound = LocalAddress(rx.get());
  ASSERT_TRUE(loop->AddSocket(rx.get(), 2).ok());
  ASSERT_TRUE(loop->RunUntil(absl::Now() + absl::Milliseconds(20)).ok());
  loop.reset();
  rx.reset();
  EXPECT_TRUE(CanBind(bound));
}

// The sweep's pattern: sockets and timers added on one thread, the loop run
// on a worker that then blocks or exits, sockets removed on the first
// thread. (Receives armed by the worker are the worker's: removal must not
// depend on it entering the kernel again, and its exit must not leave the
// sockets deaf for a later Run elsewhere.)
TEST_P(EventLoopSocketTest, RunOnOneThreadRemoveOnAnother) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  UniqueFd rx_a = UdpSocket({});
  UniqueFd rx_b = UdpSocket({});
  UniqueFd tx = UdpSocket({.pktinfo = false});
  const SocketAddress a = LocalAddress(rx_a.get());
  const SocketAddress b = LocalAddress(rx_b.get());
  ASSERT_TRUE(loop->AddSocket(rx_a.get(), 1).ok());
  ASSERT_TRUE(loop->AddSocket(rx_b.get(), 2).ok());
  ASSERT_TRUE(SendTo(tx.get(), a, "one"));
  handler.stop_at = 1;

  // The worker runs the loop, then blocks in a futex wait (no timeout).
  std::promise<void> ran;
  std::promise<void> release;
  std::thread worker([&] {
    EXPECT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());
    ran.set_value();
    release.get_future().wait();
  });
  ran.get_future().wait();
  ASSERT_EQ(handler.received.size(), 1u);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(loop->RemoveSocket(1).ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  rx_a.reset();
  EXPECT_TRUE(CanBind(a));
  release.set_value();
  worker.join();  // the worker is gone now

  // Socket b, armed by the exited worker, still receives when this thread runs the loop.
  ASSERT_TRUE(SendTo(tx.get(), b, "two"));
  handler.stop_at = 2;
  ASSERT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());
  ASSERT_EQ(handler.received.size(), 2u);
  EXPECT_EQ(handler.received[1].payload, "two");
  ASSERT_TRUE(loop->RemoveSocket(2).ok());
  rx_b.reset();
  EXPECT_TRUE(CanBind(b));
}

// A timer added by a handler while the loop sleeps towards a later deadline
// shortens the wait (the uring backend replaces its armed timeout).
TEST_P(EventLoopSocketTest, TimerAddedByHandlerShortensTheWait) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  UniqueFd rx = UdpSocket({});
  UniqueFd tx = UdpSocket({.pktinfo = false});
  ASSERT_TRUE(loop->AddSocket(rx.get(), 1).ok());
  const absl::Time start = absl::Now();
  bool late_fired = false;
  absl::Time early_fired;
  loop->AddTimer(absl::Milliseconds(300), [&] { late_fired = true; });
  handler.hook = [&](EventLoop& l, std::span<const Datagram>) {
    l.AddTimer(absl::Milliseconds(10), [&] { early_fired = absl::Now(); });
  };
  std::thread sender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    SendTo(tx.get(), LocalAddress(rx.get()), "wake");
  });
  ASSERT_TRUE(loop->RunUntil(start + absl::Milliseconds(150)).ok());
  sender.join();
  ASSERT_EQ(handler.received.size(), 1u);
  ASSERT_NE(early_fired, absl::Time());
  EXPECT_GE(early_fired - start, absl::Milliseconds(25));
  EXPECT_LT(early_fired - start, absl::Milliseconds(130));
  EXPECT_FALSE(late_fired);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));
}

// ------------------------------------------------------- uring specifics

class UringLoopTest : public EventLoopSocketTest {};
INSTANTIATE_TEST_SUITE_P(Uring, UringLoopTest, ::testing::Values(Backend::kUring), ParamName);

// A buffer ring far smaller than the burst: the multishot receive runs dry
// over and over (ENOBUFS), is re-armed after each recycle, and every
// datagram still arrives, in order.
TEST_P(UringLoopTest, TinyBufferRingLosesNothing) {
  constexpr size_t kCount = 3000;
  RecordingHandler handler;
  auto loop = MakeLoop(handler, {.uring_buffers_per_socket = 4});
  ASSERT_NE(loop, nullptr);
  UniqueFd rx_a = UdpSocket({.rcvbuf = 16 << 20});
  UniqueFd rx_b = UdpSocket({.rcvbuf = 16 << 20});
  UniqueFd tx = UdpSocket({.pktinfo = false});
  ASSERT_TRUE(loop->AddSocket(rx_a.get(), 1).ok());
  ASSERT_TRUE(loop->AddSocket(rx_b.get(), 2).ok());
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx_a.get()), kCount, 300), kCount);
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx_b.get()), kCount, 300), kCount);
  handler.stop_at = 2 * kCount;
  ASSERT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());
  ASSERT_EQ(handler.received.size(), 2 * kCount);
  std::map<uint32_t, uint32_t> next;
  for (const Received& r : handler.received) {
    ASSERT_EQ(NumberOf(r.payload), next[r.tag]++) << "socket " << r.tag;
  }
  for (const auto& [tag, size] : handler.batches) EXPECT_LE(size, 4u);
  for (uint32_t tag : {1u, 2u}) {
    absl::StatusOr<SocketCounters> counters = loop->GetCounters(tag);
    ASSERT_TRUE(counters.ok());
    EXPECT_EQ(counters->datagrams, kCount);
    EXPECT_GT(counters->buffer_exhausted, 0u);
    EXPECT_EQ(counters->kernel_drops, 0u);
    EXPECT_EQ(counters->receive_errors, 0u);
    std::printf("[ enobufs  ] socket %u: %llu datagrams, ring ran dry %llu times\n", tag,
                static_cast<unsigned long long>(counters->datagrams),
                static_cast<unsigned long long>(counters->buffer_exhausted));
  }
}

// Sockets beyond the registered-file table use their plain fd.
TEST_P(UringLoopTest, ManySocketsBeyondTheFixedFileTable) {
  constexpr uint32_t kSockets = 300;
  RecordingHandler handler;
  auto loop = MakeLoop(handler, {.batch_size = 8, .max_datagram_size = 512});
  ASSERT_NE(loop, nullptr);
  std::vector<UniqueFd> sockets;
  UniqueFd tx = UdpSocket({.pktinfo = false});
  for (uint32_t i = 0; i < kSockets; ++i) {
    sockets.push_back(UdpSocket({}));
    ASSERT_GE(sockets.back().get(), 0) << strerror(errno);
    ASSERT_TRUE(loop->AddSocket(sockets.back().get(), 1000 + i).ok());
  }
  for (uint32_t i = 0; i < kSockets; ++i) ASSERT_TRUE(SendTo(tx.get(), LocalAddress(sockets[i].get()), "hi"));
  handler.stop_at = kSockets;
  ASSERT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());
  ASSERT_EQ(handler.received.size(), kSockets);
  for (uint32_t i = 0; i < kSockets; ++i) EXPECT_EQ(handler.per_tag[1000 + i], 1u) << i;
  // Removal frees slots for reuse, on either kind of file.
  for (uint32_t i = 0; i < kSockets; i += 2) ASSERT_TRUE(loop->RemoveSocket(1000 + i).ok());
  for (uint32_t i = 0; i < kSockets; i += 2) ASSERT_TRUE(loop->AddSocket(sockets[i].get(), 5000 + i).ok());
  for (uint32_t i = 0; i < kSockets; ++i) ASSERT_TRUE(SendTo(tx.get(), LocalAddress(sockets[i].get()), "again"));
  handler.stop_at = 2 * kSockets;
  ASSERT_TRUE(loop->RunUntil(absl::Now() + kSafety).ok());
  ASSERT_EQ(handler.received.size(), 2 * kSockets);
  for (uint32_t i = 0; i < kSockets; i += 2) EXPECT_EQ(handler.per_tag[5000 + i], 1u) << i;
}

TEST_P(UringLoopTest, BufferRingSizeIsChecked) {
  RecordingHandler handler;
  EXPECT_EQ(CreateEventLoop(Backend::kUring, handler, {.uring_buffers_per_socket = 65536}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CreateEventLoop(Backend::kUring, handler, {.uring_buffers_per_socket = 3}).ok());
}

// ----------------------------------------------------------------- timers

TEST_P(EventLoopTest, TimersFireInDeadlineOrderAndCancelWorks) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  std::vector<std::string> fired;
  const absl::Time base = absl::Now();
  loop->AddTimer(base + absl::Milliseconds(30), [&] { fired.push_back("30"); });
  loop->AddTimer(base + absl::Milliseconds(10), [&] { fired.push_back("10a"); });
  const TimerId cancelled = loop->AddTimer(base + absl::Milliseconds(20), [&] { fired.push_back("20x"); });
  loop->AddTimer(base + absl::Milliseconds(10), [&] { fired.push_back("10b"); });  // tie: after 10a
  loop->AddTimer(absl::Milliseconds(20), [&] {
    fired.push_back("20");
    // Added by a timer, already due: fires on a later turn, not re-entrantly.
    loop->AddTimer(absl::Time(), [&] { fired.push_back("past"); });
  });
  loop->AddTimer(base - absl::Seconds(1), [&] { fired.push_back("overdue"); });
  EXPECT_TRUE(loop->CancelTimer(cancelled));
  EXPECT_FALSE(loop->CancelTimer(cancelled));
  EXPECT_FALSE(loop->CancelTimer(kNoTimer));
  ASSERT_TRUE(loop->RunUntil(base + absl::Milliseconds(80)).ok());
  EXPECT_EQ(fired, (std::vector<std::string>{"overdue", "10a", "10b", "20", "past", "30"}));
  EXPECT_GE(absl::Now() - base, absl::Milliseconds(80));
}

TEST_P(EventLoopTest, TimersDoNotFireEarly) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  std::vector<absl::Duration> lateness;
  const absl::Time base = absl::Now();
  for (int ms : {1, 3, 7, 15, 25}) {
    const absl::Time due = base + absl::Milliseconds(ms);
    loop->AddTimer(due, [&lateness, due] { lateness.push_back(absl::Now() - due); });
  }
  ASSERT_TRUE(loop->RunUntil(base + absl::Milliseconds(60)).ok());
  ASSERT_EQ(lateness.size(), 5u);
  for (absl::Duration late : lateness) {
    EXPECT_GE(late, absl::ZeroDuration());
    EXPECT_LT(late, absl::Milliseconds(30)) << "timer very late on a loaded machine?";
  }
}

TEST_P(EventLoopTest, CancelFromAnotherTimerAndManyCancelsStayBounded) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  bool victim_fired = false;
  const TimerId victim = loop->AddTimer(absl::Milliseconds(20), [&] { victim_fired = true; });
  loop->AddTimer(absl::Milliseconds(5), [&] { EXPECT_TRUE(loop->CancelTimer(victim)); });
  // Cancel-and-re-add churn (a Probe schedule being reset).
  int survivors = 0;
  TimerId churn = kNoTimer;
  for (int i = 0; i < 10'000; ++i) {
    if (churn != kNoTimer) loop->CancelTimer(churn);
    churn = loop->AddTimer(absl::Milliseconds(10), [&] { ++survivors; });
  }
  ASSERT_TRUE(loop->RunUntil(absl::Now() + absl::Milliseconds(40)).ok());
  EXPECT_FALSE(victim_fired);
  EXPECT_EQ(survivors, 1);
}

TEST_P(EventLoopTest, RunUntilReturnsAtTheDeadline) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(loop->RunUntil(start + absl::Milliseconds(50)).ok());
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_GE(elapsed, absl::Milliseconds(50));
  EXPECT_LT(elapsed, absl::Milliseconds(250));
  // A deadline in the past returns at once.
  const absl::Time again = absl::Now();
  ASSERT_TRUE(loop->RunUntil(again - absl::Seconds(1)).ok());
  EXPECT_LT(absl::Now() - again, absl::Milliseconds(50));
}

TEST_P(EventLoopTest, StopFromTimerFromAnotherThreadAndBeforeRun) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  absl::Time start = absl::Now();
  loop->AddTimer(absl::Milliseconds(10), [&] { loop->Stop(); });
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));

  start = absl::Now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    loop->Stop();
  });
  ASSERT_TRUE(loop->Run().ok());  // nothing registered: only Stop can end it
  stopper.join();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(25));

  loop->Stop();
  start = absl::Now();
  ASSERT_TRUE(loop->Run().ok());  // the pending Stop is consumed at once
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(50));
  // ...and only once.
  ASSERT_TRUE(loop->RunUntil(absl::Now() + absl::Milliseconds(20)).ok());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(20));
}

TEST_P(EventLoopTest, RunInsideACallbackIsRejected) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  absl::Status nested = absl::OkStatus();
  loop->AddTimer(absl::Milliseconds(1), [&] { nested = loop->Run(); });
  ASSERT_TRUE(loop->RunUntil(absl::Now() + absl::Milliseconds(20)).ok());
  EXPECT_EQ(nested.code(), absl::StatusCode::kFailedPrecondition);
}

std::atomic<int> g_signals{0};
void CountSignal(int) { g_signals.fetch_add(1, std::memory_order_relaxed); }

TEST_P(EventLoopTest, SignalsInterruptingTheWaitAreRetried) {
  RecordingHandler handler;
  auto loop = MakeLoop(handler);
  ASSERT_NE(loop, nullptr);
  struct sigaction action{};
  struct sigaction previous{};
  action.sa_handler = CountSignal;  // no SA_RESTART: epoll_wait sees EINTR
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(sigaction(SIGALRM, &action, &previous), 0);
  itimerval every_ms{{0, 1000}, {0, 1000}};
  ASSERT_EQ(setitimer(ITIMER_REAL, &every_ms, nullptr), 0);
  bool fired = false;
  const absl::Time start = absl::Now();
  loop->AddTimer(absl::Milliseconds(30), [&] { fired = true; });
  const absl::Status status = loop->RunUntil(start + absl::Milliseconds(60));
  const absl::Duration elapsed = absl::Now() - start;
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &previous, nullptr);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(fired);
  EXPECT_GE(elapsed, absl::Milliseconds(60));
  EXPECT_GT(g_signals.load(), 5);
}

// ---------------------------------------------------------------- factory

// SocketAddress itself is net::SocketAddress: tests/net/address_test.cc.

TEST(EventLoopFactoryTest, AutoPrefersUringAndSaysWhichItChose) {
  RecordingHandler handler;
  absl::StatusOr<std::unique_ptr<EventLoop>> automatic = CreateEventLoop(Backend::kAuto, handler);
  ASSERT_TRUE(automatic.ok()) << automatic.status();
  const bool uring = UringUnavailable().empty();
  EXPECT_EQ((*automatic)->backend(), uring ? Backend::kUring : Backend::kEpoll);
  absl::StatusOr<std::unique_ptr<EventLoop>> forced = CreateEventLoop(Backend::kUring, handler);
  if (uring) {
    ASSERT_TRUE(forced.ok()) << forced.status();
    EXPECT_EQ((*forced)->backend(), Backend::kUring);
  } else {
    EXPECT_EQ(forced.status().code(), absl::StatusCode::kFailedPrecondition) << forced.status();
  }
  EXPECT_EQ(BackendName(Backend::kEpoll), "epoll");
  EXPECT_EQ(BackendName(Backend::kUring), "uring");
}

TEST_P(EventLoopTest, OptionsOutOfRangeAreRejected) {
  RecordingHandler handler;
  EXPECT_EQ(CreateEventLoop(GetParam(), handler, {.batch_size = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateEventLoop(GetParam(), handler, {.batch_size = 4096}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateEventLoop(GetParam(), handler, {.max_datagram_size = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateEventLoop(GetParam(), handler, {.max_batches_per_turn = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // kAuto does not hide bad options behind the epoll fallback.
  EXPECT_EQ(CreateEventLoop(Backend::kAuto, handler, {.batch_size = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace onvif::io
