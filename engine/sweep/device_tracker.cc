#include "engine/sweep/device_tracker.h"

#include <algorithm>
#include <utility>

#include "engine/base/strings.h"

namespace onvif::sweep {
namespace {

void AddIfMissing(std::vector<std::string>& list, std::string_view value) {
  if (value.empty()) return;
  if (std::find(list.begin(), list.end(), value) == list.end()) list.emplace_back(value);
}

bool MetadataWentUp(const std::optional<std::uint64_t>& had, const std::optional<std::uint64_t>& now) {
  return now.has_value() && (!had.has_value() || *now > *had);
}

}  // namespace

std::string_view ViaName(Via via) {
  switch (via) {
    case Via::kHello: return "hello";
    case Via::kProbe: return "probe";
    case Via::kResolve: return "resolve";
    case Via::kBye: return "bye";
    case Via::kExpired: return "expired";
  }
  return "";
}

std::string_view ChangeName(Change change) {
  switch (change) {
    case Change::kNone: return "";
    case Change::kFound: return "found";
    case Change::kUpdated: return "updated";
    case Change::kGone: return "gone";
  }
  return "";
}

DeviceTracker::Order DeviceTracker::Compare(const Record& record, const SequencePosition& position,
                                            bool announcement) {
  if (!record.has_sequence) return Order::kFresh;
  if (position.instance_id < record.instance_id) return Order::kStale;
  if (position.instance_id > record.instance_id) return Order::kRestart;
  if (!announcement || position.sequence_id != record.sequence_id) return Order::kFresh;
  if (position.message_number < record.message_number) return Order::kStale;
  if (position.message_number == record.message_number) return Order::kDuplicate;
  return Order::kFresh;
}

DeviceTracker::DeviceTracker(std::size_t max_devices, Ranker ranker)
    : max_devices_(max_devices), ranker_(std::move(ranker)) {}

void DeviceTracker::Rank(Record& record) {
  if (ranker_) record.device.best_xaddr = ranker_(record.device);
}

DeviceTracker::Event DeviceTracker::Observe(const Observation& observation, std::int64_t now_ms,
                                            absl::FunctionRef<DeviceInfo()> describe,
                                            absl::FunctionRef<std::string()> peer_text) {
  const bool bye = observation.via == Via::kBye;
  auto it = records_.find(base::ToAbsl(observation.endpoint));
  const bool new_record = it == records_.end();
  if (new_record) {
    if (bye) {
      ++counters_.unknown_byes;
      return {};
    }
    if (records_.size() >= max_devices_) {
      ++counters_.full;
      return {};
    }
    it = records_.try_emplace(std::string(observation.endpoint)).first;
    Record& record = it->second;
    record.device = describe();
    record.device.endpoint = std::string(observation.endpoint);
    record.device.first_seen_ms = now_ms;
  } else {
    Record& record = it->second;
    if (observation.app_sequence.has_value()) {
      switch (Compare(record, *observation.app_sequence, observation.via == Via::kHello || bye)) {
        case Order::kStale:
          ++counters_.stale;
          return {};
        case Order::kDuplicate:
          ++counters_.duplicates;
          return {};
        case Order::kFresh:
        case Order::kRestart:
          break;
      }
    }
  }

  Record& record = it->second;
  bool restarted = false;
  if (const auto& position = observation.app_sequence; position.has_value()) {
    restarted = record.has_sequence && position->instance_id > record.instance_id;
    const bool same_sequence = record.has_sequence && position->instance_id == record.instance_id &&
                               position->sequence_id == record.sequence_id;
    record.message_number =
        same_sequence ? std::max(record.message_number, position->message_number) : position->message_number;
    record.instance_id = position->instance_id;
    if (!same_sequence) record.sequence_id = std::string(position->sequence_id);
    record.has_sequence = true;
  }

  if (bye) {
    if (!record.present) return {};
    record.present = false;
    --present_;
    ++counters_.gone;
    return {Change::kGone, Via::kBye, &record.device};
  }

  record.last_heard_ms = now_ms;
  AddIfMissing(record.device.interfaces, observation.interface_name);
  if (observation.peer_fingerprint != 0 &&
      std::find(record.address_fingerprints.begin(), record.address_fingerprints.end(),
                observation.peer_fingerprint) == record.address_fingerprints.end()) {
    record.address_fingerprints.push_back(observation.peer_fingerprint);
    record.device.addresses.push_back(peer_text());
  }
  AddIfMissing(record.device.answered, observation.answered);
  Change change = Change::kNone;
  if (!record.present) {
    change = Change::kFound;
  } else if (restarted || MetadataWentUp(record.device.metadata_version, observation.metadata_version)) {
    change = Change::kUpdated;
  }
  if (change == Change::kNone) return {};
  if (!new_record) {
    // A known device's description is replaced by the message's; XAddrs
    // stay when the message has none (a Hello may omit them).
    DeviceInfo described = describe();
    record.device.types = std::move(described.types);
    record.device.scopes = std::move(described.scopes);
    if (!described.xaddrs.empty()) record.device.xaddrs = std::move(described.xaddrs);
    record.device.metadata_version = described.metadata_version;
  }
  if (!record.present) {
    record.present = true;
    ++present_;
  }
  ++(change == Change::kFound ? counters_.found : counters_.updated);
  Rank(record);
  return {change, observation.via, &record.device};
}

const DeviceInfo* DeviceTracker::FillXAddrs(std::string_view endpoint, std::vector<std::string> xaddrs) {
  const auto it = records_.find(base::ToAbsl(endpoint));
  if (it == records_.end() || !it->second.present || !it->second.device.xaddrs.empty() || xaddrs.empty()) {
    return nullptr;
  }
  it->second.device.xaddrs = std::move(xaddrs);
  ++counters_.updated;
  Rank(it->second);
  return &it->second.device;
}

std::vector<DeviceTracker::Event> DeviceTracker::Expire(std::int64_t now_ms, std::int64_t expire_after_ms) {
  std::vector<Event> events;
  for (auto& [endpoint, record] : records_) {
    if (!record.present || now_ms - record.last_heard_ms < expire_after_ms) continue;
    record.present = false;
    --present_;
    ++counters_.gone;
    events.push_back({Change::kGone, Via::kExpired, &record.device});
  }
  return events;
}

std::vector<const DeviceInfo*> DeviceTracker::PresentDevices() const {
  std::vector<const DeviceInfo*> devices;
  for (const auto& [endpoint, record] : records_) {
    if (record.present) devices.push_back(&record.device);
  }
  return devices;
}

}  // namespace onvif::sweep
