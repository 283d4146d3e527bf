// Single-threaded tests of the seen-table: answers against a flat_hash_map
// model, forced hash collisions, the kFull bounds, clamping and lifetimes.
// The concurrent properties are in seen_table_stress_test.cc.

#include "engine/dedup/seen_table.h"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"
#include "tests/support/random_uuid.h"

namespace onvif::dedup {
namespace {

using ::onvif::testing::RandomUrnUuid;

// Hashes that force collisions.
struct ConstantHash {
  std::uint64_t value = 42;
  std::uint64_t operator()(std::string_view) const { return value; }
};
// Only eight distinct hashes, differing in the low bits the tag replaces by
// its state: every key collides with an eighth of the others.
struct EightHashes {
  std::uint64_t operator()(std::string_view key) const {
    return 0xabcdef0000000000ULL | (DefaultKeyHash{}(key)&7);
  }
};

TEST(SeenTableCreate, RejectsBadArguments) {
  EXPECT_EQ(SeenTable::Create(0, 100).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SeenTable::Create(kMaxCapacity + 1, 100).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SeenTable::Create(16, kMaxKeyArenaBytes + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SeenTableCreate, RoundsCapacityToPowerOfTwo) {
  auto table = SeenTable::Create(5, 100);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->capacity(), 8u);
  EXPECT_EQ(table->slot_count(), 16u);
  EXPECT_EQ(table->size(), 0u);
  EXPECT_EQ(table->key_arena_bytes(), 100u);
  EXPECT_EQ(table->key_arena_used(), 0u);
  auto one = SeenTable::Create(1, 0);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->capacity(), 1u);
}

TEST(SeenTable, NewThenSeenAndKeyIsCopied) {
  auto table = SeenTable::Create(64, 4096);
  ASSERT_TRUE(table.ok());
  std::string datagram = "urn:uuid:00000000-0000-4000-a000-000000000001";
  const std::string key = datagram;
  const InsertOutcome first = table->Insert(datagram, 3);
  EXPECT_EQ(first.result, InsertResult::kNew);
  ASSERT_NE(first.slot, kNoSlot);
  datagram.assign(datagram.size(), 'X');  // the receive buffer is reused
  const InsertOutcome again = table->Insert(key, 3);
  EXPECT_EQ(again.result, InsertResult::kSeen);
  EXPECT_EQ(again.slot, first.slot);
  EXPECT_EQ(table->size(), 1u);
  EXPECT_EQ(table->key_arena_used(), key.size());

  const std::optional<EntryView> entry = table->Find(key);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->key, key);
  EXPECT_EQ(entry->interface_mask, std::uint64_t{1} << 3);
  EXPECT_FALSE(entry->metadata_version.has_value());
  EXPECT_FALSE(entry->app_sequence.has_value());
  EXPECT_EQ(entry->slot, first.slot);
  EXPECT_FALSE(table->Find(datagram).has_value());
  EXPECT_FALSE(table->Find("").has_value());

  const std::optional<EntryView> at = table->At(first.slot);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->key, key);
  EXPECT_FALSE(table->At((first.slot + 1) % table->slot_count()).has_value());
  EXPECT_FALSE(table->At(kNoSlot).has_value());
}

TEST(SeenTable, EmptyKeyIsAKey) {
  auto table = SeenTable::Create(4, 0);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->Insert("", 0).result, InsertResult::kNew);
  EXPECT_EQ(table->Insert("", 1).result, InsertResult::kSeen);
  ASSERT_TRUE(table->Find("").has_value());
  EXPECT_EQ(table->Find("")->interface_mask, 3u);
  EXPECT_EQ(table->Insert("x", 0).result, InsertResult::kFull);  // no arena bytes
}

TEST(SeenTable, MetadataVersionUpdates) {
  auto table = SeenTable::Create(4, 1024);
  ASSERT_TRUE(table.ok());
  const std::string key = "urn:uuid:m";
  EXPECT_EQ(table->Insert(key, 0).result, InsertResult::kNew);
  EXPECT_EQ(table->Insert(key, 0).result, InsertResult::kSeen);
  EXPECT_EQ(table->Insert(key, 0, 0).result, InsertResult::kUpdated);  // none -> 0
  EXPECT_EQ(table->Insert(key, 0, 0).result, InsertResult::kSeen);
  EXPECT_EQ(table->Insert(key, 0, 5).result, InsertResult::kUpdated);
  EXPECT_EQ(table->Insert(key, 0, 5).result, InsertResult::kSeen);
  EXPECT_EQ(table->Insert(key, 0, 4).result, InsertResult::kSeen);  // older reply
  EXPECT_EQ(table->Insert(key, 0).result, InsertResult::kSeen);
  EXPECT_EQ(table->Find(key)->metadata_version, 5u);
}

TEST(SeenTable, AppSequenceUpdatesLexicographically) {
  auto table = SeenTable::Create(4, 1024);
  ASSERT_TRUE(table.ok());
  const std::string key = "urn:uuid:a";
  EXPECT_EQ(table->Insert(key, 0, std::nullopt, AppSequence{5, 10}).result, InsertResult::kNew);
  EXPECT_EQ(table->Insert(key, 0, std::nullopt, AppSequence{5, 10}).result, InsertResult::kSeen);
  EXPECT_EQ(table->Insert(key, 0, std::nullopt, AppSequence{5, 9}).result, InsertResult::kSeen);
  EXPECT_EQ(table->Insert(key, 0, std::nullopt, AppSequence{4, 99}).result, InsertResult::kSeen);
  EXPECT_EQ(table->Insert(key, 0, std::nullopt, AppSequence{5, 11}).result, InsertResult::kUpdated);
  // A restart: higher InstanceId, MessageNumber starts over.
  EXPECT_EQ(table->Insert(key, 0, std::nullopt, AppSequence{6, 1}).result, InsertResult::kUpdated);
  EXPECT_EQ(table->Insert(key, 0, std::nullopt, AppSequence{5, 1000}).result, InsertResult::kSeen);
  EXPECT_EQ(table->Insert(key, 0, std::nullopt, std::nullopt).result, InsertResult::kSeen);
  // Either field raising is enough.
  EXPECT_EQ(table->Insert(key, 0, 1, AppSequence{6, 0}).result, InsertResult::kUpdated);
  EXPECT_EQ(table->Insert(key, 0, 1, AppSequence{6, 2}).result, InsertResult::kUpdated);
  const std::optional<EntryView> entry = table->Find(key);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->app_sequence, (AppSequence{6, 2}));
  EXPECT_EQ(entry->metadata_version, 1u);
}

TEST(SeenTable, InterfacesMergeWithoutUpdating) {
  auto table = SeenTable::Create(4, 1024);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->Insert("k", 0).result, InsertResult::kNew);
  EXPECT_EQ(table->Insert("k", 63).result, InsertResult::kSeen);
  EXPECT_EQ(table->Insert("k", 7).result, InsertResult::kSeen);
  // Not representable in the mask: the sighting counts, the bit is dropped.
  EXPECT_EQ(table->Insert("k", 64).result, InsertResult::kSeen);
  EXPECT_EQ(table->Insert("k", 1000).result, InsertResult::kSeen);
  EXPECT_EQ(table->Find("k")->interface_mask, (std::uint64_t{1} << 63) | (1u << 7) | 1u);
  EXPECT_EQ(table->Insert("j", 64).result, InsertResult::kNew);
  EXPECT_EQ(table->Find("j")->interface_mask, 0u);
}

TEST(SeenTable, ClampsOutOfSchemaValues) {
  auto table = SeenTable::Create(8, 1024);
  ASSERT_TRUE(table.ok());
  constexpr std::uint64_t kMax64 = ~std::uint64_t{0};
  constexpr std::uint64_t kMax32 = 0xffffffffu;
  EXPECT_EQ(table->Insert("m", 0, kMaxMetadataVersion).result, InsertResult::kNew);
  EXPECT_EQ(table->Insert("m", 0, kMax64).result, InsertResult::kSeen);  // clamped: not higher
  EXPECT_EQ(table->Find("m")->metadata_version, kMaxMetadataVersion);

  EXPECT_EQ(table->Insert("s", 0, std::nullopt, AppSequence{kMax32, 7}).result, InsertResult::kNew);
  // InstanceId beyond xs:unsignedInt clamps to 2^32-1: the same instance.
  EXPECT_EQ(table->Insert("s", 0, std::nullopt, AppSequence{kMax64, 7}).result,
            InsertResult::kSeen);
  EXPECT_EQ(table->Insert("s", 0, std::nullopt, AppSequence{kMax32, kMax32 - 1}).result,
            InsertResult::kUpdated);
  // The one pair recorded inexactly.
  EXPECT_EQ(table->Insert("s", 0, std::nullopt, AppSequence{kMax32, kMax32}).result,
            InsertResult::kSeen);
  EXPECT_EQ(table->Find("s")->app_sequence, (AppSequence{kMax32, kMax32 - 1}));

  EXPECT_EQ(table->Insert("z", 0, 0, AppSequence{0, 0}).result, InsertResult::kNew);
  EXPECT_EQ(table->Find("z")->metadata_version, 0u);
  EXPECT_EQ(table->Find("z")->app_sequence, (AppSequence{0, 0}));
}

// What the table must answer, by a plain map.
struct ModelEntry {
  std::uint64_t interface_mask = 0;
  std::optional<std::uint64_t> metadata_version;
  std::optional<AppSequence> app_sequence;
  std::uint32_t slot = kNoSlot;
};

template <typename Hash>
void RunModel(std::uint64_t seed, int operations) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> pool;
  for (int i = 0; i < 400; ++i) pool.push_back(RandomUrnUuid(rng));
  pool.push_back("");
  pool.push_back("urn:uuid:");
  pool.push_back("urn:uuid:a");
  pool.push_back("urn:uuid:ab");
  pool.push_back(std::string(kMaxKeyBytes, 'k'));
  pool.push_back(std::string(kMaxKeyBytes - 1, 'k'));
  pool.push_back(std::string(1000, '\0'));
  pool.push_back(std::string(999, '\0') + "\1");
  auto table = BasicSeenTable<Hash>::Create(512, 1 << 20);
  ASSERT_TRUE(table.ok());

  absl::flat_hash_map<std::string, ModelEntry> model;
  for (int op = 0; op < operations; ++op) {
    const std::string& key = pool[rng() % pool.size()];
    const unsigned interface_index = rng() % 20 == 0 ? 64 + rng() % 100 : rng() % 64;
    std::optional<std::uint64_t> metadata_version;
    if (rng() % 10 < 7) metadata_version = rng() % 6;
    std::optional<AppSequence> app_sequence;
    if (rng() % 10 < 6) app_sequence = AppSequence{rng() % 4, rng() % 20};

    const InsertOutcome outcome =
        table->Insert(key, interface_index, metadata_version, app_sequence);
    const std::uint64_t bit = interface_index < 64 ? std::uint64_t{1} << interface_index : 0;
    auto [it, inserted] = model.try_emplace(key);
    ModelEntry& expected = it->second;
    if (inserted) {
      ASSERT_EQ(outcome.result, InsertResult::kNew) << "op " << op;
      ASSERT_NE(outcome.slot, kNoSlot);
      expected = ModelEntry{bit, metadata_version, app_sequence, outcome.slot};
      continue;
    }
    bool raised = false;
    if (metadata_version &&
        (!expected.metadata_version || *metadata_version > *expected.metadata_version)) {
      expected.metadata_version = metadata_version;
      raised = true;
    }
    if (app_sequence && (!expected.app_sequence || *app_sequence > *expected.app_sequence)) {
      expected.app_sequence = app_sequence;
      raised = true;
    }
    expected.interface_mask |= bit;
    ASSERT_EQ(outcome.result, raised ? InsertResult::kUpdated : InsertResult::kSeen) << "op " << op;
    ASSERT_EQ(outcome.slot, expected.slot) << "op " << op;
  }

  EXPECT_EQ(table->size(), model.size());
  std::size_t visited = 0;
  table->ForEach([&](const EntryView& entry) {
    ++visited;
    auto it = model.find(std::string(entry.key));
    ASSERT_NE(it, model.end());
    EXPECT_EQ(entry.interface_mask, it->second.interface_mask);
    EXPECT_EQ(entry.metadata_version, it->second.metadata_version);
    EXPECT_EQ(entry.app_sequence, it->second.app_sequence);
    EXPECT_EQ(entry.slot, it->second.slot);
  });
  EXPECT_EQ(visited, model.size());
  for (const std::string& key : pool) {
    const std::optional<EntryView> entry = table->Find(key);
    auto it = model.find(key);
    ASSERT_EQ(entry.has_value(), it != model.end());
    if (entry) {
      EXPECT_EQ(entry->key, key);
      EXPECT_EQ(entry->slot, it->second.slot);
    }
  }
}

TEST(SeenTableModel, DefaultHash) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) RunModel<DefaultKeyHash>(seed, 100'000);
}

TEST(SeenTableModel, EightHashValues) { RunModel<EightHashes>(7, 30'000); }

TEST(SeenTableCollision, ConstantHashKeepsKeysDistinct) {
  auto table = BasicSeenTable<ConstantHash>::Create(256, 1 << 16);
  ASSERT_TRUE(table.ok());
  std::mt19937_64 rng(11);
  std::vector<std::string> keys;
  for (int i = 0; i < 200; ++i) keys.push_back(RandomUrnUuid(rng));
  keys.push_back(keys[0] + "x");          // same prefix, longer
  keys.push_back(keys[1].substr(0, 20));  // a prefix
  std::vector<std::uint32_t> slots;
  for (const std::string& key : keys) {
    const InsertOutcome outcome = table->Insert(key, 1);
    ASSERT_EQ(outcome.result, InsertResult::kNew) << key;
    slots.push_back(outcome.slot);
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const InsertOutcome outcome = table->Insert(keys[i], 2, i);
    EXPECT_EQ(outcome.result, InsertResult::kUpdated);
    EXPECT_EQ(outcome.slot, slots[i]);
    const std::optional<EntryView> entry = table->Find(keys[i]);
    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(entry->key, keys[i]);
    EXPECT_EQ(entry->metadata_version, i);
    EXPECT_EQ(entry->interface_mask, 6u);
  }
  EXPECT_EQ(table->size(), keys.size());
  EXPECT_FALSE(table->Find(RandomUrnUuid(rng)).has_value());
  EXPECT_FALSE(table->Find(keys[0].substr(0, 44)).has_value());
}

TEST(SeenTableCollision, HashesDifferingOnlyInStateBits) {
  // 0x100..0x103 share every tag bit but start in different slots; 0 is the
  // hash whose tag bits are all zero, like the empty marker's.
  struct LowBitsHash {
    std::uint64_t operator()(std::string_view key) const {
      return key.empty() ? 0 : 0x100 + static_cast<std::uint64_t>(key[0] - 'a');
    }
  };
  auto table = BasicSeenTable<LowBitsHash>::Create(8, 1024);
  ASSERT_TRUE(table.ok());
  for (const char* key : {"a", "b", "c", "d", "", "e"}) {
    EXPECT_EQ(table->Insert(key, 0).result, InsertResult::kNew) << key;
  }
  for (const char* key : {"d", "c", "b", "a", "", "e"}) {
    EXPECT_EQ(table->Insert(key, 0).result, InsertResult::kSeen) << key;
    ASSERT_TRUE(table->Find(key).has_value());
    EXPECT_EQ(table->Find(key)->key, key);
  }
  EXPECT_FALSE(table->Find("f").has_value());
  EXPECT_EQ(table->size(), 6u);
}

TEST(SeenTableFull, CapacityExhausted) {
  auto table = SeenTable::Create(4, 1 << 16);
  ASSERT_TRUE(table.ok());
  std::mt19937_64 rng(3);
  std::vector<std::string> keys;
  for (int i = 0; i < 4; ++i) {
    keys.push_back(RandomUrnUuid(rng));
    EXPECT_EQ(table->Insert(keys.back(), 0, 1).result, InsertResult::kNew);
  }
  const std::size_t arena_used = table->key_arena_used();
  for (int i = 0; i < 10'000; ++i) {
    const InsertOutcome outcome = table->Insert(RandomUrnUuid(rng), 1, 1);
    ASSERT_EQ(outcome.result, InsertResult::kFull);
    ASSERT_EQ(outcome.slot, kNoSlot);
  }
  EXPECT_EQ(table->size(), 4u);
  EXPECT_EQ(table->key_arena_used(), arena_used);
  // Known keys still answer.
  EXPECT_EQ(table->Insert(keys[0], 1, 1).result, InsertResult::kSeen);
  EXPECT_EQ(table->Insert(keys[1], 1, 2).result, InsertResult::kUpdated);
  EXPECT_EQ(table->Find(keys[0])->interface_mask, 3u);
  std::size_t visited = 0;
  table->ForEach([&](const EntryView&) { ++visited; });
  EXPECT_EQ(visited, 4u);
}

TEST(SeenTableFull, ArenaExhausted) {
  auto table = SeenTable::Create(1024, 100);
  ASSERT_TRUE(table.ok());
  const std::string k30a(30, 'a'), k30b(30, 'b'), k30c(30, 'c'), k30d(30, 'd');
  EXPECT_EQ(table->Insert(k30a, 0).result, InsertResult::kNew);
  EXPECT_EQ(table->Insert(k30b, 0).result, InsertResult::kNew);
  EXPECT_EQ(table->Insert(k30c, 0).result, InsertResult::kNew);
  EXPECT_EQ(table->key_arena_used(), 90u);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(table->Insert(k30d + std::to_string(i), 0).result, InsertResult::kFull);
  }
  EXPECT_EQ(table->key_arena_used(), 90u);
  EXPECT_EQ(table->size(), 3u);
  // A key that fits the rest still goes in; then nothing does.
  EXPECT_EQ(table->Insert("0123456789", 0).result, InsertResult::kNew);
  EXPECT_EQ(table->key_arena_used(), 100u);
  EXPECT_EQ(table->Insert("!", 0).result, InsertResult::kFull);
  EXPECT_EQ(table->Insert(k30a, 5, 9).result, InsertResult::kUpdated);
  EXPECT_EQ(table->Insert(k30b, 5).result, InsertResult::kSeen);
  EXPECT_EQ(table->Find(k30a)->interface_mask, (1u << 5) | 1u);
  EXPECT_EQ(table->Find("0123456789")->key, "0123456789");
  EXPECT_EQ(table->size(), 4u);
}

TEST(SeenTableFull, KeyLongerThanLimit) {
  auto table = SeenTable::Create(4, 1 << 20);
  ASSERT_TRUE(table.ok());
  const std::string longest(kMaxKeyBytes, 'x');
  EXPECT_EQ(table->Insert(longest + "x", 0).result, InsertResult::kFull);
  EXPECT_FALSE(table->Find(longest + "x").has_value());
  EXPECT_EQ(table->Insert(longest, 0).result, InsertResult::kNew);
  EXPECT_EQ(table->Find(longest)->key, longest);
  EXPECT_EQ(table->size(), 1u);
}

TEST(SeenTable, MoveKeepsEntriesAndViews) {
  auto created = SeenTable::Create(16, 1024);
  ASSERT_TRUE(created.ok());
  SeenTable table = std::move(*created);
  EXPECT_EQ(table.Insert("urn:uuid:moved", 2, 3).result, InsertResult::kNew);
  const std::string_view view = table.Find("urn:uuid:moved")->key;
  SeenTable moved = std::move(table);
  EXPECT_EQ(moved.Insert("urn:uuid:moved", 2, 3).result, InsertResult::kSeen);
  EXPECT_EQ(view, "urn:uuid:moved");
  EXPECT_EQ(moved.Find("urn:uuid:moved")->key.data(), view.data());
  EXPECT_EQ(moved.size(), 1u);
}

}  // namespace
}  // namespace onvif::dedup
