// Churn for the simulated swarm (onvif-swarm --churn): cameras that leave,
// come back restarted, and change their metadata, as cameras in the field do.
//
// Design note
// -----------
// Each event picks one camera uniformly with a FastRng seeded from the swarm's
// seed, and what happens follows from the camera's presence:
//   - an absent camera rejoins: a restart (WS-Discovery 2005/04 section 7:
//     a new, higher InstanceId; MessageNumber starts again at 1), announced
//     with a Hello (section 4.1);
//   - a present camera leaves (Bye, section 4.2) or bumps its
//     MetadataVersion (announced with a Hello in the same instance, next
//     MessageNumber), even odds.
// So the sequence of (kind, camera) is a pure function of the seed (presence
// itself follows from the earlier events), whatever the timing. Leaves and
// rejoins balance when present/2 = absent: in steady state about a third of
// the cameras are away; from a full swarm of N cameras that takes on the
// order of N / rate seconds, and until then most events are leaves and
// updates. Each camera is away for about N / rate seconds on average.
//
// The rate is kept by the clock, not by counting timer ticks: after t
// seconds, floor(rate * t) events are due (ChurnEventsDue), so a late tick
// catches up and the long-run rate is exact.
//
// A restart's InstanceId (RestartInstanceId) is what a clock-based counter
// gives (the WSDAPI recommendation: the restart time in seconds): the run's
// base InstanceId plus the whole seconds since the run started, and at least
// one more than the camera's previous one (a camera restarting twice within a
// second still goes up). With the default base (the start time in seconds)
// it is about the wall clock; with --instance-id N it is N + elapsed seconds.

#ifndef ONVIF_ENGINE_SWARM_CHURN_H_
#define ONVIF_ENGINE_SWARM_CHURN_H_

#include <cstdint>
#include <span>

#include "engine/swarm/reply.h"

namespace onvif::swarm {

enum class ChurnKind : std::uint8_t { kLeave, kRejoin, kUpdate };

struct ChurnEvent {
  ChurnKind kind = ChurnKind::kUpdate;
  std::uint32_t camera = 0;
};

class ChurnPlanner {
 public:
  // cameras >= 1.
  ChurnPlanner(std::uint64_t seed, std::uint32_t cameras);
  // The next event, given which cameras are present now (present[i] != 0;
  // present.size() == cameras). The caller applies it before the next call.
  ChurnEvent Next(std::span<const std::uint8_t> present);

 private:
  FastRng rng_;
  std::uint32_t cameras_;
};

// Events due `elapsed_ns` into a churn of `per_second` events per second.
std::uint64_t ChurnEventsDue(double per_second, std::int64_t elapsed_ns);

// The InstanceId of a camera restarting `elapsed_ns` after the run started
// with InstanceId `base`, whose last one was `previous`: max(base + whole
// seconds elapsed, previous + 1).
std::uint64_t RestartInstanceId(std::uint64_t base, std::uint64_t previous, std::int64_t elapsed_ns);

}  // namespace onvif::swarm

#endif  // ONVIF_ENGINE_SWARM_CHURN_H_
