// Concurrent inserts into one seen-table, checked afterwards against what the
// threads offered: exactly one kNew per distinct key, the interface mask is
// the OR of every offered interface, MetadataVersion and AppSequence are the
// maxima, every answer for a key names the same slot. Meant to run under
// ThreadSanitizer too (ctest label "stress"); sizes keep it to seconds there.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <latch>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/dedup/seen_table.h"
#include "gtest/gtest.h"
#include "tests/support/random_uuid.h"

namespace onvif::dedup {
namespace {

using ::onvif::testing::RandomUrnUuid;

constexpr int kThreads = 4;

// Sixteen hash values for 1000+ keys: long collision chains, and most
// claims race another thread's claim of a slot with the same tag.
struct SixteenHashes {
  std::uint64_t operator()(std::string_view key) const { return DefaultKeyHash{}(key)&15; }
};

struct Op {
  std::uint32_t key;
  unsigned interface_index;
  std::optional<std::uint64_t> metadata_version;
  std::optional<AppSequence> app_sequence;
};

// What every thread offered for one key, folded together.
struct Expected {
  int offers = 0;
  std::uint64_t interface_mask = 0;
  std::optional<std::uint64_t> metadata_version;
  std::optional<AppSequence> app_sequence;
};

std::vector<Op> MakeOps(const std::vector<std::uint32_t>& order, std::mt19937_64& rng) {
  std::vector<Op> ops;
  ops.reserve(order.size());
  for (std::uint32_t key : order) {
    Op op{key, static_cast<unsigned>(rng() % kMaxInterfaces), std::nullopt, std::nullopt};
    if (rng() % 4 != 0) op.metadata_version = rng() % 1000;
    if (rng() % 4 != 0) op.app_sequence = AppSequence{rng() % 3, rng() % 100};
    ops.push_back(op);
  }
  return ops;
}

// Runs each thread's ops at once (a latch lines the threads up) and returns
// every outcome. Each key is copied into a per-thread buffer that is wiped
// after the insert, as a receive buffer would be.
template <typename Table>
std::vector<std::vector<InsertOutcome>> RunThreads(Table& table,
                                                   const std::vector<std::string>& keys,
                                                   const std::vector<std::vector<Op>>& ops) {
  std::vector<std::vector<InsertOutcome>> outcomes(ops.size());
  std::latch start(static_cast<std::ptrdiff_t>(ops.size()));
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < ops.size(); ++t) {
    threads.emplace_back([&, t] {
      std::vector<InsertOutcome>& mine = outcomes[t];
      mine.reserve(ops[t].size());
      std::string datagram;
      datagram.reserve(256);
      start.arrive_and_wait();
      for (const Op& op : ops[t]) {
        datagram.assign(keys[op.key]);
        mine.push_back(
            table.Insert(datagram, op.interface_index, op.metadata_version, op.app_sequence));
        datagram.assign(datagram.size(), '#');
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return outcomes;
}

template <typename Table>
void CheckAgainstOffers(const Table& table, const std::vector<std::string>& keys,
                        const std::vector<std::vector<Op>>& ops,
                        const std::vector<std::vector<InsertOutcome>>& outcomes) {
  std::vector<Expected> expected(keys.size());
  std::vector<int> news(keys.size(), 0);
  std::vector<std::uint32_t> slot_of(keys.size(), kNoSlot);
  for (std::size_t t = 0; t < ops.size(); ++t) {
    ASSERT_EQ(outcomes[t].size(), ops[t].size());
    for (std::size_t i = 0; i < ops[t].size(); ++i) {
      const Op& op = ops[t][i];
      const InsertOutcome outcome = outcomes[t][i];
      ASSERT_NE(outcome.result, InsertResult::kFull);
      if (outcome.result == InsertResult::kNew) ++news[op.key];
      if (slot_of[op.key] == kNoSlot) slot_of[op.key] = outcome.slot;
      ASSERT_EQ(outcome.slot, slot_of[op.key]) << keys[op.key];
      Expected& e = expected[op.key];
      ++e.offers;
      e.interface_mask |= std::uint64_t{1} << op.interface_index;
      if (op.metadata_version &&
          (!e.metadata_version || *op.metadata_version > *e.metadata_version)) {
        e.metadata_version = op.metadata_version;
      }
      if (op.app_sequence && (!e.app_sequence || *op.app_sequence > *e.app_sequence)) {
        e.app_sequence = op.app_sequence;
      }
    }
  }
  std::size_t distinct = 0;
  for (std::size_t k = 0; k < keys.size(); ++k) {
    if (expected[k].offers == 0) {
      EXPECT_FALSE(table.Find(keys[k]).has_value());
      continue;
    }
    ++distinct;
    ASSERT_EQ(news[k], 1) << keys[k];
    const std::optional<EntryView> entry = table.Find(keys[k]);
    ASSERT_TRUE(entry.has_value()) << keys[k];
    EXPECT_EQ(entry->key, keys[k]);
    EXPECT_EQ(entry->slot, slot_of[k]);
    EXPECT_EQ(entry->interface_mask, expected[k].interface_mask) << keys[k];
    EXPECT_EQ(entry->metadata_version, expected[k].metadata_version) << keys[k];
    EXPECT_EQ(entry->app_sequence, expected[k].app_sequence) << keys[k];
  }
  EXPECT_EQ(table.size(), distinct);
  std::size_t visited = 0;
  table.ForEach([&](const EntryView&) { ++visited; });
  EXPECT_EQ(visited, distinct);
}

// Each thread offers three quarters of the keys, twice, in its own order.
TEST(SeenTableStress, OverlappingKeysRandomOrder) {
  std::mt19937_64 rng(1);
  std::vector<std::string> keys;
  for (int i = 0; i < 20'000; ++i) keys.push_back(RandomUrnUuid(rng));
  auto table = SeenTable::Create(32'768, 2 << 20);
  ASSERT_TRUE(table.ok());
  std::vector<std::vector<Op>> ops;
  for (int t = 0; t < kThreads; ++t) {
    std::vector<std::uint32_t> order;
    for (std::uint32_t k = 0; k < keys.size(); ++k) {
      if (k % kThreads != static_cast<std::uint32_t>(t)) order.push_back(k);
    }
    order.insert(order.end(), order.begin(), order.end());
    std::shuffle(order.begin(), order.end(), rng);
    ops.push_back(MakeOps(order, rng));
  }
  const auto outcomes = RunThreads(*table, keys, ops);
  CheckAgainstOffers(*table, keys, ops, outcomes);
}

// All threads offer the same new keys in the same order, so they race for
// the same slots: lost claims, waits on kWriting, arena give-backs. Fresh
// tables per round put every thread at the start line again.
TEST(SeenTableStress, SameKeysSameOrder) {
  std::mt19937_64 rng(2);
  for (int round = 0; round < 60; ++round) {
    std::vector<std::string> keys;
    for (int i = 0; i < 2'000; ++i) keys.push_back(RandomUrnUuid(rng));
    auto table = SeenTable::Create(2'048, 1 << 20);
    ASSERT_TRUE(table.ok());
    std::vector<std::uint32_t> order(keys.size());
    for (std::uint32_t k = 0; k < order.size(); ++k) order[k] = k;
    std::vector<std::vector<Op>> ops;
    for (int t = 0; t < kThreads; ++t) ops.push_back(MakeOps(order, rng));
    const auto outcomes = RunThreads(*table, keys, ops);
    CheckAgainstOffers(*table, keys, ops, outcomes);
    // Lost races hand their arena bytes back when they can; the rest is
    // bounded by one key per lost race.
    EXPECT_GE(table->key_arena_used(), keys.size() * keys[0].size());
    EXPECT_LE(table->key_arena_used(), kThreads * keys.size() * keys[0].size());
  }
}

TEST(SeenTableStress, ForcedCollisions) {
  std::mt19937_64 rng(3);
  std::vector<std::string> keys;
  for (int i = 0; i < 1'000; ++i) keys.push_back(RandomUrnUuid(rng));
  auto table = BasicSeenTable<SixteenHashes>::Create(1'024, 1 << 20);
  ASSERT_TRUE(table.ok());
  std::vector<std::uint32_t> order(keys.size());
  for (std::uint32_t k = 0; k < order.size(); ++k) order[k] = k;
  std::vector<std::vector<Op>> ops;
  for (int t = 0; t < kThreads; ++t) {
    if (t % 2 == 1) std::shuffle(order.begin(), order.end(), rng);
    ops.push_back(MakeOps(order, rng));
  }
  const auto outcomes = RunThreads(*table, keys, ops);
  CheckAgainstOffers(*table, keys, ops, outcomes);
}

// A flood of distinct keys into a small table: never more than one kNew per
// key, never more entries than capacity, every kNew key findable, and no
// entry leaked by backed-out reservations (the table fills exactly).
TEST(SeenTableStress, FloodIntoSmallTable) {
  std::mt19937_64 rng(4);
  std::vector<std::string> keys;
  for (int i = 0; i < 20'000; ++i) keys.push_back(RandomUrnUuid(rng));
  auto table = SeenTable::Create(1'024, 1 << 20);
  ASSERT_TRUE(table.ok());
  std::vector<std::vector<Op>> ops;
  for (int t = 0; t < kThreads; ++t) {
    std::vector<std::uint32_t> order;
    for (std::uint32_t k = 0; k < keys.size(); ++k) {
      if (rng() % 2 == 0) order.push_back(k);
    }
    std::shuffle(order.begin(), order.end(), rng);
    ops.push_back(MakeOps(order, rng));
  }
  const auto outcomes = RunThreads(*table, keys, ops);
  std::vector<int> news(keys.size(), 0);
  std::size_t total_news = 0;
  for (std::size_t t = 0; t < ops.size(); ++t) {
    for (std::size_t i = 0; i < ops[t].size(); ++i) {
      if (outcomes[t][i].result == InsertResult::kNew) {
        ++news[ops[t][i].key];
        ++total_news;
      }
    }
  }
  EXPECT_LE(total_news, table->capacity());
  EXPECT_EQ(table->size(), total_news);
  for (std::size_t k = 0; k < keys.size(); ++k) {
    ASSERT_LE(news[k], 1);
    EXPECT_EQ(table->Find(keys[k]).has_value(), news[k] == 1) << keys[k];
  }
  std::mt19937_64 fresh(5);
  while (table->Insert(RandomUrnUuid(fresh), 0).result == InsertResult::kNew) {
  }
  EXPECT_EQ(table->size(), table->capacity());
  std::size_t visited = 0;
  table->ForEach([&](const EntryView&) { ++visited; });
  EXPECT_EQ(visited, table->capacity());
}

// A small arena shared by racing threads: the bytes handed out never exceed
// it and every stored key is intact.
TEST(SeenTableStress, ArenaExhaustion) {
  std::mt19937_64 rng(6);
  std::vector<std::string> keys;
  for (int i = 0; i < 4'000; ++i) keys.push_back(RandomUrnUuid(rng));
  constexpr std::size_t kArena = 45 * 500 + 17;
  auto table = SeenTable::Create(8'192, kArena);
  ASSERT_TRUE(table.ok());
  std::vector<std::vector<Op>> ops;
  for (int t = 0; t < kThreads; ++t) {
    std::vector<std::uint32_t> order(keys.size());
    for (std::uint32_t k = 0; k < order.size(); ++k) order[k] = k;
    std::shuffle(order.begin(), order.end(), rng);
    ops.push_back(MakeOps(order, rng));
  }
  const auto outcomes = RunThreads(*table, keys, ops);
  EXPECT_LE(table->key_arena_used(), kArena);
  absl::flat_hash_map<std::string_view, int> news;
  for (std::size_t t = 0; t < ops.size(); ++t) {
    for (std::size_t i = 0; i < ops[t].size(); ++i) {
      if (outcomes[t][i].result == InsertResult::kNew) ++news[keys[ops[t][i].key]];
    }
  }
  std::size_t stored_bytes = 0;
  table->ForEach([&](const EntryView& entry) {
    stored_bytes += entry.key.size();
    EXPECT_EQ(news[entry.key], 1) << entry.key;
  });
  EXPECT_EQ(news.size(), table->size());
  EXPECT_LE(stored_bytes, kArena);
  EXPECT_GT(table->size(), 0u);
}

}  // namespace
}  // namespace onvif::dedup
