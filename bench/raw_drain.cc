// The floor for the storm benchmark: what it costs to take a ProbeMatch storm
// off the sockets and do nothing with it. Opens the same probe sockets as
// onvif-sweep (engine/net OpenProbeSocket: same buffer, same options), sends
// one Probe per interface, then drains every socket with recvmmsg(64) batches
// from one epoll loop, only counting, until no datagram has arrived for
// --quiet or --timeout passed. Prints one JSON line:
//   {"datagrams":N,"cpu_ns":N,"ns_per_datagram":X,"elapsed_ms":N,"interfaces":N}
// cpu_ns is this process's user+sys time (getrusage) from just before the
// first send to the end, the same window the sweep reports as cpu_us.
//
//   raw_drain --iface n0 [--iface n1 ...] [--rcvbuf BYTES] [--quiet-ms 300] [--timeout-ms 10000]
//
// Run it inside a lab namespace (bench/storm_bench.sh does): it sends a
// multicast Probe on every interface it is given.

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/unique_fd.h"
#include "engine/net/address.h"
#include "engine/net/interfaces.h"
#include "engine/net/udp_socket.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/constants.h"

namespace onvif {
namespace {

constexpr int kBatch = 64;
constexpr std::size_t kSlot = 65536;  // one datagram; the sweep's scanner limit

std::int64_t CpuNs() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto ns = [](const timeval& t) { return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_usec * 1000; };
  return ns(usage.ru_utime) + ns(usage.ru_stime);
}

std::int64_t MonotonicMs() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return std::int64_t{t.tv_sec} * 1000 + t.tv_nsec / 1'000'000;
}

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "raw_drain: %s\nusage: raw_drain --iface NAME [--iface NAME ...] [--rcvbuf BYTES] "
               "[--quiet-ms N] [--timeout-ms N]\n",
               why.c_str());
  std::exit(2);
}

int Main(int argc, char** argv) {
  net::InterfaceFilter filter;
  int rcvbuf = 8 << 20;
  std::int64_t quiet_ms = 300;
  std::int64_t timeout_ms = 10'000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) Usage("missing value for " + std::string(arg));
    const char* value = argv[++i];
    if (arg == "--iface") {
      filter.include.emplace_back(value);
    } else if (arg == "--rcvbuf") {
      rcvbuf = std::atoi(value);
    } else if (arg == "--quiet-ms") {
      quiet_ms = std::atoll(value);
    } else if (arg == "--timeout-ms") {
      timeout_ms = std::atoll(value);
    } else {
      Usage("unknown argument " + std::string(arg));
    }
  }
  if (filter.include.empty()) Usage("name at least one --iface");
  if (rcvbuf < 0 || quiet_ms <= 0 || timeout_ms <= 0) Usage("bad --rcvbuf, --quiet-ms or --timeout-ms");

  absl::StatusOr<std::vector<net::Interface>> interfaces = net::ListInterfaces(filter);
  if (!interfaces.ok()) Usage(std::string(interfaces.status().message()));
  base::UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) Usage(std::string("epoll_create1: ") + std::strerror(errno));
  std::vector<net::BoundSocket> sockets;
  net::SocketOptions options;
  options.rcvbuf_bytes = rcvbuf;
  for (const net::Interface& iface : *interfaces) {
    absl::StatusOr<net::BoundSocket> socket = net::OpenProbeSocket(iface, net::Family::kIPv4, options);
    if (!socket.ok()) Usage(std::string(socket.status().message()));
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = static_cast<std::uint32_t>(sockets.size());
    if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, socket->fd.get(), &event) != 0) {
      Usage(std::string("epoll_ctl: ") + std::strerror(errno));
    }
    sockets.push_back(*std::move(socket));
  }

  std::vector<char> buffers(kBatch * kSlot);
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> messages{};
  for (int i = 0; i < kBatch; ++i) {
    iov[i] = {buffers.data() + i * kSlot, kSlot};
    messages[i].msg_hdr.msg_iov = &iov[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }

  const std::string probe = wsd::BuildProbe(
      wsd::NewMessageId(),
      wsd::ProbeSpec{.types = {wsd::QNameSpec{std::string(wsd::kNsOnvifNetwork),
                                              std::string(wsd::kTypeNetworkVideoTransmitter)}}});
  sockaddr_in group{};
  group.sin_family = AF_INET;
  group.sin_port = htons(net::kWsdPort);
  inet_pton(AF_INET, std::string(net::kWsdIpv4Group).c_str(), &group.sin_addr);

  const std::int64_t cpu_start = CpuNs();
  const std::int64_t start_ms = MonotonicMs();
  for (const net::BoundSocket& socket : sockets) {
    if (sendto(socket.fd.get(), probe.data(), probe.size(), 0, reinterpret_cast<const sockaddr*>(&group),
               sizeof(group)) < 0) {
      std::fprintf(stderr, "raw_drain: sendto on %s: %s\n", socket.interface_name.c_str(), std::strerror(errno));
      return 1;
    }
  }
  std::uint64_t datagrams = 0;
  std::int64_t last_ms = start_ms;
  std::array<epoll_event, 16> ready{};
  for (;;) {
    const std::int64_t now = MonotonicMs();
    const std::int64_t until_quiet = last_ms + quiet_ms - now;
    const std::int64_t until_timeout = start_ms + timeout_ms - now;
    // Before the first datagram, wait up to the timeout; after it, the quiet period.
    const std::int64_t wait = datagrams == 0 ? until_timeout : std::min(until_quiet, until_timeout);
    if (wait <= 0) break;
    const int n = epoll_wait(epoll.get(), ready.data(), static_cast<int>(ready.size()), static_cast<int>(wait));
    if (n < 0 && errno != EINTR) {
      std::fprintf(stderr, "raw_drain: epoll_wait: %s\n", std::strerror(errno));
      return 1;
    }
    for (int e = 0; e < n; ++e) {
      const int fd = sockets[ready[e].data.u32].fd.get();
      for (;;) {
        const int got = recvmmsg(fd, messages.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (got <= 0) break;
        datagrams += static_cast<std::uint64_t>(got);
        if (got < kBatch) break;
      }
    }
    if (n > 0) last_ms = MonotonicMs();
  }
  const std::int64_t cpu_ns = CpuNs() - cpu_start;
  std::printf(
      "{\"datagrams\":%llu,\"cpu_ns\":%lld,\"ns_per_datagram\":%.1f,\"elapsed_ms\":%lld,\"interfaces\":%zu}\n",
      static_cast<unsigned long long>(datagrams), static_cast<long long>(cpu_ns),
      datagrams == 0 ? 0.0 : static_cast<double>(cpu_ns) / static_cast<double>(datagrams),
      static_cast<long long>(MonotonicMs() - start_ms), sockets.size());
  return datagrams == 0 ? 1 : 0;
}

}  // namespace
}  // namespace onvif

int main(int argc, char** argv) { return onvif::Main(argc, argv); }
