// What the sweep does per datagram, without the network: ReplyPipeline over
// a storm of distinct ProbeMatches (every camera of a swarm, as onvif-swarm
// renders them), next to the scanner alone on the same datagrams.
//
//   pipeline/new/N        each datagram a new device: scan, seen-table insert,
//                         copy-out into the DeviceStore (the storm's first pass)
//   pipeline/duplicate/N  every device already known (re-sent Probes, other NICs)
//   scan_only/N           the scanner alone: the floor of the two above
//
// Items processed = datagrams; the counters report ns per datagram. Before
// timing, the bench checks that one pass finds every camera exactly once.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/dedup/seen_table.h"
#include "engine/swarm/identity.h"
#include "engine/sweep/device_store.h"
#include "engine/sweep/pipeline.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/scanner.h"

namespace onvif {
namespace {

constexpr char kProbeId[] = "urn:uuid:00000000-0000-4000-8000-000000000001";

struct Storm {
  std::vector<std::string> datagrams;
};

const Storm& StormOf(std::size_t cameras) {
  static auto* storms = new std::vector<std::unique_ptr<Storm>>(8);
  std::size_t slot = 0;
  while ((std::size_t{1000} << slot) < cameras) ++slot;
  auto& storm = (*storms)[slot];
  if (!storm) {
    storm = std::make_unique<Storm>();
    for (std::uint32_t i = 0; i < cameras; ++i) {
      const swarm::CameraIdentity camera = swarm::MakeIdentity(1, i);
      const wsd::DeviceDescription description = swarm::Describe(camera, "10.77.0.2:80");
      storm->datagrams.push_back(wsd::BuildProbeMatches(
          wsd::NewMessageId(), kProbeId, wsd::AppSequenceSpec{.instance_id = 1, .message_number = 1},
          std::span<const wsd::DeviceDescription>(&description, 1)));
    }
  }
  return *storm;
}

struct Sweep {
  dedup::SeenTable seen;
  std::unique_ptr<sweep::DeviceStore> store;
  std::unique_ptr<sweep::ReplyPipeline> pipeline;
};

std::unique_ptr<Sweep> NewSweep(std::size_t capacity) {
  absl::StatusOr<dedup::SeenTable> seen = dedup::SeenTable::Create(capacity, capacity * 64);
  if (!seen.ok()) std::abort();
  auto s = std::make_unique<Sweep>(Sweep{*std::move(seen), nullptr, nullptr});
  absl::StatusOr<std::unique_ptr<sweep::DeviceStore>> store = sweep::DeviceStore::Create(s->seen.slot_count());
  if (!store.ok()) std::abort();
  s->store = *std::move(store);
  sweep::PipelineOptions options;
  options.probes = {{kProbeId, 0}};
  options.interface_names = {"n0"};
  s->pipeline = std::make_unique<sweep::ReplyPipeline>(s->seen, *s->store, options);
  return s;
}

void Feed(Sweep& s, const Storm& storm) {
  for (const std::string& d : storm.datagrams) {
    s.pipeline->Process(d, false, 0, 0x0a4d0002, [] { return std::string("10.77.0.2"); });
  }
}

void CheckOnce(std::size_t cameras) {
  const Storm& storm = StormOf(cameras);
  auto s = NewSweep(cameras * 2);
  Feed(*s, storm);
  Feed(*s, storm);
  const sweep::InterfaceCounters& c = s->pipeline->counters()[0];
  if (c.new_devices != cameras || c.duplicates != cameras || s->store->described() != cameras) {
    std::fprintf(stderr, "pipeline_bench: %zu cameras gave %llu new, %llu duplicates\n", cameras,
                 static_cast<unsigned long long>(c.new_devices), static_cast<unsigned long long>(c.duplicates));
    std::exit(1);
  }
}

void BM_PipelineNew(benchmark::State& state) {
  const auto cameras = static_cast<std::size_t>(state.range(0));
  CheckOnce(cameras);
  const Storm& storm = StormOf(cameras);
  for (auto _ : state) {
    state.PauseTiming();
    auto s = NewSweep(cameras * 2);
    state.ResumeTiming();
    Feed(*s, storm);
    state.PauseTiming();
    s.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(cameras));
  state.counters["ns_per_datagram"] = benchmark::Counter(
      static_cast<double>(state.iterations() * cameras), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_PipelineDuplicate(benchmark::State& state) {
  const auto cameras = static_cast<std::size_t>(state.range(0));
  const Storm& storm = StormOf(cameras);
  auto s = NewSweep(cameras * 2);
  Feed(*s, storm);
  for (auto _ : state) Feed(*s, storm);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(cameras));
  state.counters["ns_per_datagram"] = benchmark::Counter(
      static_cast<double>(state.iterations() * cameras), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_ScanOnly(benchmark::State& state) {
  const auto cameras = static_cast<std::size_t>(state.range(0));
  const Storm& storm = StormOf(cameras);
  wsd::Scanner scanner;
  for (auto _ : state) {
    for (const std::string& d : storm.datagrams) benchmark::DoNotOptimize(scanner.Scan(d));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(cameras));
  state.counters["ns_per_datagram"] = benchmark::Counter(
      static_cast<double>(state.iterations() * cameras), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK(BM_PipelineNew)->Name("pipeline/new")->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PipelineDuplicate)->Name("pipeline/duplicate")->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ScanOnly)->Name("scan_only")->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace onvif

BENCHMARK_MAIN();
