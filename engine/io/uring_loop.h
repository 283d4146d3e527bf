// UringLoop: the EventLoop over io_uring (multishot recvmsg, provided-buffer
// rings, registered files, IORING_OP_TIMEOUT).
//
// Design note
// -----------
// Receive path. Each socket owns a provided-buffer ring (its buffer group id
// is the socket's slot) of uring_buffers_per_socket buffers (batch_size by
// default). A buffer holds what multishot recvmsg writes: struct
// io_uring_recvmsg_out, a sockaddr_storage-sized name area, a control area of
// net::kControlBufferBytes and max_datagram_size payload bytes, so truncation
// happens at exactly the size EpollLoop truncates at. One multishot recvmsg
// per socket (on its registered file where the fixed table has room) turns
// each datagram into a CQE naming the buffer; the CQE's bytes are read with
// io_uring_recvmsg_validate / _name / _payload and the control area goes to
// net::ParseReceiveInfo, the engine's one cmsg parser.
//
// Batches. Completions are reaped (copied into the socket's staging list)
// for all sockets at once; each socket's staged datagrams are then handed to
// the handler as one batch, sockets in turn, at most max_batches_per_turn
// batches per socket per turn. Buffers go back to the ring only after the
// handler returns, which makes the ring the flow control: with batch_size
// buffers the kernel can hold at most one undelivered batch per socket, and
// when they are all taken the multishot ends with -ENOBUFS (counted in
// buffer_exhausted; the datagrams stay in the socket's queue) and is re-armed
// after the recycle. Hence the same guarantees as EpollLoop: RemoveSocket or
// Stop from a handler lose nothing still queued. Before handing out a
// partial batch the loop lets the kernel run its pending task work (bounded
// io_uring_get_events), so a queued burst comes out in full batches.
//
// Re-arm. A CQE without IORING_CQE_F_MORE ends the request: -ENOBUFS,
// -ECANCELED (our cancel, or the arming thread exited) and receive errors
// such as ECONNREFUSED are re-armed; errors that would recur at once (EBADF,
// ENOTSOCK, EINVAL, EOPNOTSUPP, EFAULT) are counted and leave the socket
// idle rather than spin.
//
// Who submits. A request's task work runs on the thread that submitted it,
// so every receive, timeout and wake request is submitted inside Run /
// RunUntil (AddSocket only prepares the socket), on the loop's thread. A
// loop may still move between threads from one Run to the next (the sweep
// sets up on one thread and runs on a worker): a thread's exit cancels what
// it armed (-ECANCELED) and the next Run re-arms.
//
// Removal. RemoveSocket cancels the socket's request by user_data
// (IORING_ASYNC_CANCEL_ALL) and waits until its final CQE has been reaped,
// clears its registered-file slot and unregisters its buffer ring: after it
// returns the ring holds no reference to the socket, so closing the fd frees
// the port at once. Its buffers stay mapped until the end of the turn (the
// batch in hand may point into them).
//
// Timers. The same internal::TimerQueue as EpollLoop (same ordering and
// cancellation semantics); the ring carries one IORING_OP_TIMEOUT
// (IORING_TIMEOUT_ABS, CLOCK_MONOTONIC) at the earliest of the next timer and
// RunUntil's deadline, replaced (TIMEOUT_REMOVE + new) only when an earlier
// deadline appears; a late or stale expiry just ends a wait early.
// Stop() writes an eventfd that the ring reads (IORING_OP_READ), which wakes
// the loop from any thread.

#ifndef ONVIF_ENGINE_IO_URING_LOOP_H_
#define ONVIF_ENGINE_IO_URING_LOOP_H_

#include <liburing.h>
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/base/unique_fd.h"
#include "engine/io/event_loop.h"
#include "engine/io/loop_support.h"

namespace onvif::io {

class UringLoop final : public EventLoop {
 public:
  // Errors: InvalidArgument for options out of range (as EpollLoop, and
  // uring_buffers_per_socket <= 32768); FailedPrecondition when this kernel
  // cannot run the backend (io_uring_queue_init's errno, or no multishot
  // recvmsg: Linux < 6.0); the errno of eventfd.
  static absl::StatusOr<std::unique_ptr<UringLoop>> Create(DatagramHandler& handler,
                                                           const EventLoopOptions& options = {});
  ~UringLoop() override;

  Backend backend() const override { return Backend::kUring; }
  // Also: the errno of registering the buffer ring or the fixed file.
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
  // An anonymous private mapping (page-aligned, as buffer rings need).
  class Mapping {
   public:
    Mapping() = default;
    Mapping(Mapping&& other) noexcept;
    Mapping& operator=(Mapping&& other) noexcept;
    ~Mapping();
    static bool Allocate(size_t bytes, Mapping& out);
    char* data() const { return data_; }

   private:
    char* data_ = nullptr;
    size_t size_ = 0;
  };
  // A CQE that carried a datagram, kept until its batch is handed out.
  struct Staged {
    uint32_t buffer_id;
    int32_t length;  // bytes the kernel wrote into the buffer
  };
  struct Socket {
    int fd = -1;
    uint32_t tag = 0;
    uint32_t slot = 0;        // index in slots_, buffer group id, fixed-file index
    uint32_t generation = 0;  // tells this socket from earlier ones in the slot
    bool fixed_file = false;
    bool armed = false;        // a multishot recvmsg is in flight
    bool stopped = false;      // a persistent receive error: not re-armed
    bool queued_ready = false;  // in ready_
    uint32_t last_drop_count = 0;
    SocketCounters counters;
    Mapping ring_memory;  // io_uring_buf_ring
    Mapping buffers;      // buffer_count x buffer_stride_
    io_uring_buf_ring* ring = nullptr;
    bool queued_arm = false;    // in to_arm_
    bool removed = false;       // RemoveSocket ran; lives on in graveyard_
    std::vector<Staged> staged;  // capacity buffer_count: never reallocates
  };

  UringLoop(DatagramHandler& handler, const EventLoopOptions& options, base::UniqueFd wake_fd);

  absl::Status Init();
  absl::Status RunInternal(bool has_deadline, int64_t deadline_ns);
  io_uring_sqe* GetSqe();
  void ArmSocket(Socket& socket);
  void ArmWake();
  void ArmTimeout(int64_t wake_at_ns);
  // Submits what is prepared; waits for one completion when `wait`; then
  // reaps. Errors only when io_uring_enter fails with other than EINTR.
  absl::Status Reap(bool wait);
  // Copies every CQE in the ring into the sockets' staging lists (and the
  // loop's own state); returns how many.
  unsigned Pull();
  void Dispatch(const io_uring_cqe& cqe);
  bool AnySocketFilling() const;
  void DeliverReady();
  void DeliverBatch(Socket& socket);
  void Recycle(Socket& socket, size_t begin, size_t end);
  Socket* Find(uint64_t user_data);
  void QueueArm(Socket& socket);
  // Cancels the socket's request and waits (bounded) for its final CQE;
  // then frees its fixed-file slot and buffer group.
  void Detach(Socket& socket);
  void RefreshDrops(Socket& socket);

  DatagramHandler& handler_;
  const EventLoopOptions options_;
  const size_t buffer_count_;   // per socket
  const uint32_t ring_entries_;  // buffer_count_ rounded up to a power of 2
  const size_t buffer_length_;  // what the kernel may fill: header + max_datagram_size
  const size_t buffer_stride_;  // buffer_length_ rounded up to a cache line
  const base::UniqueFd wake_fd_;  // eventfd written by Stop()

  io_uring ring_{};
  bool ring_ready_ = false;
  unsigned fixed_files_ = 0;  // size of the registered (sparse) file table
  bool running_ = false;
  std::atomic<bool> stop_requested_{false};

  // Sockets by slot; a slot's buffer group id and fixed-file index are the
  // slot number. Freed slots are reused with a new generation.
  std::vector<std::unique_ptr<Socket>> slots_;
  std::vector<uint32_t> free_slots_;
  uint32_t next_generation_ = 1;
  absl::flat_hash_map<uint32_t, uint32_t> slot_by_tag_;
  std::vector<std::unique_ptr<Socket>> graveyard_;  // removed this turn
  std::vector<uint32_t> to_arm_;      // slots waiting for a receive request
  std::vector<uint32_t> ready_;       // slots with staged datagrams, in turn order
  std::vector<uint32_t> delivering_;  // ready_ as taken at the start of delivery
  std::vector<Datagram> datagrams_;   // batch_size

  // msghdr shape of every multishot recvmsg: name and control sizes only.
  msghdr receive_shape_{};

  // Wake and timeout requests.
  bool wake_armed_ = false;
  uint64_t wake_value_ = 0;  // IORING_OP_READ target
  bool timeout_armed_ = false;
  int64_t timeout_deadline_ns_ = 0;
  uint32_t timeout_generation_ = 0;
  __kernel_timespec timeout_spec_{};

  internal::TimerQueue timers_;
};

}  // namespace onvif::io

#endif  // ONVIF_ENGINE_IO_URING_LOOP_H_
