// The lock-free seen-table: "have we heard from this endpoint before?"
//
// Design note
// -----------
// What. A fixed-capacity set of WS-Discovery endpoint addresses (the
// EndpointReference/Address string, usually "urn:uuid:" + 36 characters),
// shared by every receiving thread of a sweep. Insert answers kNew the first
// time an address is offered, kSeen or kUpdated afterwards, kFull when the
// table cannot take a new address. Per address it records the interfaces it
// was heard on and the highest MetadataVersion and AppSequence offered.
//
// Why lock-free. During a storm thousands of ProbeMatches arrive within
// milliseconds on every worker at once, most of them duplicates (one per
// re-sent Probe and per interface). A duplicate costs a hash, a few loads and
// one memcmp and writes no shared cache line, so workers scale; no insert
// ever holds anything another thread needs, except for the few stores that
// publish a new key (see Progress).
//
// How (after folly AtomicHashArray). Open addressing with linear probing over
// a power-of-two array of slots, one cache line each. A slot's `tag` is 0 (the
// reserved empty marker) or the key's 64-bit hash with its low two bits
// replaced by a state, kWriting or kReady. Insert walks from hash & mask:
//   - empty: the key is absent. Reserve one entry (the size counter) and the
//     key's bytes in the arena, copy the key there, then claim the slot with
//     one CAS 0 -> hash|kWriting. The winner fills in the slot and publishes
//     it with a release store of hash|kReady: kNew. A loser examines the
//     slot as it now is, like any other.
//   - other hash: skip.
//   - same hash, kWriting: wait for kReady (the key is already copied; the
//     writer is a few stores away), then as below.
//   - same hash, kReady: compare the full key. Equal: "seen before", merge
//     the observation (kSeen or kUpdated). Different: a hash collision, go
//     on; colliding keys are never merged.
// Slots are never freed or reused, so no probe sequence loses a key behind
// it and tags have no ABA. Find does the same walk but never waits: a
// kWriting slot is skipped, i.e. that insert has not happened yet.
//
// Memory orders.
//   tag: every load acquires and the publishing store releases, so whoever
//     sees kReady also sees key_offset/key_length, the key bytes and the
//     slot's first interface mask, MetadataVersion and AppSequence, all
//     written before it. The claim CAS acquires on failure, where it reads
//     the winner's tag; success needs no order (slots are zeroed before the
//     table is shared and nothing is read from a slot before claiming it)
//     but uses acquire too, as failure may not be stronger than success.
//   interface_mask, metadata, app_sequence: relaxed RMWs (fetch_or, CAS max).
//     Each is one monotone word; its modification order alone decides
//     kUpdated. Nothing else is published through them. Readers after a
//     sweep are ordered by thread joins.
//   size: a relaxed reservation counter (bounds the entries, orders nothing).
//   arena: fetch_add acquires and a give-back CAS releases, so a thread that
//     reuses bytes handed back by another sees that thread's writes to them
//     completed (no data race on recycled arena bytes).
//
// Progress. Operations on different hashes never wait for one another. An
// insert that meets its own hash in state kWriting waits for that writer's
// last few stores, the same compromise as folly's spin on a locked cell; if
// the writer is preempted there, the waiter yields its CPU. Find, ForEach
// and At never wait.
//
// Bounds. Create allocates everything: 2 * capacity() slots of 64 bytes and
// a key arena of key_arena_bytes. Insert never allocates. A new key takes one
// entry and key.size() arena bytes; when either is exhausted Insert answers
// kFull and changes nothing, so a flood of random endpoints costs no memory,
// and, once full, no shared writes. The load factor never exceeds 1/2, so
// probes (hits and misses) stay short even in a full table. Two races cost a
// little: an insert that reserved and then found its key inserted by another
// thread hands its arena bytes back only if nothing was allocated after them
// (else up to one key's bytes per such race stay unused), and near capacity
// an insert may answer kFull while another thread's reservation for a key
// that turns out to exist is being backed out.
//
// kUpdated (WS-Discovery 1.1 section 7, Application Sequencing). An insert of
// a known key answers kUpdated when it raises the recorded MetadataVersion or
// AppSequence, else kSeen. "Raises" means: the offered value is present and
// either none was recorded or it is greater. AppSequences compare
// lexicographically by (instance_id, message_number): a greater InstanceId
// is a restarted device, whatever its MessageNumber. The interface mask is
// merged but never makes an insert kUpdated. Note that a device increments
// MessageNumber on every message, so its reply to a re-sent Probe raises the
// AppSequence; a caller that wants only restarts offers the AppSequence with
// message_number 0. Concurrent inserts of one key are linearised per field:
// each kUpdated raised a value beyond everything recorded before it.
//
// Clamping. The schema types MetadataVersion, InstanceId and MessageNumber as
// xs:unsignedInt. Each field is one 64-bit word with 0 meaning "none recorded",
// so a MetadataVersion above kMaxMetadataVersion is recorded as that, an
// InstanceId or MessageNumber above 2^32-1 as 2^32-1, and the single pair
// (2^32-1, 2^32-1) as (2^32-1, 2^32-2). Values within the schema's ranges
// other than that pair are recorded exactly.
//
// Lifetime. Every key view the table hands out (EntryView::key) points into
// the table's arena. It stays valid, unchanged, until the table that owns the
// arena is destroyed; moving the table moves the arena without relocating it.

#ifndef ONVIF_ENGINE_DEDUP_SEEN_TABLE_H_
#define ONVIF_ENGINE_DEDUP_SEEN_TABLE_H_

#include <algorithm>
#include <atomic>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace onvif::dedup {

// The longest key accepted; a longer one answers kFull. Matches the scanner's
// field limit (engine/wsd kMaxFieldBytes), which no real address approaches.
inline constexpr std::size_t kMaxKeyBytes = 8 * 1024;
// Interface indexes are the sweep's dense interface numbers (not kernel
// ifindexes), one bit each in a 64-bit mask.
inline constexpr unsigned kMaxInterfaces = 64;
inline constexpr std::size_t kMaxCapacity = std::size_t{1} << 30;
inline constexpr std::size_t kMaxKeyArenaBytes = std::numeric_limits<std::uint32_t>::max();
inline constexpr std::uint64_t kMaxMetadataVersion = std::numeric_limits<std::uint64_t>::max() - 1;
inline constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();

static_assert(kMaxInterfaces == 64, "the interface mask is one std::uint64_t");
static_assert(2 * kMaxCapacity - 1 < kNoSlot,
              "slot indexes are std::uint32_t; kNoSlot is none of them");
static_assert(kMaxKeyBytes <= kMaxKeyArenaBytes, "key lengths are std::uint32_t");

// WS-Discovery AppSequence without SequenceId. The defaulted <=> compares
// (instance_id, message_number) lexicographically, which is the order used
// for kUpdated.
struct AppSequence {
  std::uint64_t instance_id = 0;
  std::uint64_t message_number = 0;
  friend auto operator<=>(const AppSequence&, const AppSequence&) = default;
};

enum class InsertResult : std::uint8_t {
  kNew,      // first time this key was offered; the caller copies its data out
  kSeen,     // known key, nothing raised (the interface mask may have grown)
  kUpdated,  // known key, MetadataVersion or AppSequence raised
  kFull,     // new key, but no entry or no arena space left (or key too long)
};

// The answer of Insert. `slot` names the key's entry for At() and for arrays
// the caller indexes by slot (size slot_count()); kNoSlot with kFull.
struct [[nodiscard]] InsertOutcome {
  InsertResult result;
  std::uint32_t slot;
};

// A snapshot of one entry. `key` points into the table's arena (see Lifetime).
struct EntryView {
  std::string_view key;
  std::uint64_t interface_mask = 0;
  std::optional<std::uint64_t> metadata_version;
  std::optional<AppSequence> app_sequence;
  std::uint32_t slot = kNoSlot;
};

// The default key hash. Any functor std::string_view -> 64-bit integer works;
// tests inject colliding ones. Its low bits pick the home slot.
struct DefaultKeyHash {
  std::uint64_t operator()(std::string_view key) const {
    return absl::Hash<std::string_view>{}(key);
  }
};

// Thread safety: Insert, Find, At, ForEach and the accessors may run
// concurrently from any threads. Create, moves and destruction may not.
// A moved-from table may only be destroyed or assigned to.
template <typename Hash = DefaultKeyHash>
class BasicSeenTable {
 public:
  // capacity: the most distinct keys, rounded up to a power of two, in
  // [1, kMaxCapacity]. key_arena_bytes: room for their bytes, at most
  // kMaxKeyArenaBytes. Allocates 128 * capacity() + key_arena_bytes bytes.
  static absl::StatusOr<BasicSeenTable> Create(std::size_t capacity, std::size_t key_arena_bytes,
                                               Hash hash = Hash()) {
    if (capacity == 0 || capacity > kMaxCapacity) {
      return absl::InvalidArgumentError(
          absl::StrCat("seen-table capacity ", capacity, " is outside [1, ", kMaxCapacity, "]"));
    }
    if (key_arena_bytes > kMaxKeyArenaBytes) {
      return absl::InvalidArgumentError(absl::StrCat("seen-table key arena of ", key_arena_bytes,
                                                     " bytes exceeds ", kMaxKeyArenaBytes));
    }
    const std::size_t rounded = std::bit_ceil(capacity);
    const std::size_t slot_count = 2 * rounded;
    // Value-initialisation zeroes every tag: all slots start empty.
    std::unique_ptr<Slot[]> slots(new (std::nothrow) Slot[slot_count]());
    std::unique_ptr<char[]> arena(
        new (std::nothrow) char[std::max<std::size_t>(key_arena_bytes, 1)]);
    std::unique_ptr<Counters> counters(new (std::nothrow) Counters());
    if (slots == nullptr || arena == nullptr || counters == nullptr) {
      return absl::ResourceExhaustedError(absl::StrCat("seen-table: cannot allocate ", slot_count,
                                                       " slots and ", key_arena_bytes,
                                                       " arena bytes"));
    }
    return BasicSeenTable(std::move(slots), std::move(arena), std::move(counters), rounded,
                          key_arena_bytes, std::move(hash));
  }

  BasicSeenTable(BasicSeenTable&&) noexcept = default;
  BasicSeenTable& operator=(BasicSeenTable&&) noexcept = default;

  // Offers one sighting of `key`, heard on `interface_index` (an index >=
  // kMaxInterfaces is not recorded in the mask), with the message's
  // MetadataVersion and AppSequence when it carried them. The key's bytes are
  // copied on kNew; the caller's buffer may be reused as soon as this returns.
  // Never allocates; waits only as described under Progress.
  InsertOutcome Insert(std::string_view key, unsigned interface_index,
                       std::optional<std::uint64_t> metadata_version = std::nullopt,
                       std::optional<AppSequence> app_sequence = std::nullopt) {
    if (key.size() > kMaxKeyBytes) return {InsertResult::kFull, kNoSlot};
    const std::uint64_t hash_bits = HashBits(key);
    const Observation observation = Observe(interface_index, metadata_version, app_sequence);
    Reservation reservation;  // taken at the first empty slot, kept across lost claims
    std::size_t index = hash_bits & slot_mask_;
    for (std::size_t probes = 0; probes <= slot_mask_; ++probes, index = (index + 1) & slot_mask_) {
      Slot& slot = slots_[index];
      std::uint64_t tag = slot.tag.load(std::memory_order_acquire);
      if (tag == kEmpty) {
        if (!reservation.held && !Reserve(key, reservation)) {
          return {InsertResult::kFull, kNoSlot};
        }
        // Success needs no order (see Memory orders) but may not be weaker
        // than failure for g++ -fsanitize=thread; on x86 both are one
        // lock cmpxchg anyway.
        if (slot.tag.compare_exchange_strong(tag, hash_bits | kWriting, std::memory_order_acquire,
                                             std::memory_order_acquire)) {
          Publish(slot, hash_bits, reservation, key.size(), observation);
          return {InsertResult::kNew, static_cast<std::uint32_t>(index)};
        }
        // Another insert claimed this slot first; `tag` is now its tag.
      }
      if ((tag & ~kStateMask) != hash_bits) continue;
      tag = AwaitReady(slot, tag);
      if (!KeyEquals(slot, key)) continue;
      Unreserve(reservation, key.size());  // a concurrent insert of this key won
      return {Merge(slot, observation), static_cast<std::uint32_t>(index)};
    }
    // Unreachable: at most capacity() of the 2 * capacity() slots are ever
    // claimed, so every walk meets an empty slot. Kept as a hard bound.
    Unreserve(reservation, key.size());
    return {InsertResult::kFull, kNoSlot};
  }

  // The entry for `key`, if an insert of it has completed. Never waits.
  std::optional<EntryView> Find(std::string_view key) const {
    if (key.size() > kMaxKeyBytes) return std::nullopt;
    const std::uint64_t hash_bits = HashBits(key);
    std::size_t index = hash_bits & slot_mask_;
    for (std::size_t probes = 0; probes <= slot_mask_; ++probes, index = (index + 1) & slot_mask_) {
      const Slot& slot = slots_[index];
      const std::uint64_t tag = slot.tag.load(std::memory_order_acquire);
      if (tag == kEmpty) return std::nullopt;
      if (tag == (hash_bits | kReady) && KeyEquals(slot, key)) return View(slot, index);
    }
    return std::nullopt;
  }

  // The entry in `slot` (as returned by Insert), if one is published there.
  std::optional<EntryView> At(std::uint32_t slot) const {
    if (slot > slot_mask_) return std::nullopt;
    const std::uint64_t tag = slots_[slot].tag.load(std::memory_order_acquire);
    if ((tag & kStateMask) != kReady) return std::nullopt;
    return View(slots_[slot], slot);
  }

  // Calls fn(const EntryView&) for every published entry, in slot order.
  // Concurrent inserts may or may not be visited.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (std::size_t index = 0; index <= slot_mask_; ++index) {
      const std::uint64_t tag = slots_[index].tag.load(std::memory_order_acquire);
      if ((tag & kStateMask) == kReady) fn(View(slots_[index], index));
    }
  }

  // Entries inserted. While inserts run it may also count a few that are
  // still being published or are about to back out; exact when quiescent.
  std::size_t size() const { return counters_->size.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return capacity_; }
  std::size_t slot_count() const { return slot_mask_ + 1; }
  std::size_t key_arena_bytes() const { return arena_bytes_; }
  // Arena bytes handed out (bounded by key_arena_bytes()).
  std::size_t key_arena_used() const {
    return std::min<std::uint64_t>(counters_->arena_used.load(std::memory_order_relaxed),
                                   arena_bytes_);
  }

 private:
  // Tag layout: hash with the low two bits replaced by the state. 0 is empty.
  static constexpr std::uint64_t kEmpty = 0;
  static constexpr std::uint64_t kStateMask = 3;
  static constexpr std::uint64_t kWriting = 1;
  static constexpr std::uint64_t kReady = 2;
  static_assert((kWriting & ~kStateMask) == 0 && (kReady & ~kStateMask) == 0 && kWriting != kReady,
                "states live in the low bits, so no claimed tag equals kEmpty");

  // x86 and ARM cache lines; std::hardware_destructive_interference_size is
  // avoided because g++ warns that it may vary across -mtune.
  static constexpr std::size_t kCacheLine = 64;
  // A writer is a few stores from kReady; spin that long, then yield in case
  // it was preempted.
  static constexpr int kSpinsBeforeYield = 128;

  // One cache line per slot: a probe touches one line, and a fetch_or on one
  // endpoint's mask never invalidates a neighbour's.
  struct alignas(kCacheLine) Slot {
    std::atomic<std::uint64_t> tag{kEmpty};
    std::atomic<std::uint64_t> interface_mask{0};
    std::atomic<std::uint64_t> metadata{0};      // Encoded: 0 none, else version + 1
    std::atomic<std::uint64_t> app_sequence{0};  // Encoded: 0 none, else packed + 1
    // Written once by the claimer before kReady; read only after seeing kReady.
    std::uint32_t key_offset = 0;
    std::uint32_t key_length = 0;
  };
  static_assert(sizeof(Slot) == kCacheLine, "one slot per cache line");
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the table must not hide a lock");

  // Written on new keys only; kept off the line of the read-only members.
  struct alignas(kCacheLine) Counters {
    std::atomic<std::uint64_t> arena_used{0};
    std::atomic<std::uint64_t> size{0};
  };

  struct Observation {
    std::uint64_t interface_bit;
    std::uint64_t metadata;      // encoded
    std::uint64_t app_sequence;  // encoded
  };

  struct Reservation {
    bool held = false;
    std::uint32_t offset = 0;
  };

  BasicSeenTable(std::unique_ptr<Slot[]> slots, std::unique_ptr<char[]> arena,
                 std::unique_ptr<Counters> counters, std::size_t capacity, std::size_t arena_bytes,
                 Hash hash)
      : slots_(std::move(slots)),
        arena_(std::move(arena)),
        counters_(std::move(counters)),
        slot_mask_(2 * capacity - 1),
        capacity_(capacity),
        arena_bytes_(arena_bytes),
        hash_(std::move(hash)) {}

  std::uint64_t HashBits(std::string_view key) const {
    return static_cast<std::uint64_t>(hash_(key)) & ~kStateMask;
  }

  // 0 stands for "none", so values shift up by one; see Clamping.
  static std::uint64_t EncodeValue(std::uint64_t value) {
    constexpr std::uint64_t kMaxRecordable = std::numeric_limits<std::uint64_t>::max() - 1;
    static_assert(kMaxMetadataVersion == kMaxRecordable);
    return std::min(value, kMaxRecordable) + 1;
  }
  static std::uint64_t PackAppSequence(const AppSequence& sequence) {
    constexpr std::uint64_t kField = std::numeric_limits<std::uint32_t>::max();
    return std::min(sequence.instance_id, kField) << 32 | std::min(sequence.message_number, kField);
  }

  static Observation Observe(unsigned interface_index,
                             std::optional<std::uint64_t> metadata_version,
                             std::optional<AppSequence> app_sequence) {
    return Observation{
        interface_index < kMaxInterfaces ? std::uint64_t{1} << interface_index : 0,
        metadata_version ? EncodeValue(*metadata_version) : 0,
        app_sequence ? EncodeValue(PackAppSequence(*app_sequence)) : 0,
    };
  }

  // Takes one entry and the key's arena bytes, and copies the key in. The
  // bytes are private until the slot is published. Fails (taking nothing)
  // when either is exhausted. The plain loads first keep a full table free
  // of shared writes.
  bool Reserve(std::string_view key, Reservation& reservation) {
    Counters& counters = *counters_;
    if (counters.size.load(std::memory_order_relaxed) >= capacity_) return false;
    if (counters.size.fetch_add(1, std::memory_order_relaxed) >= capacity_) {
      counters.size.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    const std::uint64_t length = key.size();
    std::uint64_t offset = 0;
    if (length != 0) {
      bool fits = counters.arena_used.load(std::memory_order_relaxed) + length <= arena_bytes_;
      if (fits) {
        offset = counters.arena_used.fetch_add(length, std::memory_order_acquire);
        fits = offset + length <= arena_bytes_;
        if (!fits) GiveBack(offset, length);  // lost a race for the last bytes
      }
      if (!fits) {
        counters.size.fetch_sub(1, std::memory_order_relaxed);
        return false;
      }
      std::memcpy(arena_.get() + offset, key.data(), length);
    }
    reservation.held = true;
    reservation.offset = static_cast<std::uint32_t>(offset);
    return true;
  }

  void Unreserve(const Reservation& reservation, std::size_t length) {
    if (!reservation.held) return;
    if (length != 0) GiveBack(reservation.offset, length);
    counters_->size.fetch_sub(1, std::memory_order_relaxed);
  }

  // Returns [offset, offset + length) to the arena if it is still the last
  // allocation; otherwise those bytes stay unused (bounded by one key per
  // racing insert). Sound against ABA: the counter can only equal
  // offset + length again once every later allocation was handed back.
  void GiveBack(std::uint64_t offset, std::uint64_t length) {
    std::uint64_t expected = offset + length;
    counters_->arena_used.compare_exchange_strong(expected, offset, std::memory_order_release,
                                                  std::memory_order_relaxed);
  }

  // The claimer's stores, then the release that publishes them all.
  static void Publish(Slot& slot, std::uint64_t hash_bits, const Reservation& reservation,
                      std::size_t length, const Observation& observation) {
    slot.key_offset = reservation.offset;
    slot.key_length = static_cast<std::uint32_t>(length);
    slot.interface_mask.store(observation.interface_bit, std::memory_order_relaxed);
    slot.metadata.store(observation.metadata, std::memory_order_relaxed);
    slot.app_sequence.store(observation.app_sequence, std::memory_order_relaxed);
    slot.tag.store(hash_bits | kReady, std::memory_order_release);
  }

  static std::uint64_t AwaitReady(const Slot& slot, std::uint64_t tag) {
    for (int spins = 0; (tag & kStateMask) == kWriting; ++spins) {
      if (spins < kSpinsBeforeYield) {
        CpuRelax();
      } else {
        std::this_thread::yield();
      }
      tag = slot.tag.load(std::memory_order_acquire);
    }
    return tag;
  }

  static void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  // Only for a slot seen kReady with an acquire load.
  bool KeyEquals(const Slot& slot, std::string_view key) const {
    return slot.key_length == key.size() &&
           (key.empty() ||
            std::memcmp(arena_.get() + slot.key_offset, key.data(), key.size()) == 0);
  }

  // Raises `word` to `value`; true when this call raised it.
  static bool RaiseTo(std::atomic<std::uint64_t>& word, std::uint64_t value) {
    std::uint64_t current = word.load(std::memory_order_relaxed);
    while (current < value) {
      if (word.compare_exchange_weak(current, value, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  static InsertResult Merge(Slot& slot, const Observation& observation) {
    // Test before fetch_or: a known interface writes nothing.
    if ((slot.interface_mask.load(std::memory_order_relaxed) & observation.interface_bit) !=
        observation.interface_bit) {
      slot.interface_mask.fetch_or(observation.interface_bit, std::memory_order_relaxed);
    }
    const bool metadata_raised = RaiseTo(slot.metadata, observation.metadata);
    const bool sequence_raised = RaiseTo(slot.app_sequence, observation.app_sequence);
    return metadata_raised || sequence_raised ? InsertResult::kUpdated : InsertResult::kSeen;
  }

  EntryView View(const Slot& slot, std::size_t index) const {
    EntryView view;
    view.key = std::string_view(arena_.get() + slot.key_offset, slot.key_length);
    view.interface_mask = slot.interface_mask.load(std::memory_order_relaxed);
    if (const std::uint64_t metadata = slot.metadata.load(std::memory_order_relaxed)) {
      view.metadata_version = metadata - 1;
    }
    if (const std::uint64_t sequence = slot.app_sequence.load(std::memory_order_relaxed)) {
      view.app_sequence = AppSequence{(sequence - 1) >> 32, (sequence - 1) & 0xffffffffu};
    }
    view.slot = static_cast<std::uint32_t>(index);
    return view;
  }

  // Read-only after Create; shared by all threads.
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<char[]> arena_;
  std::unique_ptr<Counters> counters_;
  std::size_t slot_mask_ = 0;
  std::size_t capacity_ = 0;
  std::size_t arena_bytes_ = 0;
  [[no_unique_address]] Hash hash_;
};

using SeenTable = BasicSeenTable<>;

// Instantiated once in seen_table.cc.
extern template class BasicSeenTable<DefaultKeyHash>;

}  // namespace onvif::dedup

#endif  // ONVIF_ENGINE_DEDUP_SEEN_TABLE_H_
