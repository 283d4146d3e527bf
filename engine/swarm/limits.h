// What keeps the swarm polite: the per-source rate limit, retransmission
// suppression, and the reply schedule. Pure and allocation-free after
// construction; time is passed in (monotonic nanoseconds) so tests drive it.
//
// RateLimiter. A responder that answers one datagram with N is an amplifier
// (PROTOCOL.md, "Limits and abuse"); the swarm answers at most `per_second`
// Probes per source address per one-second window. Sources hash into a fixed
// table of kRateSlots windows; two sources that share a slot share one budget,
// which errs on the side of answering less, never more. 0 = unlimited.
//
// ProbeHistory. SOAP-over-UDP (Appendix I) retransmits a Probe with the same
// bytes, hence the same MessageID, up to ~1.5 s later; WS-Discovery 2005/04
// section 5.3 has a Target Service answer a Probe once. A Probe whose
// (MessageID, context) was seen within the window is a duplicate; the swarm's
// context is the arrival interface and the source address and port, because a
// retransmission comes from the same socket, while a prober that sends one
// MessageID out of several NICs onto one segment (each from its own address)
// must get an answer on each.
// Direct-mapped table of 64-bit hashes: a hash collision at worst drops one
// reply to a distinct Probe (2^-64), an evicted entry at worst answers one
// retransmission twice after kHistorySlots newer Probes.
//
// PlanReplies. storm: every matching camera at once. spec: each camera after
// its own rand[0, max_delay] (WS-Discovery 2005/04 section 2.4,
// APP_MAX_DELAY), ordered by due time with a counting sort over milliseconds.

#ifndef ONVIF_ENGINE_SWARM_LIMITS_H_
#define ONVIF_ENGINE_SWARM_LIMITS_H_

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "engine/swarm/reply.h"

namespace onvif::swarm {

inline constexpr std::size_t kRateSlots = 4096;
inline constexpr std::size_t kHistorySlots = 8192;
static_assert((kRateSlots & (kRateSlots - 1)) == 0 && (kHistorySlots & (kHistorySlots - 1)) == 0,
              "slot counts are powers of two: the index is hash & (slots - 1)");

// One one-second window of a rate limit.
struct RateWindow {
  std::int64_t window_start_ns = INT64_MIN;
  std::uint32_t count = 0;
  // True (and counted) when this window has room at now_ns for one more.
  bool Allow(std::uint32_t per_second, std::int64_t now_ns);
};

class RateLimiter {
 public:
  explicit RateLimiter(std::uint32_t per_second) : per_second_(per_second) {}
  // True when a Probe from `source` (any stable 64-bit key of the address)
  // at `now_ns` may be answered; counts it.
  bool Allow(std::uint64_t source, std::int64_t now_ns);

 private:
  std::uint32_t per_second_;
  std::array<RateWindow, kRateSlots> slots_{};
};

// The same budget per camera, exact (one window per index): for directed
// Probes, where each camera is a device of its own.
class IndexedRateLimiter {
 public:
  IndexedRateLimiter(std::uint32_t per_second, std::size_t count) : per_second_(per_second), slots_(count) {}
  // index < count.
  bool Allow(std::size_t index, std::int64_t now_ns) {
    return per_second_ == 0 || slots_[index].Allow(per_second_, now_ns);
  }

 private:
  std::uint32_t per_second_;
  std::vector<RateWindow> slots_;
};

class ProbeHistory {
 public:
  explicit ProbeHistory(std::int64_t window_ns) : window_ns_(window_ns) {}
  // True when (message_id, context) was recorded within the window before
  // now_ns (a retransmission); otherwise records it and returns false.
  bool SeenBefore(std::string_view message_id, std::uint64_t context, std::int64_t now_ns);
  // Drops the record of a Probe that was not answered after all (no room to
  // answer it), so its retransmission gets the answer.
  void Forget(std::string_view message_id, std::uint64_t context);

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::int64_t seen_ns = INT64_MIN;
  };
  std::int64_t window_ns_;
  std::vector<Slot> slots_ = std::vector<Slot>(kHistorySlots);
};

enum class ReplyMode { kStorm, kSpec };

// Fills due_ms[i] for each cameras[i] and sorts both by due time (stable:
// equal times keep camera order). storm: all 0. spec: rand[0, max_delay_ms].
// counts must hold max_delay_ms + 2 entries (scratch); cameras, due_ms and
// scratch_* have equal sizes. Allocates nothing.
void PlanReplies(ReplyMode mode, std::uint32_t max_delay_ms, FastRng& rng, std::span<std::uint32_t> cameras,
                 std::span<std::uint32_t> due_ms, std::span<std::uint32_t> scratch_cameras,
                 std::span<std::uint32_t> scratch_due, std::span<std::uint32_t> counts);

}  // namespace onvif::swarm

#endif  // ONVIF_ENGINE_SWARM_LIMITS_H_
