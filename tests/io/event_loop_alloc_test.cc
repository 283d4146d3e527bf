// The per-datagram path must not allocate: this executable replaces the
// global allocation functions with counting ones and drains a queued burst
// from several sockets through Run().

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "absl/time/clock.h"
#include "engine/io/event_loop.h"
#include "tests/io/io_test_util.h"
#include "tests/support/alloc_counter.h"


namespace onvif::io {
namespace {

using testing::EnterPrivateNetnsOnce;
using testing::LocalAddress;
using testing::SendNumbered;
using testing::UdpSocket;
using base::UniqueFd;

// Counts only; allocates nothing itself.
class CountingHandler : public DatagramHandler {
 public:
  void OnDatagrams(EventLoop& loop, std::span<const Datagram> batch) override {
    for (const Datagram& d : batch) {
      bytes += d.payload.size();
      ifindex_sum += d.arrival_ifindex;
    }
    count += batch.size();
    if (count >= stop_at) loop.Stop();
  }
  size_t count = 0;
  size_t bytes = 0;
  size_t ifindex_sum = 0;
  size_t stop_at = 0;
};

class EventLoopAllocTest : public ::testing::TestWithParam<Backend> {};

INSTANTIATE_TEST_SUITE_P(Backends, EventLoopAllocTest, ::testing::Values(Backend::kEpoll, Backend::kUring),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return std::string(BackendName(info.param));
                         });

TEST_P(EventLoopAllocTest, DrainingDatagramsAllocatesNothing) {
  if (const std::string& why = EnterPrivateNetnsOnce(); !why.empty()) GTEST_SKIP() << why;
  constexpr size_t kPerSocket = 3000;
  CountingHandler handler;
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = CreateEventLoop(GetParam(), handler);
  if (GetParam() == Backend::kUring && absl::IsFailedPrecondition(loop.status())) GTEST_SKIP() << loop.status();
  ASSERT_TRUE(loop.ok()) << loop.status();
  UniqueFd rx_a = UdpSocket({.rcvbuf = 16 << 20});
  UniqueFd rx_b = UdpSocket({.rcvbuf = 16 << 20});
  UniqueFd tx = UdpSocket({.pktinfo = false});
  ASSERT_TRUE((*loop)->AddSocket(rx_a.get(), 1).ok());
  ASSERT_TRUE((*loop)->AddSocket(rx_b.get(), 2).ok());
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx_a.get()), kPerSocket, 1200), kPerSocket);
  ASSERT_EQ(SendNumbered(tx.get(), LocalAddress(rx_b.get()), kPerSocket, 1200), kPerSocket);
  handler.stop_at = 2 * kPerSocket;

  const long before = onvif::testing::AllocationCount();
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status = (*loop)->Run();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long during = onvif::testing::AllocationCount() - before;
  std::printf("[ drain    ] %zu queued datagrams of 1200 B on 2 sockets: %.2f ms, %.0f datagrams/s\n",
              handler.count, seconds * 1e3, handler.count / seconds);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(handler.count, 2 * kPerSocket);
  EXPECT_EQ(handler.bytes, 2 * kPerSocket * 1200);
  EXPECT_GT(handler.ifindex_sum, 0u);
  EXPECT_EQ(during, 0) << "allocations while draining " << handler.count << " datagrams";
}

}  // namespace
}  // namespace onvif::io
