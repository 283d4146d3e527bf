// Test helpers for engine/io: a private network namespace, UDP sockets on lo.
//
// Safety. Every test that sends traffic first calls EnterPrivateNetnsOnce(),
// which moves this process's test thread (a ctest process of its own) into a
// new, empty network namespace with only `lo`, through the tests' one netns
// helper, lab::EnterPrivateNetns (tests/lab/lab.h), which verifies that it
// did: the host's interfaces are never used, nothing on the host is changed,
// and the namespace disappears with the process. When that is impossible (not
// root, no use of CLONE_NEWNET), it returns a reason and the test skips.

#ifndef ONVIF_TESTS_IO_IO_TEST_UTIL_H_
#define ONVIF_TESTS_IO_IO_TEST_UTIL_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/base/unique_fd.h"
#include "engine/io/event_loop.h"
#include "engine/net/address.h"
#include "tests/lab/lab.h"

namespace onvif::io::testing {

using base::UniqueFd;
using net::SocketAddress;

// Returns "" once this thread is inside its own network namespace with lo up
// and no other interface; otherwise why not (the caller skips). Entered once
// per process: later calls return the first answer.
inline const std::string& EnterPrivateNetnsOnce() {
  static const std::string reason = []() -> std::string {
    if (!lab::IsRoot()) return "needs root for unshare(CLONE_NEWNET); run the io tests as root";
    const absl::Status entered = lab::EnterPrivateNetns();
    return entered.ok() ? std::string() : entered.ToString();
  }();
  return reason;
}

// "127.0.0.1", "::1" with a port (0 by default); `ip` must parse.
inline SocketAddress Address(const char* ip, uint16_t port = 0) {
  return SocketAddress(*net::IpAddress::Parse(ip), port);
}

inline SocketAddress LocalAddress(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  return SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
}

struct SocketSpec {
  int family = AF_INET;
  const char* address = "127.0.0.1";
  bool pktinfo = true;
  int rcvbuf = 0;         // 0: default; else SO_RCVBUFFORCE (root), SO_RCVBUF fallback
  bool tiny_rcvbuf = false;  // SO_RCVBUF exactly (the kernel doubles it)
};

// A bound UDP socket on an ephemeral port; -1 (with errno) on failure.
inline UniqueFd UdpSocket(const SocketSpec& spec) {
  UniqueFd fd(socket(spec.family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return fd;
  const int one = 1;
  if (spec.family == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (spec.pktinfo) {
    if (spec.family == AF_INET) {
      setsockopt(fd.get(), IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
    } else {
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    }
  }
  if (spec.tiny_rcvbuf) {
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &spec.rcvbuf, sizeof(spec.rcvbuf));
  } else if (spec.rcvbuf > 0 &&
             setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &spec.rcvbuf, sizeof(spec.rcvbuf)) != 0) {
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &spec.rcvbuf, sizeof(spec.rcvbuf));
  }
  sockaddr_storage storage;
  const socklen_t length = Address(spec.address).ToSockaddr(storage);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&storage), length) != 0) return UniqueFd();
  return fd;
}

inline bool SendTo(int fd, const SocketAddress& to, std::string_view payload) {
  sockaddr_storage storage;
  const socklen_t length = to.ToSockaddr(storage);
  return sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&storage), length) ==
         static_cast<ssize_t>(payload.size());
}

// Sends `count` datagrams of `size` bytes (>= 4) with sendmmsg; datagram i
// starts with i (native order). Returns how many the kernel accepted.
inline size_t SendNumbered(int fd, const SocketAddress& to, size_t count, size_t size, size_t first = 0) {
  sockaddr_storage storage;
  const socklen_t length = to.ToSockaddr(storage);
  constexpr size_t kChunk = 64;
  std::vector<std::string> payloads(kChunk, std::string(size, 'x'));
  std::vector<iovec> iovecs(kChunk);
  std::vector<mmsghdr> headers(kChunk);
  size_t sent = 0;
  while (sent < count) {
    const size_t n = std::min(kChunk, count - sent);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t number = static_cast<uint32_t>(first + sent + i);
      std::memcpy(payloads[i].data(), &number, sizeof(number));
      iovecs[i] = {payloads[i].data(), size};
      headers[i] = mmsghdr{};
      headers[i].msg_hdr.msg_name = &storage;
      headers[i].msg_hdr.msg_namelen = length;
      headers[i].msg_hdr.msg_iov = &iovecs[i];
      headers[i].msg_hdr.msg_iovlen = 1;
    }
    const int accepted = sendmmsg(fd, headers.data(), static_cast<unsigned>(n), 0);
    if (accepted <= 0) break;
    sent += static_cast<size_t>(accepted);
  }
  return sent;
}

inline uint32_t NumberOf(std::span<const char> payload) {
  uint32_t number = UINT32_MAX;
  if (payload.size() >= sizeof(number)) std::memcpy(&number, payload.data(), sizeof(number));
  return number;
}

}  // namespace onvif::io::testing

#endif  // ONVIF_TESTS_IO_IO_TEST_UTIL_H_
