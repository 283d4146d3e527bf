#include "engine/sweep/schedule.h"

#include <algorithm>

#include "absl/random/distributions.h"
#include "engine/wsd/constants.h"

namespace onvif::sweep {

absl::Duration DrawFirstDelay(absl::BitGenRef gen) {
  return absl::Milliseconds(
      absl::Uniform<int>(absl::IntervalClosedClosed, gen, wsd::kUdpMinDelayMs, wsd::kUdpMaxDelayMs));
}

std::vector<absl::Duration> ProbeSendOffsets(int repeat, absl::Duration first_delay) {
  repeat = std::clamp(repeat, 1, kMaxRepeat);
  const absl::Duration upper = absl::Milliseconds(wsd::kUdpUpperDelayMs);
  std::vector<absl::Duration> offsets;
  offsets.reserve(repeat);
  absl::Duration at = absl::ZeroDuration();
  absl::Duration gap = std::min(first_delay, upper);
  for (int i = 0; i < repeat; ++i) {
    offsets.push_back(at);
    at += gap;
    gap = std::min(gap * 2, upper);
  }
  return offsets;
}

std::vector<absl::Duration> ProbeSendOffsets(int repeat, absl::BitGenRef gen) {
  return ProbeSendOffsets(repeat, DrawFirstDelay(gen));
}

absl::Duration EndOffset(const EndPolicy& policy, absl::Duration last_send,
                         std::optional<absl::Duration> last_new) {
  absl::Duration settled = last_send + policy.app_max_delay;
  if (last_new.has_value()) settled = std::max(settled, *last_new);
  return std::min(policy.timeout, settled + policy.quiet);
}

}  // namespace onvif::sweep
