#include "engine/sweep/device_store.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"

namespace onvif::sweep {
namespace {
// Record indices are kept + 1 in a uint32_t.
constexpr std::size_t kMaxSlots = std::numeric_limits<std::uint32_t>::max();
}  // namespace

absl::StatusOr<std::unique_ptr<DeviceStore>> DeviceStore::Create(std::size_t slot_count,
                                                                 FoundCallback on_found,
                                                                 std::vector<std::string> variant_names,
                                                                 FoundCallback on_resolved) {
  if (slot_count == 0 || slot_count >= kMaxSlots) {
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
      slots_(new SlotState[slot_count]),
      variant_names_(std::move(variant_names)) {}

void DeviceStore::MarkAnswered(std::uint32_t slot, unsigned variant) {
  if (slot >= slot_count_ || variant >= variant_names_.size()) return;
  const auto bit = static_cast<std::uint8_t>(1u << variant);
  std::atomic<std::uint8_t>& mask = slots_[slot].answered;
  if ((mask.load(std::memory_order_relaxed) & bit) == 0) mask.fetch_or(bit, std::memory_order_relaxed);
}

void DeviceStore::AnsweredNames(std::uint32_t slot, std::vector<std::string>& names) const {
  const std::uint8_t mask = slots_[slot].answered.load(std::memory_order_relaxed);
  std::size_t count = 0;
  for (std::size_t v = 0; v < variant_names_.size(); ++v) {
    if ((mask & (1u << v)) == 0) continue;
    if (count < names.size()) {
      names[count].assign(variant_names_[v]);
    } else {
      names.push_back(variant_names_[v]);
    }
    ++count;
  }
  names.resize(count);
}

namespace {

void AssignList(const std::vector<std::string>& from, std::vector<std::string>& out) {
  out.resize(from.size());
  for (std::size_t i = 0; i < from.size(); ++i) out[i].assign(from[i]);
}

}  // namespace

std::uint32_t DeviceStore::Intern(const std::vector<std::string>& list) {
  const auto it = list_ids_.find(list);
  if (it != list_ids_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(interned_lists_.size());
  interned_lists_.push_back(list);
  list_ids_.emplace(list, id);
  return id;
}

std::string_view DeviceStore::Pack(const std::vector<std::string>& items) {
  std::size_t size = 0;
  for (const std::string& item : items) size += item.size() + 1;
  if (size == 0) return {};
  char* at = arena_.Allocate(size - 1);
  char* out = at;
  for (const std::string& item : items) {
    if (out != at) *out++ = ' ';
    std::memcpy(out, item.data(), item.size());
    out += item.size();
  }
  return {at, size - 1};
}

void DeviceStore::Build(const Record& record, DeviceInfo& out) const {
  out.endpoint.assign(record.endpoint);
  AssignList(interned_lists_[record.types], out.types);
  AssignListItems(record.scopes, out.scopes);
  AssignListItems(record.xaddrs, out.xaddrs);
  out.metadata_version = record.metadata_version;
  AnsweredNames(record.slot, out.answered);
  AssignList(interned_lists_[record.interfaces], out.interfaces);
  AssignListItems(record.addresses, out.addresses);
  out.first_seen_ms = record.first_seen_ms;
}

DeviceStore::Record& DeviceStore::RecordFor(std::uint32_t slot) {
  std::uint32_t& index_plus_one = slots_[slot].record_plus_one;
  if (index_plus_one == 0) {
    records_.emplace_back();
    records_.back().slot = slot;
    index_plus_one = static_cast<std::uint32_t>(records_.size());
  }
  return records_[index_plus_one - 1];
}

bool DeviceStore::AddAddress(Record& record, std::uint32_t slot, std::uint64_t fingerprint,
                             absl::FunctionRef<std::string()> address) {
  std::atomic<std::uint64_t>& first = slots_[slot].first_address;
  const std::uint64_t first_fingerprint = first.load(std::memory_order_relaxed);
  if (first_fingerprint == fingerprint ||
      std::find(record.more_fingerprints.begin(), record.more_fingerprints.end(), fingerprint) !=
          record.more_fingerprints.end()) {
    return false;
  }
  const std::string text = address();
  if (first_fingerprint == 0) {
    record.addresses = arena_.Copy(text);
    // The first address becomes the lock-free fast path of MergeAddress. It
    // is published after it is recorded, so a match on it is always there.
    first.store(fingerprint, std::memory_order_release);
    return true;
  }
  record.more_fingerprints.push_back(fingerprint);
  char* at = arena_.Allocate(record.addresses.size() + 1 + text.size());
  std::memcpy(at, record.addresses.data(), record.addresses.size());
  at[record.addresses.size()] = ' ';
  std::memcpy(at + record.addresses.size() + 1, text.data(), text.size());
  record.addresses = {at, record.addresses.size() + 1 + text.size()};
  return true;
}

bool DeviceStore::Describe(std::uint32_t slot, const DeviceInfo& device,
                           std::uint64_t address_fingerprint,
                           absl::FunctionRef<std::string()> address) {
  if (slot >= slot_count_) return false;
  std::lock_guard<std::mutex> lock(mu_);
  Record& record = RecordFor(slot);
  const bool first = !record.described;
  record.endpoint = arena_.Copy(device.endpoint);
  record.types = Intern(device.types);
  record.scopes = Pack(device.scopes);
  record.xaddrs = Pack(device.xaddrs);
  record.metadata_version = device.metadata_version;
  AddAddress(record, slot, address_fingerprint, address);
  if (first) {
    record.described = true;
    record.first_seen_ms = device.first_seen_ms;
    record.interfaces = Intern(device.interfaces);
    described_order_.push_back(slots_[slot].record_plus_one - 1);
    if (on_found_) {
      Build(record, callback_scratch_);
      if (device.best_xaddr.has_value()) {
        if (!callback_scratch_.best_xaddr.has_value()) callback_scratch_.best_xaddr.emplace();
        callback_scratch_.best_xaddr->assign(*device.best_xaddr);
      } else {
        callback_scratch_.best_xaddr.reset();
      }
      on_found_(callback_scratch_);
    }
  }
  return first;
}

bool DeviceStore::FillXAddrs(std::uint32_t slot, const std::vector<std::string>& xaddrs) {
  if (slot >= slot_count_ || xaddrs.empty()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  Record& record = RecordFor(slot);
  if (!record.described || !record.xaddrs.empty()) return false;
  record.xaddrs = Pack(xaddrs);
  if (on_resolved_) {
    Build(record, callback_scratch_);
    callback_scratch_.best_xaddr.reset();
    on_resolved_(callback_scratch_);
  }
  return true;
}

void DeviceStore::MergeAddress(std::uint32_t slot, std::uint64_t address_fingerprint,
                               absl::FunctionRef<std::string()> address) {
  if (slot >= slot_count_) return;
  if (slots_[slot].first_address.load(std::memory_order_acquire) == address_fingerprint) return;
  std::lock_guard<std::mutex> lock(mu_);
  AddAddress(RecordFor(slot), slot, address_fingerprint, address);
}

void DeviceStore::MergeAddress(std::uint32_t slot, std::uint64_t address_fingerprint,
                               absl::FunctionRef<std::string()> address,
                               absl::FunctionRef<std::vector<std::string>()> xaddrs) {
  if (slot >= slot_count_) return;
  if (slots_[slot].first_address.load(std::memory_order_acquire) == address_fingerprint) return;
  std::lock_guard<std::mutex> lock(mu_);
  Record& record = RecordFor(slot);
  if (!AddAddress(record, slot, address_fingerprint, address) || !record.described) return;
  // (Undescribed: Describe will set the XAddrs from its own reply.)
  std::vector<std::string> merged;
  AssignListItems(record.xaddrs, merged);
  const std::size_t known = merged.size();
  for (std::string& xaddr : xaddrs()) {
    if (std::find(merged.begin(), merged.end(), xaddr) == merged.end()) merged.push_back(std::move(xaddr));
  }
  if (merged.size() != known) record.xaddrs = Pack(merged);
}

std::vector<std::pair<std::uint32_t, DeviceInfo>> DeviceStore::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::uint32_t, DeviceInfo>> out(described_order_.size());
  for (std::size_t i = 0; i < described_order_.size(); ++i) {
    const Record& record = records_[described_order_[i]];
    out[i].first = record.slot;
    Build(record, out[i].second);
  }
  return out;
}

std::size_t DeviceStore::CountWithoutXAddrs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t count = 0;
  for (const std::uint32_t index : described_order_) count += records_[index].xaddrs.empty();
  return count;
}

std::size_t DeviceStore::described() const {
  std::lock_guard<std::mutex> lock(mu_);
  return described_order_.size();
}

}  // namespace onvif::sweep
