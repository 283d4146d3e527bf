#include "engine/io/loop_support.h"

#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace onvif::io::internal {
namespace {

// Heap order for std::*_heap (a max-heap): the earliest deadline on top,
// ties by id so equal deadlines fire in the order they were added.
constexpr auto kLater = [](const auto& a, const auto& b) {
  return a.deadline_ns != b.deadline_ns ? a.deadline_ns > b.deadline_ns : a.id > b.id;
};

}  // namespace

absl::Status ValidateOptions(const EventLoopOptions& options) {
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
  return absl::OkStatus();
}

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

void TimerQueue::AnchorClocks() {
  anchor_wall_ = absl::Now();
  anchor_monotonic_ns_ = MonotonicNowNs();
}

int64_t TimerQueue::ToMonotonicNs(absl::Time when) const {
  return SaturatingAdd(anchor_monotonic_ns_, absl::ToInt64Nanoseconds(when - anchor_wall_));  // saturates
}

TimerId TimerQueue::AddAt(int64_t deadline_ns, absl::AnyInvocable<void()> callback) {
  const TimerId id = next_id_++;
  callbacks_.emplace(id, std::move(callback));
  heap_.push_back({deadline_ns, id});
  std::push_heap(heap_.begin(), heap_.end(), kLater);
  return id;
}

bool TimerQueue::Cancel(TimerId id) {
  if (callbacks_.erase(id) == 0) return false;
  // Lazy cancellation leaves the heap entry; rebuild when most are dead so a
  // schedule that cancels and re-adds forever stays bounded.
  if (heap_.size() > 64 && heap_.size() > 2 * callbacks_.size()) {
    std::erase_if(heap_, [this](const Entry& e) { return !callbacks_.contains(e.id); });
    std::make_heap(heap_.begin(), heap_.end(), kLater);
  }
  return true;
}

int64_t TimerQueue::NextDeadline() {
  while (!heap_.empty()) {
    if (callbacks_.contains(heap_.front().id)) return heap_.front().deadline_ns;
    std::pop_heap(heap_.begin(), heap_.end(), kLater);
    heap_.pop_back();
  }
  return -1;
}

void TimerQueue::FireDue(const std::atomic<bool>& stop) {
  // Timers added during this round have ids >= limit; they wait for the next
  // turn, so a callback that re-adds a due timer cannot spin here forever.
  const TimerId limit = next_id_;
  const int64_t now = MonotonicNowNs();
  while (!heap_.empty()) {
    const Entry top = heap_.front();
    if (top.deadline_ns > now || top.id >= limit) return;
    std::pop_heap(heap_.begin(), heap_.end(), kLater);
    heap_.pop_back();
    auto it = callbacks_.find(top.id);
    if (it == callbacks_.end()) continue;  // cancelled
    absl::AnyInvocable<void()> callback = std::move(it->second);
    callbacks_.erase(it);
    std::move(callback)();
    if (stop.load(std::memory_order_relaxed)) return;
  }
}

bool ReadKernelDrops(int fd, uint32_t& drops) {
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t length = sizeof(meminfo);
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &length) != 0) return false;
  if (length < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t)) return false;
  drops = meminfo[SK_MEMINFO_DROPS];
  return true;
}

}  // namespace onvif::io::internal
