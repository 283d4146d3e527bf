#include "engine/swarm/limits.h"

#include <algorithm>
#include <functional>

#include "engine/swarm/identity.h"

namespace onvif::swarm {
namespace {
constexpr std::int64_t kSecondNs = 1'000'000'000;
}  // namespace

bool RateWindow::Allow(std::uint32_t per_second, std::int64_t now_ns) {
  if (window_start_ns == INT64_MIN || now_ns - window_start_ns >= kSecondNs) {
    window_start_ns = now_ns;
    count = 0;
  }
  if (count >= per_second) return false;
  ++count;
  return true;
}

bool RateLimiter::Allow(std::uint64_t source, std::int64_t now_ns) {
  return per_second_ == 0 || slots_[Mix64(source) & (kRateSlots - 1)].Allow(per_second_, now_ns);
}

void ProbeHistory::Forget(std::string_view message_id, std::uint64_t context) {
  const std::uint64_t hash = Mix64(std::hash<std::string_view>{}(message_id) ^ Mix64(context));
  Slot& slot = slots_[hash & (kHistorySlots - 1)];
  if (slot.hash == hash) slot.seen_ns = INT64_MIN;
}

bool ProbeHistory::SeenBefore(std::string_view message_id, std::uint64_t context, std::int64_t now_ns) {
  const std::uint64_t hash = Mix64(std::hash<std::string_view>{}(message_id) ^ Mix64(context));
  Slot& slot = slots_[hash & (kHistorySlots - 1)];
  if (slot.hash == hash && slot.seen_ns != INT64_MIN && now_ns - slot.seen_ns <= window_ns_) return true;
  slot.hash = hash;
  slot.seen_ns = now_ns;
  return false;
}

void PlanReplies(ReplyMode mode, std::uint32_t max_delay_ms, FastRng& rng, std::span<std::uint32_t> cameras,
                 std::span<std::uint32_t> due_ms, std::span<std::uint32_t> scratch_cameras,
                 std::span<std::uint32_t> scratch_due, std::span<std::uint32_t> counts) {
  const std::size_t n = cameras.size();
  if (mode == ReplyMode::kStorm || max_delay_ms == 0) {
    std::fill(due_ms.begin(), due_ms.begin() + n, 0);
    return;
  }
  std::fill(counts.begin(), counts.begin() + max_delay_ms + 2, 0);
  for (std::size_t i = 0; i < n; ++i) {
    scratch_due[i] = rng.UpTo(max_delay_ms);
    scratch_cameras[i] = cameras[i];
    ++counts[scratch_due[i] + 1];
  }
  for (std::uint32_t ms = 0; ms <= max_delay_ms; ++ms) counts[ms + 1] += counts[ms];
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t slot = counts[scratch_due[i]]++;
    cameras[slot] = scratch_cameras[i];
    due_ms[slot] = scratch_due[i];
  }
}

}  // namespace onvif::swarm
