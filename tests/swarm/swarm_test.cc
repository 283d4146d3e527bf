// The Swarm engine in-process, on lo of a private network namespace
// (lab::RunInPrivateNetns: nothing touches the machine's interfaces). This
// executable counts global allocations (tests/support/alloc_counter.h) to
// hold the per-Probe path to its promise: once warmed up, answering a Probe
// with N replies allocates nothing. Needs root (unshare); skips otherwise.

#include "engine/swarm/swarm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/unique_fd.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/constants.h"
#include "gtest/gtest.h"
#include "tests/lab/lab.h"
#include "tests/support/alloc_counter.h"

namespace onvif::swarm {
namespace {

// Receives until `want` datagrams arrived or 300 ms pass without one, into a
// buffer allocated up front; counts those that name `relates_to`. Allocates
// nothing.
std::size_t Receive(int fd, std::size_t want, std::string_view relates_to, std::vector<char>& buffer,
                    std::size_t* related) {
  std::size_t n = 0;
  *related = 0;
  while (n < want) {
    pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, 300) <= 0) break;
    const ssize_t size = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (size <= 0) continue;
    ++n;
    if (std::string_view(buffer.data(), static_cast<std::size_t>(size)).find(relates_to) !=
        std::string_view::npos) {
      ++*related;
    }
  }
  return n;
}

TEST(SwarmTest, AnsweringAProbeAllocatesNothingOnceWarm) {
  if (!lab::IsRoot()) GTEST_SKIP() << "needs root: unshare(CLONE_NEWNET) for a private namespace";
  constexpr std::uint32_t kCameras = 2000;
  const absl::Status in_netns = lab::RunInPrivateNetns([&] {
    SwarmOptions options;
    options.cameras = kCameras;
    options.interfaces.include = {"lo"};
    options.rate_limit = 0;
    options.send_hello = false;
    absl::StatusOr<std::unique_ptr<Swarm>> swarm = Swarm::Create(options);
    ASSERT_TRUE(swarm.ok()) << swarm.status();
    absl::Status run_status;
    std::thread runner([&] { run_status = (*swarm)->Run(); });

    base::UniqueFd prober(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const int rcvbuf = 32 << 20;
    ::setsockopt(prober.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(prober.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)), 0);
    ::setsockopt(prober.get(), IPPROTO_IP, IP_MULTICAST_IF, &local.sin_addr, sizeof(local.sin_addr));
    sockaddr_in group{};
    group.sin_family = AF_INET;
    group.sin_port = htons(wsd::kPort);
    inet_pton(AF_INET, std::string(wsd::kMulticastV4).c_str(), &group.sin_addr);

    std::vector<std::string> ids;
    std::vector<std::string> probes;
    for (int i = 0; i < 4; ++i) {
      ids.push_back(wsd::NewMessageId());
      probes.push_back(wsd::BuildProbe(ids.back(), {}));
    }
    std::vector<char> buffer(65536);
    std::size_t related = 0;
    long allocations = 0;
    for (int i = 0; i < 4; ++i) {
      const long before = testing::AllocationCount();
      ASSERT_EQ(::sendto(prober.get(), probes[i].data(), probes[i].size(), 0,
                         reinterpret_cast<sockaddr*>(&group), sizeof(group)),
                static_cast<ssize_t>(probes[i].size()));
      EXPECT_EQ(Receive(prober.get(), kCameras, ids[i], buffer, &related), kCameras);
      EXPECT_EQ(related, kCameras);
      if (i > 0) allocations += testing::AllocationCount() - before;  // Probe 0 warms up
    }
    EXPECT_EQ(allocations, 0) << "allocations while answering 3 warm Probes";
    const long check = testing::AllocationCount();
    auto probe_counter = std::make_unique<std::string>(100, 'x');  // the counter counts
    EXPECT_GT(testing::AllocationCount(), check);

    (*swarm)->RequestStop();
    runner.join();
    EXPECT_TRUE(run_status.ok()) << run_status;
    const SwarmCounters counters = (*swarm)->counters();
    EXPECT_EQ(counters.probes, 4u);
    EXPECT_EQ(counters.replies_sent, 4u * kCameras);
    EXPECT_EQ(counters.byes, kCameras);
    EXPECT_EQ(counters.send_errors, 0u);
  });
  ASSERT_TRUE(in_netns.ok()) << in_netns;
}

}  // namespace
}  // namespace onvif::swarm
