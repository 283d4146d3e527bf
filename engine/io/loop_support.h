// Parts both EventLoop backends share, so that their observable behaviour is
// the same by construction: option limits, the monotonic clock, the timer
// queue (ordering, ties, lazy cancellation, the wall-to-monotonic anchor) and
// kernel-drop accounting (SO_RXQ_OVFL / SO_MEMINFO). Internal to engine/io.

#ifndef ONVIF_ENGINE_IO_LOOP_SUPPORT_H_
#define ONVIF_ENGINE_IO_LOOP_SUPPORT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/io/event_loop.h"

namespace onvif::io::internal {

// recvmmsg's vlen is capped by the kernel at UIO_MAXIOV; the uring backend
// keeps the same limit so both accept the same options.
inline constexpr size_t kMaxBatchSize = 1024;
// A UDP payload never exceeds 65,535 bytes; more is only wasted memory, but
// allow headroom for callers that size slots for GRO-coalesced reads later.
inline constexpr size_t kMaxDatagramSize = size_t{1} << 20;

// InvalidArgument when an option is out of range (see EpollLoop::Create).
absl::Status ValidateOptions(const EventLoopOptions& options);

int64_t MonotonicNowNs();
int64_t SaturatingAdd(int64_t a, int64_t b);

// One-shot timers on CLOCK_MONOTONIC: a binary min-heap of (deadline, id)
// with lazy cancellation. Fires in deadline order, ties in the order added;
// a timer added while firing waits for the next round.
class TimerQueue {
 public:
  TimerQueue() { AnchorClocks(); }

  // absl::Time <-> CLOCK_MONOTONIC: one offset, taken at creation and at the
  // start of each Run / RunUntil, so equal absl::Times map to equal
  // deadlines and a wall-clock step moves no timer already added.
  void AnchorClocks();
  int64_t ToMonotonicNs(absl::Time when) const;

  TimerId Add(absl::Time when, absl::AnyInvocable<void()> callback) {
    return AddAt(ToMonotonicNs(when), std::move(callback));
  }
  TimerId Add(absl::Duration delay, absl::AnyInvocable<void()> callback) {
    return AddAt(SaturatingAdd(MonotonicNowNs(), absl::ToInt64Nanoseconds(delay)), std::move(callback));
  }
  bool Cancel(TimerId id);
  // The earliest pending deadline; -1 when no timer is pending.
  int64_t NextDeadline();
  // Runs the callbacks that are due now; returns early once `stop` is set
  // (by a callback or another thread).
  void FireDue(const std::atomic<bool>& stop);

 private:
  struct Entry {
    int64_t deadline_ns;
    TimerId id;
  };
  TimerId AddAt(int64_t deadline_ns, absl::AnyInvocable<void()> callback);

  std::vector<Entry> heap_;
  absl::flat_hash_map<TimerId, absl::AnyInvocable<void()>> callbacks_;
  TimerId next_id_ = 1;
  absl::Time anchor_wall_;
  int64_t anchor_monotonic_ns_ = 0;
};

// The socket's cumulative drop counter (sk_drops, SO_MEMINFO); false when
// the kernel does not report it.
bool ReadKernelDrops(int fd, uint32_t& drops);

// Turns samples of the cumulative, wrapping u32 drop counter (from the
// SO_RXQ_OVFL cmsg or SO_MEMINFO) into a count of new drops, each counted
// once: a sample not ahead of the last one (a datagram queued before the last
// SO_MEMINFO read) adds nothing.
inline void ApplyDropCount(uint32_t& last_drop_count, uint64_t& kernel_drops, uint32_t drop_count) {
  const uint32_t delta = drop_count - last_drop_count;
  if (delta != 0 && delta < (uint32_t{1} << 31)) {
    kernel_drops += delta;
    last_drop_count = drop_count;
  }
}

}  // namespace onvif::io::internal

#endif  // ONVIF_ENGINE_IO_LOOP_SUPPORT_H_
