// FakeOsSysCalls: an OsSysCalls that touches no network, for tests that
// force syscall failures (EADDRINUSE, ENOBUFS, EPERM...) without root.
//
// Socket() hands out a real eventfd so UniqueFd has something to close; every
// other call is recorded and answered from the fake's state: setsockopt
// succeeds unless a failure was armed for that option, getsockopt(SO_RCVBUF)
// reads back what the kernel would (twice the request; SO_RCVBUF capped at
// rmem_max, SO_RCVBUFFORCE not), getsockname returns the bound address with
// kEphemeralPort for port 0.

#ifndef ONVIF_TESTS_NET_FAKE_OS_SYS_CALLS_H_
#define ONVIF_TESTS_NET_FAKE_OS_SYS_CALLS_H_

#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/net/address.h"
#include "engine/net/os_sys_calls.h"

namespace onvif::net {

class FakeOsSysCalls : public OsSysCalls {
 public:
  static constexpr std::uint16_t kEphemeralPort = 40000;

  struct Call {
    std::string op;  // "socket", "bind", "setsockopt", "getsockopt", "getsockname"
    int level = 0;   // socket: domain; setsockopt/getsockopt: level
    int name = 0;    // socket: type; setsockopt/getsockopt: option name
    std::vector<unsigned char> value;  // setsockopt's value bytes
  };

  // Arms a failure: every later call of that kind fails with err.
  void FailSocket(int err) { socket_err_ = err; }
  void FailBind(int err) { bind_err_ = err; }
  void FailSetSockOpt(int level, int name, int err) { sockopt_err_[{level, name}] = err; }
  void set_rmem_max(int bytes) { rmem_max_ = bytes; }

  const std::vector<Call>& calls() const { return calls_; }

  // Index of the first setsockopt(level, name) in calls(), or -1.
  int IndexOf(int level, int name) const {
    for (size_t i = 0; i < calls_.size(); ++i) {
      if (calls_[i].op == "setsockopt" && calls_[i].level == level && calls_[i].name == name) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }
  bool WasSet(int level, int name) const { return IndexOf(level, name) >= 0; }

  // The value of the last setsockopt(level, name), reinterpreted as T.
  template <typename T>
  T ValueOf(int level, int name) const {
    T out{};
    for (auto it = calls_.rbegin(); it != calls_.rend(); ++it) {
      if (it->op == "setsockopt" && it->level == level && it->name == name) {
        std::memcpy(&out, it->value.data(), std::min(sizeof(T), it->value.size()));
        break;
      }
    }
    return out;
  }

  const SocketAddress& bound() const { return bound_; }

  SysCallResult Socket(int domain, int type, int /*protocol*/) override {
    calls_.push_back({"socket", domain, type, {}});
    if (socket_err_ != 0) return {-1, socket_err_};
    return {eventfd(0, EFD_CLOEXEC), 0};
  }

  SysCallResult Bind(int /*fd*/, const sockaddr* addr, socklen_t len) override {
    calls_.push_back({"bind", 0, 0, {}});
    if (bind_err_ != 0) return {-1, bind_err_};
    if (const SocketAddress a = SocketAddress::FromSockaddr(addr, len); !a.empty()) {
      bound_ = a.port() != 0 ? a : SocketAddress(a.ip(), kEphemeralPort);
    }
    return {0, 0};
  }

  SysCallResult SetSockOpt(int /*fd*/, int level, int name, const void* value,
                           socklen_t len) override {
    const auto* bytes = static_cast<const unsigned char*>(value);
    calls_.push_back({"setsockopt", level, name,
                      bytes == nullptr ? std::vector<unsigned char>()
                                       : std::vector<unsigned char>(bytes, bytes + len)});
    if (auto it = sockopt_err_.find({level, name}); it != sockopt_err_.end()) {
      return {-1, it->second};
    }
    if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_RCVBUFFORCE)) {
      int requested = 0;
      std::memcpy(&requested, value, sizeof(requested));
      if (name == SO_RCVBUF) requested = std::min(requested, rmem_max_);
      rcvbuf_ = 2 * requested;  // the kernel doubles it for bookkeeping (socket(7))
    }
    return {0, 0};
  }

  SysCallResult GetSockOpt(int /*fd*/, int level, int name, void* value,
                           socklen_t* len) override {
    calls_.push_back({"getsockopt", level, name, {}});
    if (level == SOL_SOCKET && name == SO_RCVBUF && *len >= sizeof(int)) {
      std::memcpy(value, &rcvbuf_, sizeof(int));
      *len = sizeof(int);
      return {0, 0};
    }
    return {-1, ENOPROTOOPT};
  }

  SysCallResult GetSockName(int /*fd*/, sockaddr* addr, socklen_t* len) override {
    calls_.push_back({"getsockname", 0, 0, {}});
    sockaddr_storage storage;
    const socklen_t length = bound_.ToSockaddr(storage);
    std::memcpy(addr, &storage, std::min(*len, length));
    *len = length;
    return {0, 0};
  }

  SysCallResult SendTo(int, const void*, size_t, int, const sockaddr*, socklen_t) override {
    return {-1, ENOSYS};
  }
  SysCallResult RecvMsg(int, msghdr*, int) override { return {-1, EAGAIN}; }

 private:
  std::vector<Call> calls_;
  int socket_err_ = 0;
  int bind_err_ = 0;
  std::map<std::pair<int, int>, int> sockopt_err_;
  int rmem_max_ = 4 << 20;  // LAB.md: net.core.rmem_max here
  int rcvbuf_ = 212992;     // LAB.md: rmem_default
  SocketAddress bound_;
};

}  // namespace onvif::net

#endif  // ONVIF_TESTS_NET_FAKE_OS_SYS_CALLS_H_
