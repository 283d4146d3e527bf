// Scanner throughput against pugixml and against a memchr floor, on every
// valid corpus envelope and on the typical ONVIF ProbeMatches.
//
// Before timing anything, main() checks on every input that the scanner and
// the pugixml reference extract identical fields, and that the lean pugixml
// extractor timed here finds the same endpoints; it exits non-zero otherwise.
//
// Benchmarks are named "<contender>/<case>": scanner/onvif_probematch,
// pugixml/onvif_probematch (parse + extract), pugixml_parse_only/... (parse
// alone, a lower bound for any DOM approach), memchr/onvif_probematch.
// scanner_sse2/... is the scanner forced to its SSE2 loops; it is registered
// only where the CPU has AVX2 (scanner/ then runs the AVX2 copies). Both scan
// with the shape cache off: they rescan one datagram, which the cache would
// answer. scanner_warm/... is the storm the cache is for: round-robin over
// 256 variants of the file, each with its own urn:uuid: identifiers and
// XAddrs IPv4 addresses (tests/wsd/storm_variants.h), never the same bytes
// twice in a row; main() first checks that every variant scans the same with
// and without the cache and that the cache answers all but the first.
//
// The pugixml contender is what a careful DOM user writes: parse (the buffer
// is copied, as it must be when the datagram buffer is reused), then walk to
// the same fields, namespace-correct (each element's prefix resolved through
// the xmlns declarations of its ancestors), keeping pointers into the DOM
// rather than copying strings.

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/wsd/constants.h"
#include "engine/wsd/scanner.h"
#include "engine/wsd/scanner_simd.h"
#include "pugixml.hpp"
#include "tests/reference/reference.h"
#include "tests/wsd/scan_dump.h"
#include "tests/wsd/storm_variants.h"

namespace {

namespace wsd = onvif::wsd;

struct Case {
  std::string name;
  std::string bytes;
};

std::vector<Case> LoadCorpus() {
  std::vector<Case> cases;
  const std::filesystem::path dir = std::filesystem::path(ONVIF_CORPUS_DIR) / "valid";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".xml") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    cases.push_back({entry.path().stem().string(),
                     std::string(std::istreambuf_iterator<char>(in), {})});
  }
  std::sort(cases.begin(), cases.end(),
            [](const Case& a, const Case& b) { return a.name < b.name; });
  return cases;
}

// ---- the lean pugixml contender -------------------------------------------

enum class NsClass { kOther, kSoap, kAddressing, kDiscovery };

NsClass Classify(std::string_view uri) {
  if (uri == wsd::kNsSoap12 || uri == wsd::kNsSoap11) return NsClass::kSoap;
  if (uri == wsd::kNsAddressing2004 || uri == wsd::kNsAddressing2005) return NsClass::kAddressing;
  if (uri == wsd::kNsDiscovery2005 || uri == wsd::kNsDiscovery2009) return NsClass::kDiscovery;
  return NsClass::kOther;
}

std::string_view LocalName(pugi::xml_node node) {
  const std::string_view name = node.name();
  const std::size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

// Resolves the element's prefix through its own and its ancestors' xmlns
// attributes. Callers compare the local name first, so only candidate
// elements pay for this walk.
NsClass NamespaceOf(pugi::xml_node node) {
  if (node.type() != pugi::node_element) return NsClass::kOther;
  const std::string_view name = node.name();
  const std::size_t colon = name.find(':');
  const std::string_view prefix = colon == std::string_view::npos ? "" : name.substr(0, colon);
  for (pugi::xml_node at = node; at; at = at.parent()) {
    for (pugi::xml_attribute attr : at.attributes()) {
      const std::string_view attr_name = attr.name();
      if (prefix.empty() ? attr_name == "xmlns"
                         : (attr_name.size() == prefix.size() + 6 &&
                            attr_name.starts_with("xmlns:") && attr_name.substr(6) == prefix)) {
        return Classify(attr.value());
      }
    }
  }
  return NsClass::kOther;
}

bool Is(pugi::xml_node node, NsClass ns, std::string_view local) {
  return node.type() == pugi::node_element && LocalName(node) == local && NamespaceOf(node) == ns;
}

struct LeanEntry {
  const char* endpoint = nullptr;
  const char* types = nullptr;
  const char* scopes = nullptr;
  const char* xaddrs = nullptr;
  const char* metadata_version = nullptr;
};

struct LeanFields {
  const char* action = nullptr;
  const char* message_id = nullptr;
  const char* relates_to = nullptr;
  const char* to = nullptr;
  std::vector<LeanEntry> entries;
};

// Keeps the first occurrence, as the scanner does.
void Keep(const char** slot, pugi::xml_node node) {
  if (*slot == nullptr) *slot = node.child_value();
}

void ExtractEntry(pugi::xml_node entry_node, LeanFields* out) {
  LeanEntry entry;
  for (pugi::xml_node child : entry_node.children()) {
    if (Is(child, NsClass::kAddressing, "EndpointReference")) {
      for (pugi::xml_node address : child.children()) {
        if (Is(address, NsClass::kAddressing, "Address")) Keep(&entry.endpoint, address);
      }
    } else if (Is(child, NsClass::kDiscovery, "Types")) {
      Keep(&entry.types, child);
    } else if (Is(child, NsClass::kDiscovery, "Scopes")) {
      Keep(&entry.scopes, child);
    } else if (Is(child, NsClass::kDiscovery, "XAddrs")) {
      Keep(&entry.xaddrs, child);
    } else if (Is(child, NsClass::kDiscovery, "MetadataVersion")) {
      Keep(&entry.metadata_version, child);
    }
  }
  out->entries.push_back(entry);
}

bool LeanExtract(pugi::xml_document& doc, std::string_view bytes, LeanFields* out) {
  out->action = out->message_id = out->relates_to = out->to = nullptr;
  out->entries.clear();
  if (!doc.load_buffer(bytes.data(), bytes.size(), pugi::parse_default | pugi::parse_ws_pcdata,
                       pugi::encoding_utf8)) {
    return false;
  }
  pugi::xml_node envelope = doc.document_element();
  if (!Is(envelope, NsClass::kSoap, "Envelope")) return false;
  for (pugi::xml_node part : envelope.children()) {
    if (Is(part, NsClass::kSoap, "Header")) {
      for (pugi::xml_node field : part.children()) {
        if (Is(field, NsClass::kAddressing, "Action")) Keep(&out->action, field);
        else if (Is(field, NsClass::kAddressing, "MessageID")) Keep(&out->message_id, field);
        else if (Is(field, NsClass::kAddressing, "RelatesTo")) Keep(&out->relates_to, field);
        else if (Is(field, NsClass::kAddressing, "To")) Keep(&out->to, field);
      }
    } else if (Is(part, NsClass::kSoap, "Body")) {
      pugi::xml_node message = part.find_child([](pugi::xml_node n) {
        return n.type() == pugi::node_element;
      });
      if (!message || NamespaceOf(message) != NsClass::kDiscovery) continue;
      const std::string_view local = LocalName(message);
      if (local == "ProbeMatches" || local == "ResolveMatches") {
        for (pugi::xml_node match : message.children()) {
          if (Is(match, NsClass::kDiscovery, "ProbeMatch") ||
              Is(match, NsClass::kDiscovery, "ResolveMatch")) {
            ExtractEntry(match, out);
          }
        }
      } else if (local == "Hello" || local == "Bye" || local == "Probe" || local == "Resolve") {
        ExtractEntry(message, out);
      }
    }
  }
  return true;
}

std::string_view Trim(const char* text) {
  std::string_view view = text ? text : "";
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!view.empty() && is_space(view.front())) view.remove_prefix(1);
  while (!view.empty() && is_space(view.back())) view.remove_suffix(1);
  return view;
}

// ---- checks before timing ---------------------------------------------------

bool CheckCase(const Case& c) {
  const auto reference = onvif::testing::ReferenceScan(c.bytes);
  if (!reference.ok()) {
    std::fprintf(stderr, "%s: reference rejects: %s\n", c.name.c_str(),
                 std::string(reference.status().message()).c_str());
    return false;
  }
  wsd::Scanner scanner(wsd::ScannerOptions{.shape_cache = false});
  const wsd::ScanResult result = scanner.Scan(c.bytes);
  if (!result.ok()) {
    std::fprintf(stderr, "%s: scanner rejects: %s at %u\n", c.name.c_str(),
                 std::string(wsd::ScanErrorName(result.error)).c_str(), result.offset);
    return false;
  }
  const onvif::testing::Fields scanned = onvif::testing::FieldsFromScanner(scanner.envelope());
  if (!(scanned == *reference)) {
    std::fprintf(stderr, "%s: scanner and reference disagree\nscanner:\n%s\nreference:\n%s\n",
                 c.name.c_str(), onvif::testing::DebugString(scanned).c_str(),
                 onvif::testing::DebugString(*reference).c_str());
    return false;
  }
  // The lean contender must find the same entries; where the endpoint needs no
  // decoding, the same endpoint text.
  pugi::xml_document doc;
  LeanFields lean;
  if (!LeanExtract(doc, c.bytes, &lean) || lean.entries.size() != reference->entries.size()) {
    std::fprintf(stderr, "%s: lean pugixml extractor finds %zu entries, reference %zu\n",
                 c.name.c_str(), lean.entries.size(), reference->entries.size());
    return false;
  }
  for (std::size_t i = 0; i < lean.entries.size(); ++i) {
    const wsd::Text& endpoint = scanner.envelope().entries()[i].endpoint;
    if (endpoint.present && !endpoint.needs_decoding &&
        Trim(lean.entries[i].endpoint) != endpoint.raw) {
      std::fprintf(stderr, "%s: lean pugixml extractor endpoint differs\n", c.name.c_str());
      return false;
    }
  }
  return true;
}

// The storm variants of a case, each scanned with and without the shape
// cache to the same result, the cache answering all but the first.
constexpr std::size_t kWarmVariants = 256;
static_assert((kWarmVariants & (kWarmVariants - 1)) == 0, "round-robin by mask");

bool CheckWarm(const Case& c, const std::vector<std::string>& variants) {
  wsd::Scanner cold(wsd::ScannerOptions{.shape_cache = false});
  wsd::Scanner warm;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const std::string& v = variants[i];
    if (v == variants[(i + 1) % variants.size()]) {
      std::fprintf(stderr, "%s: storm variants %zu and %zu are identical\n", c.name.c_str(), i, i + 1);
      return false;
    }
    const wsd::ScanResult want = cold.Scan(v);
    const wsd::ScanResult got = warm.Scan(v);
    const std::string want_dump = onvif::testing::DumpScan(cold, want, v);
    const std::string got_dump = onvif::testing::DumpScan(warm, got, v);
    if (!want.ok() || want_dump != got_dump) {
      std::fprintf(stderr, "%s: storm variant %zu scans differently with the shape cache\ncached:\n%s\ncold:\n%s\n",
                   c.name.c_str(), i, got_dump.c_str(), want_dump.c_str());
      return false;
    }
  }
  if (warm.shape_hits() != variants.size() - 1) {
    std::fprintf(stderr, "%s: the shape cache answered %llu of %zu storm variants (want all but the first)\n",
                 c.name.c_str(), static_cast<unsigned long long>(warm.shape_hits()), variants.size());
    return false;
  }
  return true;
}

// ---- the timed loops ---------------------------------------------------------

void SetRates(benchmark::State& state, std::size_t bytes) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_Scanner(benchmark::State& state, const std::string* bytes) {
  wsd::Scanner scanner(wsd::ScannerOptions{.shape_cache = false});
  for (auto _ : state) {
    wsd::ScanResult result = scanner.Scan(*bytes);
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(scanner.envelope().entries().data());
  }
  SetRates(state, bytes->size());
}

void BM_ScannerSse2(benchmark::State& state, const std::string* bytes) {
  wsd::SetScannerSimdForTesting(wsd::ScannerSimd::kSse2);
  BM_Scanner(state, bytes);
  wsd::SetScannerSimdForTesting(wsd::ScannerSimd::kAuto);
}

// A storm of one model: round-robin over the variants with the shape cache.
void BM_ScannerWarm(benchmark::State& state, const std::vector<std::string>* variants) {
  wsd::Scanner scanner;
  std::size_t bytes = 0;
  for (const std::string& v : *variants) bytes += v.size();
  std::size_t i = 0;
  for (auto _ : state) {
    wsd::ScanResult result = scanner.Scan((*variants)[i]);
    i = (i + 1) & (kWarmVariants - 1);
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(scanner.envelope().entries().data());
  }
  if (scanner.shape_hits() + 1 < static_cast<std::uint64_t>(state.iterations())) {
    state.SkipWithError("the shape cache missed in the timed loop");
  }
  SetRates(state, bytes / variants->size());
}

// Three models interleaved (a miss every time for a one-shape cache): what
// the cache costs when it cannot help, against the same datagrams scanned
// with it off.
void BM_ScannerMixed(benchmark::State& state, const std::vector<std::string>* mixed, bool shape_cache) {
  wsd::Scanner scanner(wsd::ScannerOptions{.shape_cache = shape_cache});
  std::size_t bytes = 0;
  for (const std::string& v : *mixed) bytes += v.size();
  std::size_t i = 0;
  for (auto _ : state) {
    wsd::ScanResult result = scanner.Scan((*mixed)[i]);
    i = i + 1 == mixed->size() ? 0 : i + 1;
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(scanner.envelope().entries().data());
  }
  state.counters["shape_hit_rate"] = shape_cache ? static_cast<double>(scanner.shape_hits()) /
                                                       static_cast<double>(state.iterations())
                                                 : 0.0;
  SetRates(state, bytes / mixed->size());
}

void BM_Pugixml(benchmark::State& state, const std::string* bytes) {
  pugi::xml_document doc;
  LeanFields lean;
  lean.entries.reserve(wsd::kMaxEntries);
  for (auto _ : state) {
    bool ok = LeanExtract(doc, *bytes, &lean);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(lean.entries.data());
  }
  SetRates(state, bytes->size());
}

// pugixml's parse alone: the floor of any DOM approach, before any field is
// looked at.
void BM_PugixmlParseOnly(benchmark::State& state, const std::string* bytes) {
  pugi::xml_document doc;
  for (auto _ : state) {
    pugi::xml_parse_result result = doc.load_buffer(bytes->data(), bytes->size(),
                                                    pugi::parse_default | pugi::parse_ws_pcdata,
                                                    pugi::encoding_utf8);
    benchmark::DoNotOptimize(result);
  }
  SetRates(state, bytes->size());
}

// The floor: one pass that touches every byte looking for '<'.
void BM_Memchr(benchmark::State& state, const std::string* bytes) {
  for (auto _ : state) {
    std::size_t count = 0;
    const char* at = bytes->data();
    const char* end = at + bytes->size();
    while ((at = static_cast<const char*>(std::memchr(at, '<', end - at))) != nullptr) {
      ++count;
      ++at;
    }
    benchmark::DoNotOptimize(count);
  }
  SetRates(state, bytes->size());
}

}  // namespace

int main(int argc, char** argv) {
  static const std::vector<Case> cases = LoadCorpus();
  if (cases.empty()) {
    std::fprintf(stderr, "scanner_bench: no corpus files under %s/valid\n", ONVIF_CORPUS_DIR);
    return 1;
  }
  bool all_agree = true;
  bool has_probematch = false;
  for (const Case& c : cases) {
    all_agree = CheckCase(c) && all_agree;
    has_probematch = has_probematch || c.name == "onvif_probematch";
  }
  if (!all_agree) return 1;
  if (!has_probematch) {
    std::fprintf(stderr, "scanner_bench: corpus lacks onvif_probematch.xml\n");
    return 1;
  }
  static std::vector<std::vector<std::string>> storms(cases.size());
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    if (c.name != "onvif_probematch" && c.name != "axis_probematch" && c.name != "hikvision_probematch") continue;
    storms[k] = onvif::testing::StormVariants(c.bytes, kWarmVariants);
    if (!CheckWarm(c, storms[k])) return 1;
  }
  static std::vector<std::string> mixed;
  for (std::size_t i = 0; i < kWarmVariants; ++i) {
    for (const std::vector<std::string>& storm : storms) {
      if (!storm.empty()) mixed.push_back(storm[i]);
    }
  }
  benchmark::RegisterBenchmark("scanner_mixed/three_models", BM_ScannerMixed, &mixed, true);
  benchmark::RegisterBenchmark("scanner_mixed_cold/three_models", BM_ScannerMixed, &mixed, false);
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    benchmark::RegisterBenchmark(("scanner/" + c.name).c_str(), BM_Scanner, &c.bytes);
    if (!storms[k].empty()) {
      benchmark::RegisterBenchmark(("scanner_warm/" + c.name).c_str(), BM_ScannerWarm, &storms[k]);
    }
    if (wsd::ScannerUsesAvx2()) {
      benchmark::RegisterBenchmark(("scanner_sse2/" + c.name).c_str(), BM_ScannerSse2, &c.bytes);
    }
    benchmark::RegisterBenchmark(("pugixml/" + c.name).c_str(), BM_Pugixml, &c.bytes);
    benchmark::RegisterBenchmark(("pugixml_parse_only/" + c.name).c_str(), BM_PugixmlParseOnly,
                                 &c.bytes);
    benchmark::RegisterBenchmark(("memchr/" + c.name).c_str(), BM_Memchr, &c.bytes);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
