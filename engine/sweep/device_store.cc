#include "engine/sweep/device_store.h"

#include <algorithm>
#include <limits>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"

namespace onvif::sweep {
namespace {
constexpr std::uint32_t kNoRecord = std::numeric_limits<std::uint32_t>::max();
}  // namespace

absl::StatusOr<std::unique_ptr<DeviceStore>> DeviceStore::Create(std::size_t slot_count,
                                                                 FoundCallback on_found,
                                                                 std::vector<std::string> variant_names,
                                                                 FoundCallback on_resolved) {
  if (slot_count == 0 || slot_count >= kNoRecord) {
    return absl::InvalidArgumentError(absl::StrCat("device store: bad slot count ", slot_count));
  }
  if (variant_names.size() > kMaxVariants) {
    return absl::InvalidArgumentError(
        absl::StrCat("device store: ", variant_names.size(), " probe variants, at most ", kMaxVariants));
  }
  return std::unique_ptr<DeviceStore>(
      new DeviceStore(slot_count, std::move(on_found), std::move(variant_names), std::move(on_resolved)));
}

DeviceStore::DeviceStore(std::size_t slot_count, FoundCallback on_found, std::vector<std::string> variant_names,
                         FoundCallback on_resolved)
    : slot_count_(slot_count),
      on_found_(std::move(on_found)),
      on_resolved_(std::move(on_resolved)),
      first_address_(new std::atomic<std::uint64_t>[slot_count]()),
      variant_names_(std::move(variant_names)),
      answered_(new std::atomic<std::uint8_t>[slot_count]()),
      record_of_slot_(slot_count, kNoRecord) {}

void DeviceStore::MarkAnswered(std::uint32_t slot, unsigned variant) {
  if (slot >= slot_count_ || variant >= variant_names_.size()) return;
  const auto bit = static_cast<std::uint8_t>(1u << variant);
  std::atomic<std::uint8_t>& mask = answered_[slot];
  if ((mask.load(std::memory_order_relaxed) & bit) == 0) mask.fetch_or(bit, std::memory_order_relaxed);
}

std::vector<std::string> DeviceStore::AnsweredNames(std::uint32_t slot) const {
  std::vector<std::string> names;
  const std::uint8_t mask = answered_[slot].load(std::memory_order_relaxed);
  for (std::size_t v = 0; v < variant_names_.size(); ++v) {
    if (mask & (1u << v)) names.push_back(variant_names_[v]);
  }
  return names;
}

DeviceStore::Record& DeviceStore::RecordFor(std::uint32_t slot) {
  std::uint32_t& index = record_of_slot_[slot];
  if (index == kNoRecord) {
    index = static_cast<std::uint32_t>(records_.size());
    records_.emplace_back();
    records_.back().slot = slot;
  }
  return records_[index];
}

bool DeviceStore::AddAddress(Record& record, std::uint32_t slot, std::uint64_t fingerprint,
                             absl::FunctionRef<std::string()> address) {
  if (std::find(record.address_fingerprints.begin(), record.address_fingerprints.end(),
                fingerprint) != record.address_fingerprints.end()) {
    return false;
  }
  record.address_fingerprints.push_back(fingerprint);
  record.info.addresses.push_back(address());
  // The first address becomes the lock-free fast path of MergeAddress. It is
  // published after it is in the set, so a match on it is always recorded.
  if (record.address_fingerprints.size() == 1) {
    first_address_[slot].store(fingerprint, std::memory_order_release);
  }
  return true;
}

bool DeviceStore::Describe(std::uint32_t slot, DeviceInfo device,
                           std::uint64_t address_fingerprint,
                           absl::FunctionRef<std::string()> address) {
  if (slot >= slot_count_) return false;
  std::lock_guard<std::mutex> lock(mu_);
  Record& record = RecordFor(slot);
  const bool first = !record.described;
  DeviceInfo& info = record.info;
  info.endpoint = std::move(device.endpoint);
  info.types = std::move(device.types);
  info.scopes = std::move(device.scopes);
  info.xaddrs = std::move(device.xaddrs);
  info.metadata_version = device.metadata_version;
  info.best_xaddr = std::move(device.best_xaddr);
  AddAddress(record, slot, address_fingerprint, address);
  if (first) {
    record.described = true;
    info.first_seen_ms = device.first_seen_ms;
    info.interfaces = std::move(device.interfaces);
    info.answered = AnsweredNames(slot);
    described_order_.push_back(record_of_slot_[slot]);
    if (on_found_) on_found_(info);
  }
  return first;
}

bool DeviceStore::FillXAddrs(std::uint32_t slot, std::vector<std::string> xaddrs) {
  if (slot >= slot_count_ || xaddrs.empty()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  Record& record = RecordFor(slot);
  if (!record.described || !record.info.xaddrs.empty()) return false;
  record.info.xaddrs = std::move(xaddrs);
  if (on_resolved_) {
    record.info.answered = AnsweredNames(slot);
    on_resolved_(record.info);
  }
  return true;
}

void DeviceStore::MergeAddress(std::uint32_t slot, std::uint64_t address_fingerprint,
                               absl::FunctionRef<std::string()> address) {
  if (slot >= slot_count_) return;
  if (first_address_[slot].load(std::memory_order_acquire) == address_fingerprint) return;
  std::lock_guard<std::mutex> lock(mu_);
  AddAddress(RecordFor(slot), slot, address_fingerprint, address);
}

void DeviceStore::MergeAddress(std::uint32_t slot, std::uint64_t address_fingerprint,
                               absl::FunctionRef<std::string()> address,
                               absl::FunctionRef<std::vector<std::string>()> xaddrs) {
  if (slot >= slot_count_) return;
  if (first_address_[slot].load(std::memory_order_acquire) == address_fingerprint) return;
  std::lock_guard<std::mutex> lock(mu_);
  Record& record = RecordFor(slot);
  if (!AddAddress(record, slot, address_fingerprint, address) || !record.described) return;
  // (Undescribed: Describe will set the XAddrs from its own reply.)
  for (std::string& xaddr : xaddrs()) {
    if (std::find(record.info.xaddrs.begin(), record.info.xaddrs.end(), xaddr) == record.info.xaddrs.end()) {
      record.info.xaddrs.push_back(std::move(xaddr));
    }
  }
}

std::vector<std::pair<std::uint32_t, DeviceInfo>> DeviceStore::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::uint32_t, DeviceInfo>> out;
  out.reserve(described_order_.size());
  for (std::uint32_t index : described_order_) {
    out.emplace_back(records_[index].slot, records_[index].info);
    out.back().second.answered = AnsweredNames(records_[index].slot);
  }
  return out;
}

std::vector<std::pair<std::uint32_t, DeviceInfo>> DeviceStore::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::uint32_t, DeviceInfo>> out;
  out.reserve(described_order_.size());
  for (std::uint32_t index : described_order_) {
    out.emplace_back(records_[index].slot, std::move(records_[index].info));
    out.back().second.answered = AnsweredNames(records_[index].slot);
  }
  return out;
}

std::size_t DeviceStore::described() const {
  std::lock_guard<std::mutex> lock(mu_);
  return described_order_.size();
}

}  // namespace onvif::sweep
