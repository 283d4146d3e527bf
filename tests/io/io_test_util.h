// Test helpers for engine/io: a private network namespace, UDP sockets on lo.
//
// Safety. Every test that sends traffic first calls EnterPrivateNetns(),
// which moves this process (a ctest process of its own) into a new, empty
// network namespace with only `lo`, and verifies that it did: the host's
// interfaces are never used, nothing on the host is changed, and the
// namespace disappears with the process. When that is impossible (not root,
// no user of CLONE_NEWNET), it returns a reason and the test skips.

#ifndef ONVIF_TESTS_IO_IO_TEST_UTIL_H_
#define ONVIF_TESTS_IO_IO_TEST_UTIL_H_

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/io/event_loop.h"

namespace onvif::io::testing {

// Move-only fd owner (engine/base/unique_fd.h is someone else's work in
// progress; tests keep their own).
class TestFd {
 public:
  TestFd() = default;
  explicit TestFd(int fd) : fd_(fd) {}
  TestFd(TestFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  TestFd& operator=(TestFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~TestFd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

inline std::string NetnsId() {
  char target[PATH_MAX] = {};
  const ssize_t n = readlink("/proc/thread-self/ns/net", target, sizeof(target) - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
}

// Returns "" once this process is inside its own network namespace with lo
// up and no other interface; otherwise why not (the caller skips).
inline const std::string& EnterPrivateNetns() {
  static const std::string reason = []() -> std::string {
    if (geteuid() != 0) return "needs root for unshare(CLONE_NEWNET); run the io tests as root";
    const std::string before = NetnsId();
    if (unshare(CLONE_NEWNET) != 0) {
      return std::string("unshare(CLONE_NEWNET) failed: ") + std::strerror(errno) +
             " (a container without CAP_SYS_ADMIN?)";
    }
    const std::string after = NetnsId();
    if (before.empty() || after.empty() || before == after) {
      return "could not verify a private network namespace (" + before + " vs " + after + ")";
    }
    TestFd control(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (control.get() < 0 || ioctl(control.get(), SIOCGIFFLAGS, &request) != 0) {
      return std::string("SIOCGIFFLAGS lo in the private namespace: ") + std::strerror(errno);
    }
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (ioctl(control.get(), SIOCSIFFLAGS, &request) != 0) {
      return std::string("SIOCSIFFLAGS lo up in the private namespace: ") + std::strerror(errno);
    }
    // Belt and braces: only lo may exist here.
    if (struct if_nameindex* names = if_nameindex()) {
      std::string others;
      for (struct if_nameindex* i = names; i->if_index != 0; ++i) {
        if (std::string_view(i->if_name) != "lo") others += std::string(" ") + i->if_name;
      }
      if_freenameindex(names);
      if (!others.empty()) return "private namespace unexpectedly has interfaces:" + others;
    }
    return "";
  }();
  return reason;
}

inline SocketAddress Address(int family, const char* text, uint16_t port = 0) {
  SocketAddress address;
  address.family = static_cast<sa_family_t>(family);
  address.port = port;
  inet_pton(family, text, address.bytes.data());
  return address;
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
inline TestFd UdpSocket(const SocketSpec& spec) {
  TestFd fd(socket(spec.family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
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
  const socklen_t length = Address(spec.family, spec.address).ToSockaddr(storage);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&storage), length) != 0) return TestFd();
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
