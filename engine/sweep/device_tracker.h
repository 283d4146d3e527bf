// DeviceTracker: what a watch (onvif-sweep --watch) knows about each
// endpoint over time, and which messages are news. Pure: no sockets, no
// clocks (callers pass `now`), so tests pin every rule down.
//
// Design note
// -----------
// One record per endpoint (WS-Addressing EndpointReference/Address), kept
// after the device leaves so that a replayed announcement from before is
// still recognized as stale. Each message is one Observation; the tracker
// answers with an Event: found / updated / gone / nothing.
//
// AppSequence (WS-Discovery 2005/04 section 7; the rules WSDAPI applies):
//   - an InstanceId below the record's: stale (from before a restart);
//   - a higher InstanceId: the device restarted; its MessageNumbers start
//     over, so the record takes the new sequence;
//   - same InstanceId and SequenceId: a Hello or Bye whose MessageNumber is
//     below the record's is stale, equal is a duplicate (the same message
//     received twice: several interfaces, a repeat);
//   - same InstanceId, another SequenceId: a separate sequence of the same
//     instance; MessageNumbers are not comparable across sequences, so it is
//     accepted and the record follows it.
// Stale and duplicate messages are counted and change nothing, not even
// "last heard": a replay must not keep a departed device alive.
// ProbeMatches and ResolveMatches are answers to our own fresh MessageIDs,
// so a replay cannot relate to them; their MessageNumber is not held against
// them (cameras often pre-render the number, so two answers repeat it) but
// it raises the record's, and a lower InstanceId is stale as for any message.
//
// What is news, for a present device: a restart (higher InstanceId) or a
// higher MetadataVersion -> "updated", and the description is replaced by
// the message's (Types, Scopes, XAddrs, MetadataVersion; XAddrs are kept
// when the message has none); Bye -> "gone". Anything else only refreshes
// "last heard" and merges the interface and source address. For an absent
// device (never seen, or gone): Hello / ProbeMatch / ResolveMatch -> "found".
// A Bye from an unknown endpoint is counted, not recorded.
// Expire(now): a present device not heard from for `expire_after` is "gone"
// via "expired".
//
// Memory: at most `max_devices` records; an endpoint beyond that is counted
// `full` and not tracked.

#ifndef ONVIF_ENGINE_SWEEP_DEVICE_TRACKER_H_
#define ONVIF_ENGINE_SWEEP_DEVICE_TRACKER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "engine/sweep/result.h"

namespace onvif::sweep {

// How a watch learned about a device (the "via" of an event).
enum class Via { kHello, kProbe, kResolve, kBye, kExpired };
std::string_view ViaName(Via via);  // "hello", "probe", "resolve", "bye", "expired"

enum class Change { kNone, kFound, kUpdated, kGone };
std::string_view ChangeName(Change change);  // "", "found", "updated", "gone"

// An AppSequence header as received; sequence_id empty when absent.
struct SequencePosition {
  std::uint64_t instance_id = 0;
  std::string_view sequence_id;
  std::uint64_t message_number = 0;
};

// One message about one endpoint. Exactly one of the Via kinds but kExpired.
struct Observation {
  Via via = Via::kHello;
  std::string_view endpoint;
  std::optional<SequencePosition> app_sequence;
  std::optional<std::uint64_t> metadata_version;
  std::string_view interface_name;  // where it arrived
  // Its source address, as a nonzero fingerprint (PeerFingerprint); the
  // text is asked for only when the address is new to the device.
  std::uint64_t peer_fingerprint = 0;
  std::string_view answered;        // the Probe variant a ProbeMatch answers; else empty
};

struct TrackerCounters {
  std::uint64_t found = 0;
  std::uint64_t updated = 0;
  std::uint64_t gone = 0;
  std::uint64_t stale = 0;       // lower InstanceId, or lower MessageNumber in an announcement
  std::uint64_t duplicates = 0;  // an announcement with the MessageNumber already seen
  std::uint64_t unknown_byes = 0;
  std::uint64_t full = 0;        // endpoints beyond max_devices, not tracked
};

class DeviceTracker {
 public:
  struct Event {
    Change change = Change::kNone;
    Via via = Via::kHello;
    // The record after the change; valid until the next call.
    const DeviceInfo* device = nullptr;
  };

  // Picks a device's best_xaddr (xaddr_rank.h) whenever its XAddrs or
  // interfaces change; may be null.
  using Ranker = std::function<std::optional<std::string>(const DeviceInfo&)>;
  DeviceTracker(std::size_t max_devices, Ranker ranker);

  // Applies one message. `describe` builds the message's description of the
  // device (Types, Scopes, XAddrs, MetadataVersion); it is called only when
  // the record takes it (found, updated), so a repeat allocates nothing.
  // `peer_text` gives the source address's text, called only when it is new
  // to the device. `now_ms` is the watch's clock in milliseconds since it
  // started.
  Event Observe(const Observation& observation, std::int64_t now_ms, absl::FunctionRef<DeviceInfo()> describe,
                absl::FunctionRef<std::string()> peer_text);

  // A ResolveMatch filled in the XAddrs of a present device that had none:
  // the updated record, or null when nothing changed.
  const DeviceInfo* FillXAddrs(std::string_view endpoint, std::vector<std::string> xaddrs);

  // Present devices not heard from since now_ms - expire_after, now gone.
  // Each event's device stays valid until the next non-const call.
  std::vector<Event> Expire(std::int64_t now_ms, std::int64_t expire_after_ms);

  std::size_t present() const { return present_; }
  std::size_t tracked() const { return records_.size(); }
  const TrackerCounters& counters() const { return counters_; }
  // Every present device, in no particular order.
  std::vector<const DeviceInfo*> PresentDevices() const;

 private:
  struct Record {
    DeviceInfo device;
    bool present = false;
    bool has_sequence = false;
    std::uint64_t instance_id = 0;
    std::string sequence_id;
    std::uint64_t message_number = 0;
    std::int64_t last_heard_ms = 0;
    std::vector<std::uint64_t> address_fingerprints;  // of device.addresses, in order
  };
  enum class Order { kFresh, kRestart, kDuplicate, kStale };
  static Order Compare(const Record& record, const SequencePosition& position, bool announcement);
  void Rank(Record& record);

  const std::size_t max_devices_;
  const Ranker ranker_;
  absl::flat_hash_map<std::string, Record> records_;
  std::size_t present_ = 0;
  TrackerCounters counters_;
};

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_DEVICE_TRACKER_H_
