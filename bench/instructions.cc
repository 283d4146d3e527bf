// Fixed workloads for instruction counting under callgrind (bench/perf_gate):
// each runs exactly `repeat` times inside Measured(), the one function
// callgrind collects (--collect-atstart=no --toggle-collect=*Measured*), so
// instructions / repeat is the same on every run whatever the machine does.
// Setup (reading files, building datagrams, warming the table) happens
// outside Measured().
//
//   instructions scan FILE REPEAT         Scanner::Scan over one envelope, shape cache off
//   instructions scan_warm FILE REPEAT    Scanner::Scan with the shape cache, round-robin
//                                         over 256 storm variants of FILE
//                                         (tests/wsd/storm_variants.h); all hit
//   instructions pipeline_new N           ReplyPipeline, N distinct ProbeMatches
//                                         (every one a new device); repeat = N
//   instructions pipeline_duplicate N     the same N again, all known; repeat = N
//   instructions seen_lookup N            SeenTable::Insert of N known keys; repeat = N
//
// Prints {"workload":...,"repeat":N,"checksum":N}; the checksum keeps the work
// observable and is checked (a scan must succeed, counts must be right).

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dedup/seen_table.h"
#include "engine/swarm/identity.h"
#include "engine/sweep/device_store.h"
#include "engine/sweep/pipeline.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/scanner.h"
#include "tests/wsd/storm_variants.h"

namespace onvif {
namespace {

constexpr char kProbeId[] = "urn:uuid:00000000-0000-4000-8000-000000000001";

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "instructions: %s\n", why.c_str());
  std::exit(2);
}

// The one collected function. noinline keeps it a distinct symbol.
template <typename Fn>
__attribute__((noinline)) std::uint64_t Measured(Fn&& fn) {
  return fn();
}

std::vector<std::string> Storm(std::size_t cameras) {
  std::vector<std::string> datagrams;
  for (std::uint32_t i = 0; i < cameras; ++i) {
    const wsd::DeviceDescription description = swarm::Describe(swarm::MakeIdentity(1, i), "10.77.0.2:80");
    datagrams.push_back(wsd::BuildProbeMatches("urn:uuid:00000000-0000-4000-8000-00000000000" + std::to_string(i % 10),
                                               kProbeId, wsd::AppSequenceSpec{.instance_id = 1, .message_number = 1},
                                               std::span<const wsd::DeviceDescription>(&description, 1)));
  }
  return datagrams;
}

int Main(int argc, char** argv) {
  if (argc < 3) {
    Die("usage: instructions scan FILE REPEAT | scan_warm FILE REPEAT | pipeline_new N | pipeline_duplicate N | "
        "seen_lookup N");
  }
  const std::string_view workload = argv[1];
  std::uint64_t checksum = 0;
  std::size_t repeat = 0;
  if (workload == "scan_warm") {
    if (argc != 4) Die("usage: instructions scan_warm FILE REPEAT");
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) Die(std::string("cannot read ") + argv[2]);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    repeat = std::strtoul(argv[3], nullptr, 10);
    const std::vector<std::string> storm = testing::StormVariants(bytes, 256);
    wsd::Scanner scanner;
    for (const std::string& v : storm) {
      if (!scanner.Scan(v).ok()) Die(std::string("a storm variant does not scan: ") + argv[2]);
    }
    const std::uint64_t hits_before = scanner.shape_hits();
    checksum = Measured([&] {
      std::uint64_t ok = 0;
      for (std::size_t i = 0; i < repeat; ++i) ok += scanner.Scan(storm[i % storm.size()]).ok() ? 1 : 0;
      return ok;
    });
    if (checksum != repeat) Die("a scan failed");
    if (scanner.shape_hits() - hits_before != repeat) Die("the shape cache missed");
  } else if (workload == "scan") {
    if (argc != 4) Die("usage: instructions scan FILE REPEAT");
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) Die(std::string("cannot read ") + argv[2]);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    repeat = std::strtoul(argv[3], nullptr, 10);
    wsd::Scanner scanner(wsd::ScannerOptions{.shape_cache = false});
    if (!scanner.Scan(bytes).ok()) Die(std::string("does not scan: ") + argv[2]);
    checksum = Measured([&] {
      std::uint64_t ok = 0;
      for (std::size_t i = 0; i < repeat; ++i) ok += scanner.Scan(bytes).ok() ? 1 : 0;
      return ok;
    });
    if (checksum != repeat) Die("a scan failed");
  } else if (workload == "pipeline_new" || workload == "pipeline_duplicate") {
    repeat = std::strtoul(argv[2], nullptr, 10);
    const std::vector<std::string> storm = Storm(repeat);
    absl::StatusOr<dedup::SeenTable> seen = dedup::SeenTable::Create(repeat * 2, repeat * 2 * 64);
    if (!seen.ok()) Die(std::string(seen.status().message()));
    absl::StatusOr<std::unique_ptr<sweep::DeviceStore>> store = sweep::DeviceStore::Create(seen->slot_count());
    if (!store.ok()) Die(std::string(store.status().message()));
    sweep::PipelineOptions options;
    options.probes = {{kProbeId, 0}};
    options.interface_names = {"n0"};
    sweep::ReplyPipeline pipeline(*seen, **store, options);
    const auto feed = [&] {
      for (const std::string& d : storm) {
        pipeline.Process(d, false, 0, 0x0a4d0002, [] { return std::string("10.77.0.2"); });
      }
      return pipeline.counters()[0].new_devices + pipeline.counters()[0].duplicates;
    };
    if (workload == "pipeline_duplicate") feed();
    checksum = Measured(feed);
    const sweep::InterfaceCounters& c = pipeline.counters()[0];
    if (c.new_devices != repeat || c.duplicates != (workload == "pipeline_duplicate" ? repeat : 0)) {
      Die("pipeline counts are wrong");
    }
  } else if (workload == "seen_lookup") {
    repeat = std::strtoul(argv[2], nullptr, 10);
    std::vector<std::string> keys;
    for (std::uint32_t i = 0; i < repeat; ++i) keys.push_back(swarm::MakeIdentity(7, i).endpoint);
    absl::StatusOr<dedup::SeenTable> seen = dedup::SeenTable::Create(repeat * 2, repeat * 2 * 64);
    if (!seen.ok()) Die(std::string(seen.status().message()));
    for (const std::string& key : keys) {
      if (seen->Insert(key, 0).result != dedup::InsertResult::kNew) Die("keys are not distinct");
    }
    checksum = Measured([&] {
      std::uint64_t hits = 0;
      for (const std::string& key : keys) hits += seen->Insert(key, 0).result == dedup::InsertResult::kSeen ? 1 : 0;
      return hits;
    });
    if (checksum != repeat) Die("lookups did not all hit");
  } else {
    Die("unknown workload " + std::string(workload));
  }
  if (repeat == 0) Die("repeat must be positive");
  std::printf("{\"workload\":\"%s\",\"repeat\":%zu,\"checksum\":%llu}\n", std::string(workload).c_str(), repeat,
              static_cast<unsigned long long>(checksum));
  return 0;
}

}  // namespace
}  // namespace onvif

int main(int argc, char** argv) { return onvif::Main(argc, argv); }
