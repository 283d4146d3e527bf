// EpollLoop: the EventLoop over epoll and recvmmsg.
//
// Design note
// -----------
// Level-triggered. Each turn serves every ready socket with at most
// max_batches_per_turn recvmmsg calls (fairness in a storm: a flooded socket
// cannot starve the others, nor due timers). With level triggering a socket
// left readable by that cap is simply reported again by the next epoll_wait;
// edge triggering would need a user-space "still readable" list to get the
// same guarantee, and it would save nothing during a storm (one epoll_wait per
// turn either way) while a missed re-arm would lose a socket for good.
//
// Receive path. One set of batch_size slots, each with its payload buffer
// (max_datagram_size), a sockaddr_storage for the kernel to write the source
// into and a control buffer of net::kControlBufferBytes, allocated in Create
// and reused by every socket (one loop = one thread = one receive at a time).
// Each datagram's source becomes a compact net::SocketAddress and its control
// messages are read by net::ParseReceiveInfo (engine/net/receive_info.h). recvmmsg
// with MSG_DONTWAIT; EINTR retries; EAGAIN ends the drain; a short batch
// (fewer than batch_size) also ends it, since the queue was empty at that
// moment and level triggering will report anything that arrived since.
// Nothing on this path allocates.
//
// Kernel drops. SO_RXQ_OVFL attaches the socket's cumulative drop counter
// (a wrapping u32, recorded when the datagram was queued) to datagrams queued
// after the first drop. The loop keeps the last value seen and adds the
// wrapped difference, so each drop is counted once; GetCounters and
// RemoveSocket also read the live value (SO_MEMINFO, SK_MEMINFO_DROPS),
// which covers drops after the last queued datagram.
//
// Timers. internal::TimerQueue (loop_support.h, shared with UringLoop): a
// binary min-heap of (monotonic deadline, id) with lazy cancellation; the
// next deadline (or RunUntil's) is epoll_pwait2's timeout (nanoseconds;
// epoll_wait with milliseconds rounded up where pwait2 is missing). Stop()
// writes an eventfd registered in the epoll set, so it wakes the loop from
// any thread.

#ifndef ONVIF_ENGINE_IO_EPOLL_LOOP_H_
#define ONVIF_ENGINE_IO_EPOLL_LOOP_H_

#include <sys/epoll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/base/unique_fd.h"
#include "engine/io/event_loop.h"
#include "engine/io/loop_support.h"

namespace onvif::io {

class EpollLoop final : public EventLoop {
 public:
  // Errors: InvalidArgument for options out of range (batch_size 1..1024,
  // max_datagram_size 1..1 MiB, max_batches_per_turn >= 1); the errno of
  // epoll_create1 / eventfd.
  static absl::StatusOr<std::unique_ptr<EpollLoop>> Create(DatagramHandler& handler,
                                                           const EventLoopOptions& options = {});
  ~EpollLoop() override;

  Backend backend() const override { return Backend::kEpoll; }
  absl::Status AddSocket(int fd, uint32_t tag) override;
  absl::StatusOr<SocketCounters> RemoveSocket(uint32_t tag) override;
  absl::StatusOr<SocketCounters> GetCounters(uint32_t tag) override;
  TimerId AddTimer(absl::Time when, absl::AnyInvocable<void()> callback) override;
  TimerId AddTimer(absl::Duration delay, absl::AnyInvocable<void()> callback) override;
  bool CancelTimer(TimerId id) override;
  absl::Status Run() override;
  absl::Status RunUntil(absl::Time deadline) override;
  void Stop() override;

 private:
  struct Socket {
    int fd = -1;
    uint32_t tag = 0;
    bool removed = false;
    uint32_t last_drop_count = 0;  // last cumulative sk_drops value seen
    SocketCounters counters;
  };
  EpollLoop(DatagramHandler& handler, const EventLoopOptions& options, base::UniqueFd epoll_fd,
            base::UniqueFd wake_fd);

  absl::Status RunInternal(bool has_deadline, int64_t deadline_ns);
  absl::Status Wait(int64_t timeout_ns, int& ready);
  void DrainSocket(Socket& socket);
  static void ApplyDropCount(Socket& socket, uint32_t drop_count);
  static void RefreshDrops(Socket& socket);

  DatagramHandler& handler_;
  const EventLoopOptions options_;
  const base::UniqueFd epoll_fd_;
  const base::UniqueFd wake_fd_;  // eventfd written by Stop()
  bool running_ = false;
  bool pwait2_missing_ = false;
  std::atomic<bool> stop_requested_{false};

  // Sockets by tag. Removed sockets move to graveyard_ until the end of the
  // turn, because epoll events already returned may still point at them.
  absl::flat_hash_map<uint32_t, std::unique_ptr<Socket>> sockets_;
  std::vector<std::unique_ptr<Socket>> graveyard_;

  // Receive state, allocated once in the constructor.
  std::unique_ptr<char[]> payload_area_;
  std::vector<sockaddr_storage> addresses_;
  std::unique_ptr<char[]> control_area_;
  std::vector<iovec> iovecs_;
  std::vector<mmsghdr> headers_;
  std::vector<Datagram> datagrams_;
  std::vector<epoll_event> events_;

  internal::TimerQueue timers_;
};

}  // namespace onvif::io

#endif  // ONVIF_ENGINE_IO_EPOLL_LOOP_H_
