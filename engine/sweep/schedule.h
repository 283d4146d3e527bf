// When a sweep sends its Probes and when it ends: pure functions of an
// injected random source and of what has been seen, so tests pin them down
// without sockets or clocks.
//
// Retransmission (SOAP-over-UDP 1.1, Appendix I "Example retransmission
// algorithm"): send; wait T = rand[UDP_MIN_DELAY, UDP_MAX_DELAY] = [50, 250]
// ms; re-send the SAME bytes (same MessageID, so devices can treat it as a
// repeat); T = min(2T, UDP_UPPER_DELAY = 500 ms); until `repeat` sends in
// total. The 2004 draft uses 4 multicast sends in total (our default); it is
// a setting because implementations differ (PROTOCOL.md "Timing").
//
// Adaptive end. A device answers a multicast Probe within APP_MAX_DELAY (500
// ms, WS-Discovery 2005/04 section 2.4) of receiving it, so once
//   max(last send + APP_MAX_DELAY, last new endpoint) + quiet
// has passed, every device that heard any Probe has had its chance and no
// new endpoint has turned up for `quiet`. The hard cap `timeout` always wins.
// Peers wait a fixed 1-5 s instead (PROTOCOL.md).

#ifndef ONVIF_ENGINE_SWEEP_SCHEDULE_H_
#define ONVIF_ENGINE_SWEEP_SCHEDULE_H_

#include <optional>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"

namespace onvif::sweep {

inline constexpr int kDefaultRepeat = 4;
// Sends are bounded so a typo cannot make a multicast flood.
inline constexpr int kMaxRepeat = 16;
inline constexpr absl::Duration kDefaultQuiet = absl::Milliseconds(200);
inline constexpr absl::Duration kDefaultTimeout = absl::Seconds(5);

// The first retransmission delay T, drawn uniformly from [50, 250] ms in
// whole milliseconds from `gen`.
absl::Duration DrawFirstDelay(absl::BitGenRef gen);

// Offsets from the sweep's start of each of `repeat` sends (repeat clamped
// to [1, kMaxRepeat]) for a first delay T: 0, T, T + 2T, ... with each gap
// min(previous gap * 2, 500 ms). Deterministic.
std::vector<absl::Duration> ProbeSendOffsets(int repeat, absl::Duration first_delay);

// DrawFirstDelay then ProbeSendOffsets.
std::vector<absl::Duration> ProbeSendOffsets(int repeat, absl::BitGenRef gen);

struct EndPolicy {
  absl::Duration app_max_delay = absl::Milliseconds(500);  // APP_MAX_DELAY
  absl::Duration quiet = kDefaultQuiet;
  absl::Duration timeout = kDefaultTimeout;  // hard cap
};

// The offset from the sweep's start at which it ends, given the offset of the
// last scheduled send and of the last new endpoint (none yet: nullopt):
// min(timeout, max(last_send + app_max_delay, last_new) + quiet).
absl::Duration EndOffset(const EndPolicy& policy, absl::Duration last_send,
                         std::optional<absl::Duration> last_new);

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_SCHEDULE_H_
