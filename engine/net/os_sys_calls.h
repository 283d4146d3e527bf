// The thin syscall layer of engine/net (the Envoy os_sys_calls pattern).
//
// Every socket setup call in engine/net goes through OsSysCalls so tests can
// substitute a fake that forces EADDRINUSE, ENOBUFS, EPERM... without root
// and without touching a network (tests/net/fake_os_sys_calls.h). Results
// carry errno by value: nothing here reads the global errno after the call.
// No allocation, no Status: the per-datagram path may use it too.

#ifndef ONVIF_ENGINE_NET_OS_SYS_CALLS_H_
#define ONVIF_ENGINE_NET_OS_SYS_CALLS_H_

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>

namespace onvif::net {

struct SysCallResult {
  long rc = 0;  // the syscall's return value (-1 on failure)
  int err = 0;  // errno when rc == -1, else 0
  bool ok() const { return rc != -1; }
};

class OsSysCalls {
 public:
  virtual ~OsSysCalls() = default;

  virtual SysCallResult Socket(int domain, int type, int protocol) = 0;
  virtual SysCallResult Bind(int fd, const sockaddr* addr, socklen_t len) = 0;
  virtual SysCallResult SetSockOpt(int fd, int level, int name, const void* value,
                                   socklen_t len) = 0;
  virtual SysCallResult GetSockOpt(int fd, int level, int name, void* value, socklen_t* len) = 0;
  virtual SysCallResult GetSockName(int fd, sockaddr* addr, socklen_t* len) = 0;
  virtual SysCallResult SendTo(int fd, const void* buf, size_t len, int flags,
                               const sockaddr* addr, socklen_t addr_len) = 0;
  virtual SysCallResult RecvMsg(int fd, msghdr* msg, int flags) = 0;
};

// The real syscalls.
class OsSysCallsImpl final : public OsSysCalls {
 public:
  SysCallResult Socket(int domain, int type, int protocol) override;
  SysCallResult Bind(int fd, const sockaddr* addr, socklen_t len) override;
  SysCallResult SetSockOpt(int fd, int level, int name, const void* value,
                           socklen_t len) override;
  SysCallResult GetSockOpt(int fd, int level, int name, void* value, socklen_t* len) override;
  SysCallResult GetSockName(int fd, sockaddr* addr, socklen_t* len) override;
  SysCallResult SendTo(int fd, const void* buf, size_t len, int flags, const sockaddr* addr,
                       socklen_t addr_len) override;
  SysCallResult RecvMsg(int fd, msghdr* msg, int flags) override;
};

// A process-wide OsSysCallsImpl (stateless, thread-safe).
OsSysCalls& RealSysCalls();

// "IP_ADD_MEMBERSHIP", "SO_RCVBUFFORCE", ... for error messages;
// "setsockopt" for options it does not know.
const char* SockOptName(int level, int name);

}  // namespace onvif::net

#endif  // ONVIF_ENGINE_NET_OS_SYS_CALLS_H_
