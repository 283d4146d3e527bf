// DeviceStore: the devices a sweep found, shared by its workers.
//
// Design note
// -----------
// Workers share the lock-free seen-table (engine/dedup), which answers "new,
// updated or seen?" for every ProbeMatch without a lock. Only the answers
// kNew and kUpdated copy a device out of the datagram, and only they need
// this store, so it is a plain vector behind one std::mutex (not absl::Mutex: the
// distribution's prebuilt abseil is not TSan-instrumented, and the store
// must stay checkable by the TSan runs): a storm of N
// cameras takes the lock N times (plus updates), never once per duplicate.
//
// The one duplicate-path question the store answers is "is this source
// address already recorded for the endpoint?". Each seen-table slot has an
// atomic fingerprint of the first source address recorded for it; a
// duplicate from that address (the common case: the same camera answering a
// re-sent Probe, or a second interface on one segment) is settled with one
// relaxed load and no lock. Only a different address (a multi-homed device)
// takes the lock. A fingerprint collision between two addresses of one
// device would hide the second address; fingerprints of IPv4 addresses are
// exact, IPv6 ones are 64-bit hashes.
//
// Order. The seen-table publishes a key before the kNew inserter gets here,
// so another worker may report a duplicate first: MergeAddress then creates
// the record without a description and Describe fills it in later. Snapshot
// returns described records only, in the order they were first described.
//
// Answered variants. Every related reply marks the Probe variant it answers
// (probe_variants.h) in an atomic per-slot mask: one relaxed load, and a
// fetch_or only the first time, so duplicates stay lock-free. Descriptions
// carry the names of the variants marked so far (on_found: those known when
// the device is first found; Snapshot / Take: all of them).
//
// Callbacks. `on_found` runs under the lock, once per endpoint, when it is
// first described: NDJSON lines are thereby written whole and in order. It
// must not call back into the store.

#ifndef ONVIF_ENGINE_SWEEP_DEVICE_STORE_H_
#define ONVIF_ENGINE_SWEEP_DEVICE_STORE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <mutex>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "engine/sweep/result.h"

namespace onvif::sweep {

class DeviceStore {
 public:
  using FoundCallback = std::function<void(const DeviceInfo&)>;
  static constexpr std::size_t kMaxVariants = 8;  // bits of the answered mask

  // slot_count: the seen-table's slot_count(); slots index the store.
  // variant_names: the Probe variants by index (at most 8), for `answered`.
  // on_resolved: called (under the lock, like on_found) when FillXAddrs
  // filled a described device in.
  static absl::StatusOr<std::unique_ptr<DeviceStore>> Create(std::size_t slot_count,
                                                             FoundCallback on_found = nullptr,
                                                             std::vector<std::string> variant_names = {},
                                                             FoundCallback on_resolved = nullptr);

  // kNew / kUpdated: (re)describes the endpoint at `slot` with `device`'s
  // endpoint, types, scopes, xaddrs and metadata_version; on the first
  // description also its first_seen_ms and interfaces, and calls on_found.
  // Adds `address` (fingerprint `address_fingerprint`, nonzero) to the set.
  // Returns true on the first description.
  bool Describe(std::uint32_t slot, DeviceInfo device, std::uint64_t address_fingerprint,
                absl::FunctionRef<std::string()> address);

  // A ResolveMatch for the endpoint at `slot`: sets its XAddrs when it was
  // described without any. True when it did.
  bool FillXAddrs(std::uint32_t slot, std::vector<std::string> xaddrs);

  // Any related reply: the endpoint at `slot` answered Probe variant
  // `variant` (< the number of variant names). Lock-free.
  void MarkAnswered(std::uint32_t slot, unsigned variant);

  // kSeen: records the source address if it is not already there. Lock-free
  // and allocation-free when it is the endpoint's first recorded address.
  void MergeAddress(std::uint32_t slot, std::uint64_t address_fingerprint,
                    absl::FunctionRef<std::string()> address);
  // The same, and when the address is new to a described endpoint, also
  // appends those of `xaddrs()` it does not list yet: a device heard over a
  // second family (or a second address) often lists only that family's
  // XAddrs there (wsdd, Windows WSD hosts do), and best_xaddr should see
  // them all. `xaddrs` is called only then, under the lock.
  void MergeAddress(std::uint32_t slot, std::uint64_t address_fingerprint,
                    absl::FunctionRef<std::string()> address,
                    absl::FunctionRef<std::vector<std::string>()> xaddrs);

  // The described devices in discovery order, with their slots. Call once
  // the workers are done (it copies under the lock; safe at any time).
  std::vector<std::pair<std::uint32_t, DeviceInfo>> Snapshot() const;
  // The same, moved out instead of copied: for the one reader at the end of
  // a sweep. The store keeps its slots (described() is unchanged; later
  // Describe / MergeAddress calls are safe) but the taken records are empty.
  std::vector<std::pair<std::uint32_t, DeviceInfo>> Take();
  std::size_t described() const;

 private:
  struct Record {
    std::uint32_t slot = 0;
    bool described = false;
    DeviceInfo info;
    std::vector<std::uint64_t> address_fingerprints;
  };
  DeviceStore(std::size_t slot_count, FoundCallback on_found, std::vector<std::string> variant_names,
              FoundCallback on_resolved);
  std::vector<std::string> AnsweredNames(std::uint32_t slot) const;
  Record& RecordFor(std::uint32_t slot);  // needs mu_
  // True when the address was new. Needs mu_.
  bool AddAddress(Record& record, std::uint32_t slot, std::uint64_t fingerprint,
                  absl::FunctionRef<std::string()> address);

  const std::size_t slot_count_;
  const FoundCallback on_found_;
  const FoundCallback on_resolved_;
  // First recorded address per slot; 0 = none yet. Written under mu_.
  std::unique_ptr<std::atomic<std::uint64_t>[]> first_address_;
  const std::vector<std::string> variant_names_;
  std::unique_ptr<std::atomic<std::uint8_t>[]> answered_;  // per slot, bit per variant

  // Everything below is guarded by mu_.
  mutable std::mutex mu_;
  std::vector<std::uint32_t> record_of_slot_;  // kNoRecord or an index into records_
  // A deque: growing it never moves the records (a vector would move every
  // DeviceInfo each time it doubles, inside the storm).
  std::deque<Record> records_;
  std::vector<std::uint32_t> described_order_;
};

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_DEVICE_STORE_H_
