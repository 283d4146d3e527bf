#include "engine/io/uring_loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "engine/base/errno_status.h"
#include "engine/net/receive_info.h"

namespace onvif::io {
namespace {

using internal::MonotonicNowNs;
using net::kControlBufferBytes;

constexpr unsigned kSubmissionEntries = 256;
// Room for every socket's full buffer ring and the loop's own requests
// without overflowing into the kernel's (slower) overflow list.
constexpr unsigned kCompletionEntries = 8192;
// Fixed-file table size; sockets beyond it use their plain fd.
constexpr unsigned kFixedFiles = 256;
// A buffer ring holds at most 32768 entries (kernel limit).
constexpr size_t kMaxBuffersPerSocket = 32768;
// Buffer group ids are 16 bits; a socket's group id is its slot.
constexpr size_t kMaxSockets = 65536;
// io_uring_get_events calls per turn while a socket's batch is still filling:
// the kernel receives a bounded number of datagrams per issue and finishes a
// multishot round in task work, which only runs when we enter the kernel.
constexpr int kMaxFlushes = 4;
// How long RemoveSocket waits for a cancelled request's final CQE. It comes
// at once unless the thread that armed it sits outside the kernel for good.
constexpr int64_t kCancelWaitNs = 2'000'000'000;
// Name area of each buffer: any address family, and it keeps the control
// area behind it cmsghdr-aligned.
constexpr size_t kNameBytes = sizeof(sockaddr_storage);
static_assert((sizeof(io_uring_recvmsg_out) + kNameBytes) % alignof(cmsghdr) == 0,
              "the control area in each buffer must stay cmsghdr-aligned");

// user_data: kind in the top byte; for receives, slot and generation.
enum Kind : uint64_t { kReceive = 1, kWake = 2, kTimeout = 3, kIgnore = 4 };
constexpr uint64_t Data(Kind kind, uint32_t slot, uint32_t low) {
  return (uint64_t{kind} << 56) | (uint64_t{slot & 0xffffff} << 32) | low;
}
constexpr Kind KindOf(uint64_t data) { return static_cast<Kind>(data >> 56); }

// Errors that come back at once on every re-arm: re-arming would spin.
bool Persistent(int error) {
  return error == EBADF || error == ENOTSOCK || error == EINVAL || error == EOPNOTSUPP || error == EFAULT;
}

absl::Status Unavailable(int error, const char* op, const char* why) {
  return absl::FailedPreconditionError(
      absl::StrCat(base::ErrnoError(error, op, "").message(), " (", why, "); use the epoll backend"));
}

}  // namespace

// ------------------------------------------------------------- Mapping

UringLoop::Mapping::Mapping(Mapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

UringLoop::Mapping& UringLoop::Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

UringLoop::Mapping::~Mapping() {
  if (data_ != nullptr) munmap(data_, size_);
}

bool UringLoop::Mapping::Allocate(size_t bytes, Mapping& out) {
  // Anonymous pages: zero-filled on first touch only, so a 4 MiB buffer area
  // costs what datagrams reach.
  void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED) return false;
  out = Mapping();
  out.data_ = static_cast<char*>(data);
  out.size_ = bytes;
  return true;
}

// ------------------------------------------------------------- setup

absl::StatusOr<std::unique_ptr<UringLoop>> UringLoop::Create(DatagramHandler& handler,
                                                             const EventLoopOptions& options) {
  if (absl::Status valid = internal::ValidateOptions(options); !valid.ok()) return valid;
  if (options.uring_buffers_per_socket > kMaxBuffersPerSocket) {
    return absl::InvalidArgumentError(absl::StrCat("EventLoopOptions.uring_buffers_per_socket must be <= ",
                                                   kMaxBuffersPerSocket, ", got ",
                                                   options.uring_buffers_per_socket));
  }
  base::UniqueFd wake_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd) return base::LastErrnoError("eventfd", "");
  std::unique_ptr<UringLoop> loop(new UringLoop(handler, options, std::move(wake_fd)));
  if (absl::Status status = loop->Init(); !status.ok()) return status;
  return loop;
}

UringLoop::UringLoop(DatagramHandler& handler, const EventLoopOptions& options, base::UniqueFd wake_fd)
    : handler_(handler),
      options_(options),
      buffer_count_(options.uring_buffers_per_socket != 0 ? options.uring_buffers_per_socket
                                                          : options.batch_size),
      ring_entries_(std::bit_ceil(static_cast<uint32_t>(buffer_count_))),
      buffer_length_(sizeof(io_uring_recvmsg_out) + kNameBytes + kControlBufferBytes + options.max_datagram_size),
      buffer_stride_((buffer_length_ + 63) & ~size_t{63}),
      wake_fd_(std::move(wake_fd)) {
  datagrams_.resize(options_.batch_size);
  receive_shape_.msg_namelen = kNameBytes;
  receive_shape_.msg_controllen = kControlBufferBytes;
}

absl::Status UringLoop::Init() {
  // SUBMIT_ALL: one bad SQE does not hold back the others. No COOP_TASKRUN
  // (nor DEFER_TASKRUN, which needs a single submitting thread): without it
  // the kernel interrupts the arming thread to run its task work, so no
  // completion waits for that thread to enter io_uring again (the sweep arms
  // on a worker and removes sockets on the main thread). Measured here,
  // COOP_TASKRUN gained under 5% drain rate, within the noise.
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  params.cq_entries = kCompletionEntries;
  int result = io_uring_queue_init_params(kSubmissionEntries, &ring_, &params);
  if (result == -EINVAL) {  // SUBMIT_ALL needs 5.18; the probe below decides anyway
    params = io_uring_params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = kCompletionEntries;
    result = io_uring_queue_init_params(kSubmissionEntries, &ring_, &params);
  }
  if (result < 0) {
    const int error = -result;
    const char* why = error == ENOSYS   ? "this kernel has no io_uring"
                      : error == EPERM  ? "io_uring is disabled here: sysctl kernel.io_uring_disabled, seccomp or a "
                                          "container policy"
                      : error == ENOMEM ? "not enough locked memory for the rings (RLIMIT_MEMLOCK)"
                                        : "io_uring is unavailable";
    return Unavailable(error, "io_uring_queue_init", why);
  }
  ring_ready_ = true;
  // Multishot recvmsg came with Linux 6.0, which has no feature bit of its
  // own; IORING_OP_SEND_ZC arrived in the same release and can be probed.
  io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
  const bool recent = probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
  if (probe != nullptr) io_uring_free_probe(probe);
  if (!recent) {
    return Unavailable(ENOTSUP, "io_uring multishot recvmsg", "requires Linux >= 6.0");
  }
  if (io_uring_register_files_sparse(&ring_, kFixedFiles) == 0) fixed_files_ = kFixedFiles;
  return absl::OkStatus();
}

UringLoop::~UringLoop() {
  if (!ring_ready_) return;
  // Nothing may still write into memory this object owns once it is gone.
  for (std::unique_ptr<Socket>& socket : slots_) {
    if (socket != nullptr) Detach(*socket);
  }
  if (wake_armed_) {
    io_uring_sqe* cancel = GetSqe();
    io_uring_prep_cancel64(cancel, Data(kWake, 0, 0), 0);
    io_uring_sqe_set_data64(cancel, Data(kIgnore, 0, 0));
    const int64_t give_up = MonotonicNowNs() + kCancelWaitNs;
    while (wake_armed_ && MonotonicNowNs() < give_up) {
      __kernel_timespec wait{.tv_sec = 0, .tv_nsec = 100'000'000};
      io_uring_cqe* cqe = nullptr;
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &wait, nullptr);
      Pull();
    }
  }
  io_uring_queue_exit(&ring_);
}

absl::Status UringLoop::AddSocket(int fd, uint32_t tag) {
  if (slot_by_tag_.contains(tag)) {
    return absl::AlreadyExistsError(absl::StrCat("AddSocket: tag ", tag, " is already registered"));
  }
  const std::string where = absl::StrCat("fd ", fd, " (tag ", tag, ")");
  const int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0) {
    return base::LastErrnoError("SO_RXQ_OVFL", where);
  }
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
  } else if (slots_.size() < kMaxSockets) {
    slot = static_cast<uint32_t>(slots_.size());
  } else {
    return absl::ResourceExhaustedError(absl::StrCat("AddSocket: more than ", kMaxSockets, " sockets on one loop"));
  }

  auto socket = std::make_unique<Socket>();
  socket->fd = fd;
  socket->tag = tag;
  socket->slot = slot;
  socket->generation = next_generation_++;
  if (!Mapping::Allocate(ring_entries_ * sizeof(io_uring_buf), socket->ring_memory) ||
      !Mapping::Allocate(buffer_count_ * buffer_stride_, socket->buffers)) {
    return base::LastErrnoError("mmap(receive buffers)", where);
  }
  socket->ring = reinterpret_cast<io_uring_buf_ring*>(socket->ring_memory.data());
  io_uring_buf_ring_init(socket->ring);
  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<uintptr_t>(socket->ring);
  registration.ring_entries = ring_entries_;
  registration.bgid = static_cast<uint16_t>(slot);
  if (const int result = io_uring_register_buf_ring(&ring_, &registration, 0); result < 0) {
    if (result == -EINVAL) return Unavailable(EINVAL, "io_uring_register_buf_ring", "requires Linux >= 5.19");
    return base::ErrnoError(-result, "io_uring_register_buf_ring", where);
  }
  const int mask = io_uring_buf_ring_mask(ring_entries_);
  for (size_t i = 0; i < buffer_count_; ++i) {
    io_uring_buf_ring_add(socket->ring, socket->buffers.data() + i * buffer_stride_,
                          static_cast<unsigned>(buffer_length_), static_cast<unsigned short>(i), mask,
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(socket->ring, static_cast<int>(buffer_count_));
  if (slot < fixed_files_) {
    int file = fd;
    if (const int result = io_uring_register_files_update(&ring_, slot, &file, 1); result < 0) {
      io_uring_unregister_buf_ring(&ring_, static_cast<int>(slot));
      return base::ErrnoError(-result, "io_uring_register_files_update", where);
    }
    socket->fixed_file = true;
  }
  // Count only drops from now on (as EpollLoop).
  uint32_t drops = 0;
  if (internal::ReadKernelDrops(fd, drops)) socket->last_drop_count = drops;
  socket->staged.reserve(buffer_count_);

  if (!free_slots_.empty()) free_slots_.pop_back();
  if (slot == slots_.size()) slots_.push_back(nullptr);
  Socket& added = *socket;
  slots_[slot] = std::move(socket);
  slot_by_tag_.emplace(tag, slot);
  // Every list of slots stays within its capacity on the receive path.
  ready_.reserve(slots_.size());
  delivering_.reserve(slots_.size());
  to_arm_.reserve(slots_.size());
  // Armed by the next turn of Run, on the loop's thread (see the header).
  QueueArm(added);
  return absl::OkStatus();
}

void UringLoop::Detach(Socket& socket) {
  if (socket.armed) {
    io_uring_sqe* cancel = GetSqe();
    io_uring_prep_cancel64(cancel, Data(kReceive, socket.slot, socket.generation), IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(cancel, Data(kIgnore, 0, 0));
    const int64_t give_up = MonotonicNowNs() + kCancelWaitNs;
    while (socket.armed && MonotonicNowNs() < give_up) {
      __kernel_timespec wait{.tv_sec = 0, .tv_nsec = 100'000'000};
      io_uring_cqe* cqe = nullptr;
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &wait, nullptr);
      Pull();
    }
  }
  if (socket.fixed_file) {
    int none = -1;
    io_uring_register_files_update(&ring_, socket.slot, &none, 1);
    socket.fixed_file = false;
  }
  io_uring_unregister_buf_ring(&ring_, static_cast<int>(socket.slot));
  socket.staged.clear();  // received ahead of delivery: gone with the socket
  socket.removed = true;
}

absl::StatusOr<SocketCounters> UringLoop::RemoveSocket(uint32_t tag) {
  auto it = slot_by_tag_.find(tag);
  if (it == slot_by_tag_.end()) {
    return absl::NotFoundError(absl::StrCat("RemoveSocket: tag ", tag, " is not registered"));
  }
  const uint32_t slot = it->second;
  slot_by_tag_.erase(it);
  // Detach reaps until the final CQE, which must still find the socket.
  Detach(*slots_[slot]);
  std::unique_ptr<Socket> socket = std::move(slots_[slot]);
  // A request that outlived the wait could still take a buffer from the
  // slot's next buffer group: such a slot is never reused.
  if (!socket->armed) free_slots_.push_back(slot);
  RefreshDrops(*socket);
  const SocketCounters counters = socket->counters;
  if (running_) graveyard_.push_back(std::move(socket));  // the batch in hand may point into its buffers
  return counters;
}

absl::StatusOr<SocketCounters> UringLoop::GetCounters(uint32_t tag) {
  auto it = slot_by_tag_.find(tag);
  if (it == slot_by_tag_.end()) {
    return absl::NotFoundError(absl::StrCat("GetCounters: tag ", tag, " is not registered"));
  }
  Socket& socket = *slots_[it->second];
  RefreshDrops(socket);
  return socket.counters;
}

void UringLoop::RefreshDrops(Socket& socket) {
  uint32_t drops = 0;
  if (internal::ReadKernelDrops(socket.fd, drops)) {
    internal::ApplyDropCount(socket.last_drop_count, socket.counters.kernel_drops, drops);
  }
}

TimerId UringLoop::AddTimer(absl::Time when, absl::AnyInvocable<void()> callback) {
  return timers_.Add(when, std::move(callback));
}

TimerId UringLoop::AddTimer(absl::Duration delay, absl::AnyInvocable<void()> callback) {
  return timers_.Add(delay, std::move(callback));
}

bool UringLoop::CancelTimer(TimerId id) { return timers_.Cancel(id); }

void UringLoop::Stop() {
  stop_requested_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated: the loop is woken anyway.
  [[maybe_unused]] ssize_t written = write(wake_fd_.get(), &one, sizeof(one));
}

// ------------------------------------------------------------- requests

io_uring_sqe* UringLoop::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {  // the submission queue is full: hand it over
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void UringLoop::QueueArm(Socket& socket) {
  if (socket.queued_arm || socket.armed || socket.stopped) return;
  socket.queued_arm = true;
  to_arm_.push_back(socket.slot);
}

void UringLoop::ArmSocket(Socket& socket) {
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_recvmsg_multishot(sqe, socket.fixed_file ? static_cast<int>(socket.slot) : socket.fd,
                                  &receive_shape_, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT | (socket.fixed_file ? IOSQE_FIXED_FILE : 0);
  sqe->buf_group = static_cast<uint16_t>(socket.slot);
  io_uring_sqe_set_data64(sqe, Data(kReceive, socket.slot, socket.generation));
  socket.armed = true;
}

void UringLoop::ArmWake() {
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_read(sqe, wake_fd_.get(), &wake_value_, sizeof(wake_value_), 0);
  io_uring_sqe_set_data64(sqe, Data(kWake, 0, 0));
  wake_armed_ = true;
}

void UringLoop::ArmTimeout(int64_t wake_at_ns) {
  // An armed expiry at or before the one wanted is good enough: waking early
  // only costs a turn that re-arms.
  if (wake_at_ns < 0 || (timeout_armed_ && timeout_deadline_ns_ <= wake_at_ns)) return;
  if (timeout_armed_) {
    io_uring_sqe* remove = GetSqe();
    io_uring_prep_timeout_remove(remove, Data(kTimeout, 0, timeout_generation_), 0);
    io_uring_sqe_set_data64(remove, Data(kIgnore, 0, 0));
  }
  ++timeout_generation_;
  timeout_spec_.tv_sec = wake_at_ns / 1'000'000'000;
  timeout_spec_.tv_nsec = wake_at_ns % 1'000'000'000;
  // The kernel copies the timespec when the SQE is submitted, which happens
  // before timeout_spec_ is written again (one ArmTimeout per turn).
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_timeout(sqe, &timeout_spec_, 0, IORING_TIMEOUT_ABS);
  io_uring_sqe_set_data64(sqe, Data(kTimeout, 0, timeout_generation_));
  timeout_armed_ = true;
  timeout_deadline_ns_ = wake_at_ns;
}

// ------------------------------------------------------------- completions

UringLoop::Socket* UringLoop::Find(uint64_t user_data) {
  const uint32_t slot = static_cast<uint32_t>(user_data >> 32) & 0xffffff;
  if (slot >= slots_.size()) return nullptr;
  Socket* socket = slots_[slot].get();
  if (socket == nullptr || socket->generation != static_cast<uint32_t>(user_data)) return nullptr;
  return socket;
}

unsigned UringLoop::Pull() {
  unsigned head;
  unsigned count = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    Dispatch(*cqe);
    ++count;
  }
  if (count != 0) io_uring_cq_advance(&ring_, count);
  return count;
}

void UringLoop::Dispatch(const io_uring_cqe& cqe) {
  switch (KindOf(cqe.user_data)) {
    case kReceive: {
      Socket* socket = Find(cqe.user_data);
      // Unknown only if a removal gave up waiting: that ring is unregistered,
      // so there is no buffer to give back.
      if (socket == nullptr) return;
      if ((cqe.flags & IORING_CQE_F_BUFFER) != 0 && cqe.res >= 0) {
        socket->staged.push_back({cqe.flags >> IORING_CQE_BUFFER_SHIFT, cqe.res});
        if (!socket->queued_ready) {
          socket->queued_ready = true;
          ready_.push_back(socket->slot);
        }
      } else if (cqe.res == -ENOBUFS) {
        ++socket->counters.buffer_exhausted;
      } else if (cqe.res < 0 && cqe.res != -ECANCELED) {
        ++socket->counters.receive_errors;
        socket->counters.last_error = -cqe.res;
        if (Persistent(-cqe.res)) socket->stopped = true;
      }
      if ((cqe.flags & IORING_CQE_F_MORE) == 0) {
        socket->armed = false;
        // Re-armed next turn if a buffer is free; else after the recycle.
        if (socket->staged.size() < buffer_count_) QueueArm(*socket);
      }
      return;
    }
    case kWake:
      wake_armed_ = false;
      return;
    case kTimeout:
      if (static_cast<uint32_t>(cqe.user_data) == timeout_generation_) timeout_armed_ = false;
      return;
    case kIgnore:
      return;
  }
}

bool UringLoop::AnySocketFilling() const {
  const size_t full = std::min(options_.batch_size, buffer_count_);
  for (const uint32_t slot : ready_) {
    const Socket* socket = slot < slots_.size() ? slots_[slot].get() : nullptr;
    if (socket != nullptr && socket->armed && socket->staged.size() < full) return true;
  }
  return false;
}

absl::Status UringLoop::Reap(bool wait) {
  const int submitted = wait ? io_uring_submit_and_wait(&ring_, 1) : io_uring_submit(&ring_);
  // EINTR: back to the turn, which recomputes the wait (a signal handler may
  // have called Stop()). EAGAIN / EBUSY: the kernel is short of resources or
  // has completions to flush: reaping them is the cure.
  if (submitted < 0 && submitted != -EINTR && submitted != -EAGAIN && submitted != -EBUSY) {
    return base::ErrnoError(-submitted, "io_uring_enter", "");
  }
  unsigned pulled = Pull();
  for (int i = 0; i < kMaxFlushes && pulled != 0 && AnySocketFilling(); ++i) {
    if (io_uring_get_events(&ring_) < 0) break;
    pulled = Pull();
  }
  return absl::OkStatus();
}

void UringLoop::Recycle(Socket& socket, size_t begin, size_t end) {
  const int mask = io_uring_buf_ring_mask(ring_entries_);
  for (size_t i = begin; i < end; ++i) {
    const uint32_t id = socket.staged[i].buffer_id;
    io_uring_buf_ring_add(socket.ring, socket.buffers.data() + id * buffer_stride_,
                          static_cast<unsigned>(buffer_length_), static_cast<unsigned short>(id), mask,
                          static_cast<int>(i - begin));
  }
  io_uring_buf_ring_advance(socket.ring, static_cast<int>(end - begin));
}

void UringLoop::DeliverBatch(Socket& socket) {
  const size_t n = std::min(socket.staged.size(), options_.batch_size);
  size_t count = 0;
  uint64_t bytes = 0;
  uint64_t truncated = 0;
  for (size_t k = 0; k < n; ++k) {
    const Staged& staged = socket.staged[k];
    void* buffer = socket.buffers.data() + staged.buffer_id * buffer_stride_;
    io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buffer, staged.length, &receive_shape_);
    if (out == nullptr) {  // shorter than the header the kernel promised
      ++socket.counters.receive_errors;
      socket.counters.last_error = EBADMSG;
      continue;
    }
    Datagram& datagram = datagrams_[count++];
    datagram.socket_tag = socket.tag;
    datagram.peer = net::SocketAddress::FromSockaddr(static_cast<const sockaddr*>(io_uring_recvmsg_name(out)),
                                                     std::min<socklen_t>(out->namelen, kNameBytes));
    const size_t length = std::min<size_t>(io_uring_recvmsg_payload_length(out, staged.length, &receive_shape_),
                                           options_.max_datagram_size);
    datagram.payload = {static_cast<const char*>(io_uring_recvmsg_payload(out, &receive_shape_)), length};
    datagram.truncated = (out->flags & MSG_TRUNC) != 0;
    bytes += length;
    truncated += datagram.truncated ? 1 : 0;

    // The control messages as a msghdr view, for the engine's one parser.
    msghdr control{};
    control.msg_control = io_uring_recvmsg_cmsg_firsthdr(out, &receive_shape_);
    control.msg_controllen = control.msg_control != nullptr ? out->controllen : 0;
    const net::ReceiveInfo info = net::ParseReceiveInfo(control);
    datagram.arrival_ifindex = info.arrival_ifindex;
    datagram.destination = info.destination;
    if (info.kernel_drops) {
      internal::ApplyDropCount(socket.last_drop_count, socket.counters.kernel_drops, *info.kernel_drops);
    }
  }
  if (count != 0) {
    socket.counters.datagrams += count;
    socket.counters.batches += 1;
    socket.counters.bytes += bytes;
    socket.counters.truncated += truncated;
    handler_.OnDatagrams(*this, std::span<const Datagram>(datagrams_.data(), count));
  }
  if (socket.removed) return;  // its buffer group is gone; the buffers die with it
  // Only now may the kernel reuse these buffers. Entries staged during the
  // handler (a RemoveSocket wait reaps) were appended behind them.
  Recycle(socket, 0, n);
  socket.staged.erase(socket.staged.begin(), socket.staged.begin() + static_cast<ptrdiff_t>(n));
  if (!socket.armed) QueueArm(socket);
}

void UringLoop::DeliverReady() {
  delivering_.swap(ready_);  // handlers may stage more into ready_ meanwhile
  size_t i = 0;
  for (; i < delivering_.size(); ++i) {
    const uint32_t slot = delivering_[i];
    Socket* socket = slot < slots_.size() ? slots_[slot].get() : nullptr;
    if (socket == nullptr) continue;
    socket->queued_ready = false;
    for (size_t b = 0; b < options_.max_batches_per_turn && !socket->staged.empty(); ++b) {
      DeliverBatch(*socket);
      if (socket->removed || stop_requested_.load(std::memory_order_relaxed)) break;
    }
    if (!socket->removed && !socket->staged.empty() && !socket->queued_ready) {
      socket->queued_ready = true;
      ready_.push_back(slot);
    }
    if (stop_requested_.load(std::memory_order_relaxed)) break;
  }
  // Stopped early: the sockets not served keep their turn.
  for (++i; i < delivering_.size(); ++i) {
    const uint32_t slot = delivering_[i];
    Socket* socket = slot < slots_.size() ? slots_[slot].get() : nullptr;
    if (socket != nullptr && !socket->queued_ready && !socket->staged.empty()) {
      socket->queued_ready = true;
      ready_.push_back(slot);
    }
  }
  delivering_.clear();
}

// ------------------------------------------------------------- running

absl::Status UringLoop::Run() {
  if (!running_) timers_.AnchorClocks();
  return RunInternal(false, 0);
}

absl::Status UringLoop::RunUntil(absl::Time deadline) {
  if (!running_) timers_.AnchorClocks();
  return RunInternal(true, timers_.ToMonotonicNs(deadline));
}

absl::Status UringLoop::RunInternal(bool has_deadline, int64_t deadline_ns) {
  if (running_) {
    return absl::FailedPreconditionError("EventLoop::Run called from inside the same loop's callback");
  }
  running_ = true;
  absl::Cleanup not_running = [this] {
    running_ = false;
    graveyard_.clear();
  };
  for (;;) {
    graveyard_.clear();
    if (stop_requested_.exchange(false, std::memory_order_acq_rel)) return absl::OkStatus();
    timers_.FireDue(stop_requested_);
    if (stop_requested_.exchange(false, std::memory_order_acq_rel)) return absl::OkStatus();
    if (!ready_.empty()) {
      DeliverReady();
      if (stop_requested_.exchange(false, std::memory_order_acq_rel)) return absl::OkStatus();
    }
    const int64_t now = MonotonicNowNs();
    if (has_deadline && now >= deadline_ns) return absl::OkStatus();

    for (size_t i = 0; i < to_arm_.size(); ++i) {  // by index: arming may submit
      Socket* socket = slots_[to_arm_[i]].get();
      if (socket == nullptr || !socket->queued_arm) continue;
      socket->queued_arm = false;
      if (!socket->armed && !socket->stopped && socket->staged.size() < buffer_count_) ArmSocket(*socket);
    }
    to_arm_.clear();
    if (!wake_armed_) ArmWake();
    int64_t wake_at = timers_.NextDeadline();
    if (has_deadline && (wake_at < 0 || deadline_ns < wake_at)) wake_at = deadline_ns;
    // Block only when nothing is staged and nothing is due.
    const bool wait = ready_.empty() && (wake_at < 0 || wake_at > now);
    if (wait) ArmTimeout(wake_at);
    if (absl::Status status = Reap(wait); !status.ok()) return status;
  }
}

}  // namespace onvif::io
