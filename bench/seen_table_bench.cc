// SeenTable inserts per second: new keys (the first ProbeMatch of each
// camera) and already-seen keys (every duplicate after it), on 1 and 2
// threads sharing one table. Keys are realistic "urn:uuid:..." addresses,
// generated before timing and laid out back to back in arrival order, as a
// receive buffer would hold them.
//
// Before timing anything, main() checks the table against std::unordered_set
// on a mixed workload and aborts on any disagreement; every benchmark also
// counts answers that are not the expected kNew / kSeen and aborts on one.

#include <algorithm>
#include <barrier>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/dedup/seen_table.h"
#include "tests/support/random_uuid.h"

namespace onvif::dedup {
namespace {

using ::onvif::testing::RandomUrnUuid;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "seen_table_bench: verification failed: %s\n", what);
  std::abort();
}

// Keys copied back to back into one buffer, viewed in that order.
class KeyStream {
 public:
  explicit KeyStream(const std::vector<const std::string*>& keys) {
    std::size_t total = 0;
    for (const std::string* key : keys) total += key->size();
    bytes_.reserve(total);
    for (const std::string* key : keys) bytes_ += *key;
    std::size_t offset = 0;
    for (const std::string* key : keys) {
      views_.emplace_back(bytes_.data() + offset, key->size());
      offset += key->size();
    }
  }
  std::size_t size() const { return views_.size(); }
  std::string_view operator[](std::size_t i) const { return views_[i]; }

 private:
  std::string bytes_;
  std::vector<std::string_view> views_;
};

constexpr std::size_t kArenaBytesPerKey = 64;
constexpr std::size_t kSeenStreamLength = std::size_t{1} << 20;
constexpr std::int64_t kSmallTable = 4'096;   // fits in L2 with its keys
constexpr std::int64_t kLargeTable = 65'536;  // a very large site

struct Workload {
  std::vector<std::string> keys;
  std::unique_ptr<KeyStream> inserts;  // every key once, shuffled: the new-key path
  std::unique_ptr<KeyStream> lookups;  // kSeenStreamLength keys drawn from them
};

Workload MakeWorkload(std::size_t entries, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Workload workload;
  for (std::size_t i = 0; i < entries; ++i) workload.keys.push_back(RandomUrnUuid(rng));
  std::vector<const std::string*> order;
  for (const std::string& key : workload.keys) order.push_back(&key);
  std::shuffle(order.begin(), order.end(), rng);
  workload.inserts = std::make_unique<KeyStream>(order);
  order.clear();
  for (std::size_t i = 0; i < kSeenStreamLength; ++i) {
    order.push_back(&workload.keys[rng() % entries]);
  }
  workload.lookups = std::make_unique<KeyStream>(order);
  return workload;
}

// Built in main() before any benchmark runs; read-only afterwards.
Workload* g_small = nullptr;
Workload* g_large = nullptr;

const Workload& WorkloadFor(std::int64_t entries) {
  return entries == kSmallTable ? *g_small : *g_large;
}

SeenTable MakeTable(std::size_t entries) {
  auto table = SeenTable::Create(entries, entries * kArenaBytesPerKey);
  if (!table.ok()) Die("SeenTable::Create");
  return std::move(*table);
}

// The table against std::unordered_set on new, repeated and too-many keys.
void VerifyAgainstReference() {
  std::mt19937_64 rng(99);
  std::vector<std::string> keys;
  for (int i = 0; i < 3'000; ++i) keys.push_back(RandomUrnUuid(rng));
  SeenTable table = MakeTable(2'048);
  std::unordered_set<std::string> reference;
  for (int i = 0; i < 100'000; ++i) {
    const std::string& key = keys[rng() % keys.size()];
    const InsertResult result = table.Insert(key, i % 64).result;
    InsertResult expected = InsertResult::kSeen;
    if (!reference.contains(key)) {
      if (reference.size() < table.capacity()) {
        reference.insert(key);
        expected = InsertResult::kNew;
      } else {
        expected = InsertResult::kFull;
      }
    }
    if (result != expected) Die("answer differs from std::unordered_set");
  }
  if (table.size() != reference.size()) Die("size differs from std::unordered_set");
  for (const std::string& key : keys) {
    if (table.Find(key).has_value() != reference.contains(key)) Die("Find differs");
  }
  SeenTable fresh = MakeTable(16);
  if (fresh.Insert(keys[0], 0, 1).result != InsertResult::kNew) Die("first insert not kNew");
  if (fresh.Insert(keys[0], 1, 1).result != InsertResult::kSeen) Die("repeat not kSeen");
  if (fresh.Insert(keys[0], 1, 2).result != InsertResult::kUpdated) Die("raise not kUpdated");
}

// Shared by the threads of one run. Thread 0 sets them up before the loop;
// Google Benchmark's start barrier publishes them to the other threads, and
// its stop barrier keeps thread 0's teardown after everyone's last insert.
std::optional<SeenTable> g_table;
std::optional<std::barrier<>> g_batch_barrier;

void BM_InsertSeen(benchmark::State& state) {
  const Workload& workload = WorkloadFor(state.range(0));
  if (state.thread_index() == 0) {
    g_table.emplace(MakeTable(workload.keys.size()));
    for (const std::string& key : workload.keys) {
      if (g_table->Insert(key, 0, 1).result != InsertResult::kNew) Die("prefill not kNew");
    }
    if (g_table->size() != workload.keys.size()) Die("prefill size");
  }
  const KeyStream& stream = *workload.lookups;
  std::size_t i = state.thread_index() * (stream.size() / state.threads());
  std::uint64_t unexpected = 0;
  for (auto _ : state) {
    const InsertOutcome outcome = g_table->Insert(stream[i], 0, 1);
    unexpected += outcome.result != InsertResult::kSeen;
    if (++i == stream.size()) i = 0;
  }
  if (unexpected != 0) Die("a seen key did not answer kSeen");
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    state.counters["entries"] = static_cast<double>(workload.keys.size());
  }
}

// One iteration inserts the whole workload into a fresh table, each thread
// an interleaved share of it. The table is rebuilt between iterations with
// the clock stopped; the batch barrier lines the threads up around that.
void BM_InsertNew(benchmark::State& state) {
  const Workload& workload = WorkloadFor(state.range(0));
  const std::size_t entries = workload.keys.size();
  const std::size_t threads = state.threads();
  const std::size_t me = state.thread_index();
  if (me == 0) g_batch_barrier.emplace(static_cast<std::ptrdiff_t>(threads));
  const KeyStream& stream = *workload.inserts;
  std::uint64_t inserted = 0;
  for (auto _ : state) {
    state.PauseTiming();
    g_batch_barrier->arrive_and_wait();  // everyone is done with the last table
    if (me == 0) g_table.emplace(MakeTable(entries));
    g_batch_barrier->arrive_and_wait();  // the new table is there
    state.ResumeTiming();
    std::uint64_t news = 0;
    for (std::size_t i = me; i < entries; i += threads) {
      news += g_table->Insert(stream[i], static_cast<unsigned>(me), 1).result == InsertResult::kNew;
    }
    if (news != (entries - me + threads - 1) / threads) Die("a new key did not answer kNew");
    inserted += news;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(inserted));
}

BENCHMARK(BM_InsertSeen)->Arg(kSmallTable)->Arg(kLargeTable)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_InsertNew)->Arg(kSmallTable)->Arg(kLargeTable)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace onvif::dedup

int main(int argc, char** argv) {
  using namespace onvif::dedup;
  VerifyAgainstReference();
  static Workload small = MakeWorkload(kSmallTable, 1);
  static Workload large = MakeWorkload(kLargeTable, 2);
  g_small = &small;
  g_large = &large;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_table.reset();
  return 0;
}
