// The event loop: received datagrams in batches, and one-shot timers.
//
// Design note
// -----------
// Completion-shaped. The loop does the receiving itself and hands out
// batches of finished datagrams (tag, peer, arrival interface, payload view);
// callers never see "fd is readable". Envoy's io_uring socket showed that a
// completion backend behind a readiness-shaped interface costs a copy per
// datagram. Here epoll imitates completions cheaply (recvmmsg into buffers the
// loop owns) and io_uring is natural (multishot recvmsg into a provided-buffer
// ring owned by the loop; the CQE already names the buffer, which becomes the
// payload view). Sending stays outside the loop: callers sendto / sendmmsg on
// their own sockets.
//
// Payload lifetime. Datagram::payload (and the Datagram objects themselves)
// point into buffers owned by the loop. They are valid only until
// OnDatagrams returns: the next receive reuses the buffers (and a uring
// backend recycles them to the kernel). Copy out what must outlive the
// callback (the sweep copies only new or updated devices).
//
// Allocation. Create allocates the receive buffers once (batch_size x
// max_datagram_size bytes, plus address and control slots). Receiving,
// building Datagrams and calling the handler allocate nothing, build no
// strings and no Status; failures on that path are counters. Setup calls
// (Create, AddSocket, AddTimer) may allocate and return absl::Status.
//
// Threading. One loop per worker thread. A loop is not thread-safe: every
// method must be called on the thread that runs it (or, before Run, the
// thread that owns it), except Stop(), which any thread may call at any
// time. Handlers and timer callbacks run on the loop's thread, inside Run /
// RunUntil, and may call any method of the loop (AddSocket, RemoveSocket,
// AddTimer, CancelTimer, Stop) but not Run / RunUntil (that is an error).
//
// Sockets. The loop does not own file descriptors: AddSocket registers a
// caller-owned UDP socket under a caller-chosen tag; RemoveSocket(tag) must
// come before the caller closes the fd. The socket should have IP_PKTINFO
// (IPv4) or IPV6_RECVPKTINFO (IPv6) enabled for arrival_ifindex and
// destination to be filled in (engine/net does that); AddSocket itself
// enables SO_RXQ_OVFL so kernel drops can be counted.
//
// Vocabulary. Addresses are net::SocketAddress (engine/net/address.h: the
// compact 24-byte value, no sockaddr_storage per datagram) and control
// messages are parsed by net::ParseReceiveInfo (engine/net/receive_info.h),
// the engine's one parser of IP_PKTINFO / IPV6_PKTINFO / SO_RXQ_OVFL. That is
// all engine/io takes from engine/net (CMake target onvif_net_address);
// engine/net knows nothing of engine/io.

#ifndef ONVIF_ENGINE_IO_EVENT_LOOP_H_
#define ONVIF_ENGINE_IO_EVENT_LOOP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/net/address.h"

namespace onvif::io {

// One received datagram, as handed to DatagramHandler::OnDatagrams. The
// whole object, including payload, is valid only during that call.
struct Datagram {
  uint32_t socket_tag = 0;       // the tag given to AddSocket
  uint32_t arrival_ifindex = 0;  // IP_PKTINFO / IPV6_PKTINFO; 0 when absent
  net::SocketAddress peer;         // source address and port
  net::SocketAddress destination;  // header destination (PKTINFO), port 0; empty() without PKTINFO
  std::span<const char> payload;  // at most max_datagram_size bytes
  // MSG_TRUNC: the datagram was longer than max_datagram_size; payload holds
  // its first max_datagram_size bytes.
  bool truncated = false;

  std::string_view text() const { return {payload.data(), payload.size()}; }
};

class EventLoop;

// Receives every datagram of a loop. The contract allows batches that mix
// sockets; both backends happen to hand out one socket's datagrams per batch
// (epoll: one recvmmsg; uring: the completions reaped for that socket's
// buffer ring). A batch is never empty and holds at most
// EventLoopOptions::batch_size datagrams, in arrival order per socket.
class DatagramHandler {
 public:
  virtual ~DatagramHandler() = default;
  virtual void OnDatagrams(EventLoop& loop, std::span<const Datagram> batch) = 0;
};

enum class Backend {
  // io_uring when this kernel runs the uring backend (probed at run time by
  // building one), else epoll. EventLoop::backend() says which was chosen.
  kAuto,
  kEpoll,  // epoll (level-triggered) + recvmmsg batches
  kUring,  // io_uring: multishot recvmsg into provided-buffer rings (Linux >= 6.0)
};
std::string_view BackendName(Backend backend);  // "auto", "epoll", "uring"

struct EventLoopOptions {
  // Datagrams per receive call (recvmmsg vlen) and at most per batch.
  size_t batch_size = 64;
  // Bytes per receive slot; a longer datagram is cut and flagged truncated.
  // The default holds any UDP payload (65,507 for IPv4, 65,527 for IPv6).
  size_t max_datagram_size = 65536;
  // Receive calls per socket per loop turn. Bounds how long one flooded
  // socket can keep the others (and due timers) waiting.
  size_t max_batches_per_turn = 8;
  // io_uring only: receive buffers per socket (each max_datagram_size plus
  // room for address and control messages); 0 means batch_size. The kernel
  // fills them ahead of the handler; when all are taken the multishot
  // receive ends with ENOBUFS (counted in buffer_exhausted) and is re-armed
  // once the handler has returned them: nothing is lost, the rest waits in the
  // socket's queue. More than batch_size lets the kernel receive while the
  // handler runs, but what it received ahead is discarded by RemoveSocket.
  size_t uring_buffers_per_socket = 0;
};

// Per-socket counters since AddSocket.
struct SocketCounters {
  uint64_t datagrams = 0;       // handed to the handler
  uint64_t batches = 0;         // receive calls that returned datagrams
  uint64_t bytes = 0;           // payload bytes handed out (after truncation)
  uint64_t truncated = 0;       // MSG_TRUNC
  uint64_t kernel_drops = 0;    // receive-queue overflows (SO_RXQ_OVFL)
  uint64_t receive_errors = 0;  // receive calls that failed (not EAGAIN/EINTR)
  int last_error = 0;           // errno of the last failed receive call
  // io_uring only (0 with epoll): times the socket's receive buffers were all
  // in use, so the kernel paused receiving (ENOBUFS); flow control, not loss.
  uint64_t buffer_exhausted = 0;
};

// One-shot timer handle; 0 (kNoTimer) is never handed out.
using TimerId = uint64_t;
inline constexpr TimerId kNoTimer = 0;

class EventLoop {
 public:
  virtual ~EventLoop() = default;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  virtual Backend backend() const = 0;

  // Registers a UDP socket (caller-owned fd, blocking or not: the loop always
  // receives with MSG_DONTWAIT). Errors: AlreadyExists for a tag in use;
  // the errno of enabling SO_RXQ_OVFL or of registering the fd.
  virtual absl::Status AddSocket(int fd, uint32_t tag) = 0;
  // Unregisters; no datagram of that socket is delivered afterwards, not even
  // later in the current batch loop. Returns its final counters; NotFound for
  // an unknown tag. Call before closing the fd.
  virtual absl::StatusOr<SocketCounters> RemoveSocket(uint32_t tag) = 0;
  // Current counters; refreshes kernel_drops from the socket (SO_MEMINFO),
  // because SO_RXQ_OVFL only reports drops that happened before a datagram
  // that was queued. One syscall: call it for stats, not per datagram.
  virtual absl::StatusOr<SocketCounters> GetCounters(uint32_t tag) = 0;

  // One-shot timer at `when` or after `delay`. Deadlines live on the
  // monotonic clock: `when` is mapped with a wall-to-monotonic offset the loop
  // takes at creation and at the start of each Run / RunUntil (so equal
  // absl::Times give equal deadlines, and a later wall-clock step moves no
  // pending timer); `delay` counts from now.
  // Timers fire in deadline order, ties in the order they were added; a
  // deadline already past fires on the next turn. A timer added by a timer
  // callback never fires in the same round as its creator.
  virtual TimerId AddTimer(absl::Time when, absl::AnyInvocable<void()> callback) = 0;
  virtual TimerId AddTimer(absl::Duration delay, absl::AnyInvocable<void()> callback) = 0;
  // True when the timer was pending and will now never fire.
  virtual bool CancelTimer(TimerId id) = 0;

  // Receives and fires timers until Stop(). Errors only when waiting itself
  // fails (EINTR is retried) or when called re-entrantly (FailedPrecondition).
  virtual absl::Status Run() = 0;
  // As Run, but also returns (OK) once `deadline` has passed.
  virtual absl::Status RunUntil(absl::Time deadline) = 0;
  // Makes the running Run / RunUntil return after the current callback;
  // if none is running, the next one returns at once. Thread-safe.
  virtual void Stop() = 0;

 protected:
  EventLoop() = default;
};

// Builds a loop of the given backend. kUring fails with FailedPrecondition
// naming the missing kernel feature (io_uring_queue_init's errno, or the
// Linux version multishot recvmsg / buffer rings need); kAuto then gives
// epoll. `handler` must outlive the loop.
absl::StatusOr<std::unique_ptr<EventLoop>> CreateEventLoop(Backend backend,
                                                           DatagramHandler& handler,
                                                           const EventLoopOptions& options = {});

}  // namespace onvif::io

#endif  // ONVIF_ENGINE_IO_EVENT_LOOP_H_
