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
// the device is first found; Snapshot: all of them).
//
// Callbacks. `on_found` runs under the lock, once per endpoint, when it is
// first described: NDJSON lines are thereby written whole and in order. It
// must not call back into the store. The DeviceInfo it gets is the store's
// scratch, valid only during the call.
//
// Storage. A storm of N cameras keeps N descriptions for the whole sweep, so
// they are kept compact: a Record of fixed size, its text (endpoint, scopes,
// XAddrs, addresses) packed into a TextArena, and the lists that repeat from
// device to device (Types, interface names) interned once. Describing a
// device allocates nothing once the arena block and the intern tables have
// room; a DeviceInfo is built only when asked for (Snapshot, the callbacks).
// Lists are kept as their items joined by one space: items of Scopes and
// XAddrs are split on XML whitespace and addresses are IPs, so none holds a
// space.

#ifndef ONVIF_ENGINE_SWEEP_DEVICE_STORE_H_
#define ONVIF_ENGINE_SWEEP_DEVICE_STORE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "engine/base/text_arena.h"
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
  bool Describe(std::uint32_t slot, const DeviceInfo& device, std::uint64_t address_fingerprint,
                absl::FunctionRef<std::string()> address);

  // A ResolveMatch for the endpoint at `slot`: sets its XAddrs when it was
  // described without any. True when it did.
  bool FillXAddrs(std::uint32_t slot, const std::vector<std::string>& xaddrs);

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

  // The described devices in discovery order, with their slots, built from
  // the compact records (best_xaddr is left for the caller to rank). Safe at
  // any time; call it once the workers are done for the final list.
  std::vector<std::pair<std::uint32_t, DeviceInfo>> Snapshot() const;
  // Described devices without XAddrs, without building any DeviceInfo.
  std::size_t CountWithoutXAddrs() const;
  std::size_t described() const;

 private:
  // Lists are items joined by one space (see Storage); interned lists are
  // indices into interned_lists_.
  struct Record {
    std::string_view endpoint;
    std::string_view scopes;
    std::string_view xaddrs;
    std::string_view addresses;
    std::optional<std::uint64_t> metadata_version;
    std::int64_t first_seen_ms = 0;
    std::uint32_t slot = 0;
    std::uint32_t types = 0;
    std::uint32_t interfaces = 0;
    bool described = false;
    // Fingerprints of the addresses after the first (which is in
    // SlotState::first_address): multi-homed devices only.
    std::vector<std::uint64_t> more_fingerprints;
  };
  DeviceStore(std::size_t slot_count, FoundCallback on_found, std::vector<std::string> variant_names,
              FoundCallback on_resolved);
  // The answered variants' names into `names`, reusing its strings.
  void AnsweredNames(std::uint32_t slot, std::vector<std::string>& names) const;
  Record& RecordFor(std::uint32_t slot);  // needs mu_
  // True when the address was new. Needs mu_.
  bool AddAddress(Record& record, std::uint32_t slot, std::uint64_t fingerprint,
                  absl::FunctionRef<std::string()> address);
  // Needs mu_.
  std::uint32_t Intern(const std::vector<std::string>& list);
  std::string_view Pack(const std::vector<std::string>& items);
  // Fills `out` from `record`, reusing its strings' storage; best_xaddr is
  // not the record's and is left alone. Needs mu_.
  void Build(const Record& record, DeviceInfo& out) const;

  const std::size_t slot_count_;
  const FoundCallback on_found_;
  const FoundCallback on_resolved_;
  // What the store keeps per seen-table slot, together so that a reply
  // touches one cache line of it (slots are random, and a storm's are cold).
  struct SlotState {
    // First recorded address; 0 = none yet. Written under mu_.
    std::atomic<std::uint64_t> first_address{0};
    std::uint32_t record_plus_one = 0;  // index into records_ + 1; 0 = none. Guarded by mu_.
    std::atomic<std::uint8_t> answered{0};  // bit per variant
  };
  std::unique_ptr<SlotState[]> slots_;
  const std::vector<std::string> variant_names_;

  // Everything below is guarded by mu_.
  mutable std::mutex mu_;
  // A deque: growing it never moves the records (a vector would copy them
  // all each time it doubles, inside the storm).
  std::deque<Record> records_;
  std::vector<std::uint32_t> described_order_;
  base::TextArena arena_;
  std::vector<std::vector<std::string>> interned_lists_;
  absl::flat_hash_map<std::vector<std::string>, std::uint32_t> list_ids_;
  DeviceInfo callback_scratch_;  // what on_found / on_resolved see
};

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_DEVICE_STORE_H_
