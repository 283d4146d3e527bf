#include "engine/io/epoll_loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
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

using internal::MonotonicNowNs;
using net::kControlBufferBytes;

constexpr int kEpollEvents = 64;

}  // namespace

absl::StatusOr<std::unique_ptr<EpollLoop>> EpollLoop::Create(DatagramHandler& handler,
                                                             const EventLoopOptions& options) {
  if (absl::Status valid = internal::ValidateOptions(options); !valid.ok()) return valid;
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
  if (internal::ReadKernelDrops(fd, drops)) socket->last_drop_count = drops;
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
  internal::ApplyDropCount(socket.last_drop_count, socket.counters.kernel_drops, drop_count);
}

void EpollLoop::RefreshDrops(Socket& socket) {
  uint32_t drops = 0;
  if (internal::ReadKernelDrops(socket.fd, drops)) ApplyDropCount(socket, drops);
}

TimerId EpollLoop::AddTimer(absl::Time when, absl::AnyInvocable<void()> callback) {
  return timers_.Add(when, std::move(callback));
}

TimerId EpollLoop::AddTimer(absl::Duration delay, absl::AnyInvocable<void()> callback) {
  return timers_.Add(delay, std::move(callback));
}

bool EpollLoop::CancelTimer(TimerId id) { return timers_.Cancel(id); }

void EpollLoop::Stop() {
  stop_requested_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated: the loop is woken anyway.
  [[maybe_unused]] ssize_t written = write(wake_fd_.get(), &one, sizeof(one));
}

absl::Status EpollLoop::Run() {
  if (!running_) timers_.AnchorClocks();
  return RunInternal(false, 0);
}

absl::Status EpollLoop::RunUntil(absl::Time deadline) {
  if (!running_) timers_.AnchorClocks();
  return RunInternal(true, timers_.ToMonotonicNs(deadline));
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
    timers_.FireDue(stop_requested_);
    if (stop_requested_.exchange(false, std::memory_order_acq_rel)) return absl::OkStatus();
    const int64_t now = MonotonicNowNs();
    if (has_deadline && now >= deadline_ns) return absl::OkStatus();

    int64_t wake_at = timers_.NextDeadline();
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
