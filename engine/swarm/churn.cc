#include "engine/swarm/churn.h"

#include <algorithm>
#include <cmath>

#include "engine/swarm/identity.h"

namespace onvif::swarm {

ChurnPlanner::ChurnPlanner(std::uint64_t seed, std::uint32_t cameras)
    // Its own stream: Mix64 of a constant apart from the identities' (seed, i).
    : rng_(Mix64(seed ^ 0x636875726e000000ULL)), cameras_(cameras) {}

ChurnEvent ChurnPlanner::Next(std::span<const std::uint8_t> present) {
  ChurnEvent event;
  event.camera = rng_.UpTo(cameras_ - 1);
  if (present[event.camera] == 0) {
    event.kind = ChurnKind::kRejoin;
  } else {
    event.kind = (rng_.Next() >> 63) != 0 ? ChurnKind::kLeave : ChurnKind::kUpdate;
  }
  return event;
}

std::uint64_t ChurnEventsDue(double per_second, std::int64_t elapsed_ns) {
  if (per_second <= 0 || elapsed_ns <= 0) return 0;
  return static_cast<std::uint64_t>(std::floor(per_second * static_cast<double>(elapsed_ns) / 1e9));
}

std::uint64_t RestartInstanceId(std::uint64_t base, std::uint64_t previous, std::int64_t elapsed_ns) {
  const std::uint64_t seconds = elapsed_ns > 0 ? static_cast<std::uint64_t>(elapsed_ns / 1'000'000'000) : 0;
  return std::max(base + seconds, previous + 1);
}

}  // namespace onvif::swarm
