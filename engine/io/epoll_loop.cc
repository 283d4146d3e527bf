#include "engine/io/epoll_loop.h"

#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "engine/base/errno_status.h"
#include "engine/net/receive_info.h"

namespace onvif::io {
namespace {

using net::kControlBufferBytes;

// recvmmsg's vlen is capped by the kernel at UIO_MAXIOV.
constexpr size_t kMaxBatchSize = 1024;
// A UDP payload never exceeds 65,535 bytes; more is only wasted memory, but
// allow headroom for callers that size slots for GRO-coalesced reads later.
constexpr size_t kMaxDatagramSize = size_t{1} << 20;
constexpr int kEpollEvents = 64;

// Heap order for std::*_heap (a max-heap): the earliest deadline on top,
// ties by id so equal deadlines fire in the order they were added.
constexpr auto kLater = [](const auto& a, const auto& b) {
  return a.deadline_ns != b.deadline_ns ? a.deadline_ns > b.deadline_ns : a.id > b.id;
};

int64_t MonotonicNowNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return sum;
}


// Reads the socket's cumulative drop counter (sk_drops).
bool ReadKernelDrops(int fd, uint32_t& drops) {
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t length = sizeof(meminfo);
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &length) != 0) return false;
  if (length < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t)) return false;
  drops = meminfo[SK_MEMINFO_DROPS];
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EpollLoop>> EpollLoop::Create(DatagramHandler& handler,
                                                             const EventLoopOptions& options) {
  if (options.batch_size < 1 || options.batch_size > kMaxBatchSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("EventLoopOptions.batch_size must be 1..", kMaxBatchSize, ", got ", options.batch_size));
  }
  if (options.max_datagram_size < 1 || options.max_datagram_size > kMaxDatagramSize) {
    return absl::InvalidArgumentError(absl::StrCat("EventLoopOptions.max_datagram_size must be 1..",
                                                   kMaxDatagramSize, ", got ", options.max_datagram_size));
  }
  if (options.max_batches_per_turn < 1) {
    return absl::InvalidArgumentError("EventLoopOptions.max_batches_per_turn must be >= 1");
  }
  base::UniqueFd epoll_fd(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd) return base::LastErrnoError("epoll_create1", "");
  base::UniqueFd wake_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd) return base::LastErrnoError("eventfd", "");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // nullptr marks the wake fd
  if (epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, wake_fd.get(), &event) != 0) {
    return base::LastErrnoError("epoll_ctl(ADD eventfd)", "");
  }
  return std::unique_ptr<EpollLoop>(new EpollLoop(handler, options, std::move(epoll_fd), std::move(wake_fd)));
}

EpollLoop::EpollLoop(DatagramHandler& handler, const EventLoopOptions& options, base::UniqueFd epoll_fd,
                     base::UniqueFd wake_fd)
    : handler_(handler), options_(options), epoll_fd_(std::move(epoll_fd)), wake_fd_(std::move(wake_fd)) {
  AnchorClocks();
  const size_t n = options_.batch_size;
  // Not value-initialised: the kernel writes before anyone reads, and the
  // pages of a 4 MiB area are only touched as far as datagrams reach.
  payload_area_ = std::make_unique_for_overwrite<char[]>(n * options_.max_datagram_size);
  control_area_ = std::make_unique_for_overwrite<char[]>(n * kControlBufferBytes);
  addresses_.resize(n);
  iovecs_.resize(n);
  headers_.resize(n);
  datagrams_.resize(n);
  events_.resize(kEpollEvents);
  for (size_t i = 0; i < n; ++i) {
    iovecs_[i].iov_base = payload_area_.get() + i * options_.max_datagram_size;
    iovecs_[i].iov_len = options_.max_datagram_size;
    msghdr& header = headers_[i].msg_hdr;
    header = msghdr{};
    header.msg_name = &addresses_[i];
    header.msg_namelen = sizeof(sockaddr_storage);
    header.msg_iov = &iovecs_[i];
    header.msg_iovlen = 1;
    header.msg_control = control_area_.get() + i * kControlBufferBytes;
    header.msg_controllen = kControlBufferBytes;
    headers_[i].msg_len = 0;
  }
}

EpollLoop::~EpollLoop() = default;

absl::Status EpollLoop::AddSocket(int fd, uint32_t tag) {
  if (sockets_.contains(tag)) {
    return absl::AlreadyExistsError(absl::StrCat("AddSocket: tag ", tag, " is already registered"));
  }
  const int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0) {
    return base::LastErrnoError("SO_RXQ_OVFL", absl::StrCat("fd ", fd, " (tag ", tag, ")"));
  }
  auto socket = std::make_unique<Socket>();
  socket->fd = fd;
  socket->tag = tag;
  // Count only drops from now on: earlier ones belong to whoever used the
  // socket before. Without SO_MEMINFO the baseline is 0.
  uint32_t drops = 0;
  if (ReadKernelDrops(fd, drops)) socket->last_drop_count = drops;
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = socket.get();
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    return base::LastErrnoError("epoll_ctl(ADD)", absl::StrCat("fd ", fd, " (tag ", tag, ")"));
  }
  sockets_.emplace(tag, std::move(socket));
  return absl::OkStatus();
}

absl::StatusOr<SocketCounters> EpollLoop::RemoveSocket(uint32_t tag) {
  auto it = sockets_.find(tag);
  if (it == sockets_.end()) {
    return absl::NotFoundError(absl::StrCat("RemoveSocket: tag ", tag, " is not registered"));
  }
  std::unique_ptr<Socket> socket = std::move(it->second);
  sockets_.erase(it);
  // EBADF / ENOENT mean the fd was closed first (a caller bug, but then
  // epoll has forgotten it already); either way it is gone from the set.
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, socket->fd, nullptr);
  RefreshDrops(*socket);
  socket->removed = true;
  const SocketCounters counters = socket->counters;
  if (running_) {
    graveyard_.push_back(std::move(socket));  // events of this turn may point at it
  }
  return counters;
}

absl::StatusOr<SocketCounters> EpollLoop::GetCounters(uint32_t tag) {
  auto it = sockets_.find(tag);
  if (it == sockets_.end()) {
    return absl::NotFoundError(absl::StrCat("GetCounters: tag ", tag, " is not registered"));
  }
  RefreshDrops(*it->second);
  return it->second->counters;
}

void EpollLoop::ApplyDropCount(Socket& socket, uint32_t drop_count) {
  // The counter is cumulative and wraps; a value not ahead of the last one
  // (a datagram queued before the last SO_MEMINFO read) adds nothing.
  const uint32_t delta = drop_count - socket.last_drop_count;
  if (delta != 0 && delta < (uint32_t{1} << 31)) {
    socket.counters.kernel_drops += delta;
    socket.last_drop_count = drop_count;
  }
}

void EpollLoop::RefreshDrops(Socket& socket) {
  uint32_t drops = 0;
  if (ReadKernelDrops(socket.fd, drops)) ApplyDropCount(socket, drops);
}

void EpollLoop::AnchorClocks() {
  anchor_wall_ = absl::Now();
  anchor_monotonic_ns_ = MonotonicNowNs();
}

int64_t EpollLoop::ToMonotonicNs(absl::Time when) const {
  return SaturatingAdd(anchor_monotonic_ns_, absl::ToInt64Nanoseconds(when - anchor_wall_));  // saturates
}

TimerId EpollLoop::AddTimer(absl::Time when, absl::AnyInvocable<void()> callback) {
  return AddTimerAt(ToMonotonicNs(when), std::move(callback));
}

TimerId EpollLoop::AddTimer(absl::Duration delay, absl::AnyInvocable<void()> callback) {
  return AddTimerAt(SaturatingAdd(MonotonicNowNs(), absl::ToInt64Nanoseconds(delay)), std::move(callback));
}

TimerId EpollLoop::AddTimerAt(int64_t deadline_ns, absl::AnyInvocable<void()> callback) {
  const TimerId id = next_timer_id_++;
  timer_callbacks_.emplace(id, std::move(callback));
  timer_heap_.push_back({deadline_ns, id});
  std::push_heap(timer_heap_.begin(), timer_heap_.end(), kLater);
  return id;
}

bool EpollLoop::CancelTimer(TimerId id) {
  if (timer_callbacks_.erase(id) == 0) return false;
  // Lazy cancellation leaves the heap entry; rebuild when most are dead so a
  // schedule that cancels and re-adds forever stays bounded.
  if (timer_heap_.size() > 64 && timer_heap_.size() > 2 * timer_callbacks_.size()) {
    std::erase_if(timer_heap_, [this](const TimerEntry& e) { return !timer_callbacks_.contains(e.id); });
    std::make_heap(timer_heap_.begin(), timer_heap_.end(), kLater);
  }
  return true;
}

int64_t EpollLoop::NextTimerDeadline() {
  while (!timer_heap_.empty()) {
    if (timer_callbacks_.contains(timer_heap_.front().id)) return timer_heap_.front().deadline_ns;
    std::pop_heap(timer_heap_.begin(), timer_heap_.end(), kLater);
    timer_heap_.pop_back();
  }
  return -1;
}

void EpollLoop::FireDueTimers() {
  // Timers added during this round have ids >= limit; they wait for the next
  // turn, so a callback that re-adds a due timer cannot spin here forever.
  const TimerId limit = next_timer_id_;
  const int64_t now = MonotonicNowNs();
  while (!timer_heap_.empty()) {
    const TimerEntry top = timer_heap_.front();
    if (top.deadline_ns > now || top.id >= limit) return;
    std::pop_heap(timer_heap_.begin(), timer_heap_.end(), kLater);
    timer_heap_.pop_back();
    auto it = timer_callbacks_.find(top.id);
    if (it == timer_callbacks_.end()) continue;  // cancelled
    absl::AnyInvocable<void()> callback = std::move(it->second);
    timer_callbacks_.erase(it);
    std::move(callback)();
    if (stop_requested_.load(std::memory_order_relaxed)) return;
  }
}

void EpollLoop::Stop() {
  stop_requested_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated: the loop is woken anyway.
  [[maybe_unused]] ssize_t written = write(wake_fd_.get(), &one, sizeof(one));
}

absl::Status EpollLoop::Run() {
  if (!running_) AnchorClocks();
  return RunInternal(false, 0);
}

absl::Status EpollLoop::RunUntil(absl::Time deadline) {
  if (!running_) AnchorClocks();
  return RunInternal(true, ToMonotonicNs(deadline));
}

absl::Status EpollLoop::Wait(int64_t timeout_ns, int& ready) {
  for (;;) {
    if (!pwait2_missing_) {
      timespec timeout;
      timeout.tv_sec = timeout_ns / 1'000'000'000;
      timeout.tv_nsec = timeout_ns % 1'000'000'000;
      ready = epoll_pwait2(epoll_fd_.get(), events_.data(), kEpollEvents, timeout_ns < 0 ? nullptr : &timeout,
                           nullptr);
      if (ready < 0 && errno == ENOSYS) {
        pwait2_missing_ = true;
        continue;
      }
    } else {
      // Round up, so a timer is never woken for early and spun on.
      int timeout_ms = -1;
      if (timeout_ns >= 0) {
        timeout_ms = static_cast<int>(
            std::min<int64_t>((timeout_ns + 999'999) / 1'000'000, std::numeric_limits<int>::max()));
      }
      ready = epoll_wait(epoll_fd_.get(), events_.data(), kEpollEvents, timeout_ms);
    }
    if (ready >= 0) return absl::OkStatus();
    if (errno == EINTR) {
      // Return to the turn: it recomputes the timeout (and a signal handler
      // may have called Stop()).
      ready = 0;
      return absl::OkStatus();
    }
    return base::LastErrnoError("epoll_wait", "");
  }
}

absl::Status EpollLoop::RunInternal(bool has_deadline, int64_t deadline_ns) {
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
    FireDueTimers();
    if (stop_requested_.exchange(false, std::memory_order_acq_rel)) return absl::OkStatus();
    const int64_t now = MonotonicNowNs();
    if (has_deadline && now >= deadline_ns) return absl::OkStatus();

    int64_t wake_at = NextTimerDeadline();
    if (has_deadline && (wake_at < 0 || deadline_ns < wake_at)) wake_at = deadline_ns;
    const int64_t timeout_ns = wake_at < 0 ? -1 : std::max<int64_t>(0, wake_at - now);

    int ready = 0;
    if (absl::Status status = Wait(timeout_ns, ready); !status.ok()) return status;
    for (int i = 0; i < ready; ++i) {
      const epoll_event& event = events_[i];
      if (event.data.ptr == nullptr) {
        uint64_t value;
        [[maybe_unused]] ssize_t got = read(wake_fd_.get(), &value, sizeof(value));
        continue;
      }
      Socket& socket = *static_cast<Socket*>(event.data.ptr);
      if (socket.removed) continue;
      DrainSocket(socket);
      if (stop_requested_.load(std::memory_order_relaxed)) break;
    }
  }
}

void EpollLoop::DrainSocket(Socket& socket) {
  const unsigned batch_size = static_cast<unsigned>(options_.batch_size);
  for (size_t turn = 0; turn < options_.max_batches_per_turn; ++turn) {
    int received;
    do {
      received = recvmmsg(socket.fd, headers_.data(), batch_size, MSG_DONTWAIT, nullptr);
    } while (received < 0 && errno == EINTR);
    if (received < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // e.g. ECONNREFUSED from an ICMP error: reported once, then cleared.
      ++socket.counters.receive_errors;
      socket.counters.last_error = errno;
      return;
    }
    if (received == 0) return;

    uint64_t bytes = 0;
    uint64_t truncated = 0;
    for (int k = 0; k < received; ++k) {
      mmsghdr& entry = headers_[k];
      msghdr& header = entry.msg_hdr;
      Datagram& datagram = datagrams_[k];
      datagram.socket_tag = socket.tag;
      datagram.peer =
          net::SocketAddress::FromSockaddr(static_cast<const sockaddr*>(header.msg_name), header.msg_namelen);
      const size_t length = std::min<size_t>(entry.msg_len, options_.max_datagram_size);
      datagram.payload = {static_cast<const char*>(header.msg_iov->iov_base), length};
      datagram.truncated = (header.msg_flags & MSG_TRUNC) != 0;
      bytes += length;
      truncated += datagram.truncated ? 1 : 0;

      const net::ReceiveInfo info = net::ParseReceiveInfo(header);
      datagram.arrival_ifindex = info.arrival_ifindex;
      datagram.destination = info.destination;
      if (info.kernel_drops) ApplyDropCount(socket, *info.kernel_drops);
      // The kernel overwrote these; restore them for the next call.
      header.msg_namelen = sizeof(sockaddr_storage);
      header.msg_controllen = kControlBufferBytes;
      header.msg_flags = 0;
    }
    socket.counters.datagrams += static_cast<uint64_t>(received);
    socket.counters.batches += 1;
    socket.counters.bytes += bytes;
    socket.counters.truncated += truncated;

    handler_.OnDatagrams(*this, std::span<const Datagram>(datagrams_.data(), static_cast<size_t>(received)));
    if (socket.removed || stop_requested_.load(std::memory_order_relaxed)) return;
    if (static_cast<unsigned>(received) < batch_size) return;  // queue was empty
  }
}

}  // namespace onvif::io
