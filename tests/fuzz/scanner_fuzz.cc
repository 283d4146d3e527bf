// libFuzzer target: the zero-copy scanner against the pugixml reference.
//
// For every input the scanner runs (one Scanner reused across inputs, as a
// receive thread reuses it). When it accepts:
//   - every Text is decoded into a heap scratch of exactly raw.size() bytes
//     (so ASan sees any overrun) and every Scopes / XAddrs list and Types span
//     is walked, so the lazy decoding paths are fuzzed too;
//   - ReferenceScan runs on the same bytes, and the target abort()s, printing
//     both sides, when the reference rejects or the fields differ.
// When the scanner rejects, nothing is compared: it is allowed to be stricter
// than pugixml (which, for one, keeps unknown entities as text).
//
// The shape cache: the scanner above has it off; a second persistent Scanner
// with it on scans every input too, and its result (error and offset, or
// every field with its view positions) must equal the first's exactly.
// libFuzzer mutates inputs it ran before, so consecutive inputs sometimes
// share a shape; to meet the fast path on every accepted input, a variant
// with its extracted undecoded values rewritten (longer, shorter, empty,
// holding bytes taken from the input) is scanned and compared the same way
// right after it. Hits and misses are printed at exit.
//
// Build: cmake --preset fuzz && cmake --build --preset fuzz --target scanner_fuzz
// Run:   tests/fuzz/run.sh build/fuzz 60

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/wsd/scanner.h"
#include "tests/reference/reference.h"
#include "tests/wsd/scan_dump.h"

namespace {

using ::onvif::testing::DebugString;
using ::onvif::testing::Fields;
using ::onvif::testing::FieldsFromScanner;
using ::onvif::testing::ReferenceScan;
using ::onvif::wsd::Entry;
using ::onvif::wsd::Envelope;
using ::onvif::wsd::ListItems;
using ::onvif::wsd::QName;
using ::onvif::wsd::ScanErrorName;
using ::onvif::wsd::Scanner;
using ::onvif::wsd::ScannerOptions;
using ::onvif::wsd::ScanResult;
using ::onvif::wsd::Text;

[[noreturn]] void Fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "\n*** scanner_fuzz: %s (input %zu bytes)\n%s\n", what, input.size(), detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Decodes a Text into an exact-size heap scratch and checks Get's promises.
std::string DecodeText(const Text& text, std::string_view input) {
  std::vector<char> scratch(text.raw.size());
  const std::string_view value = text.Get(std::span<char>(scratch.data(), scratch.size()));
  if (value.size() > text.raw.size()) Fail("decoded text longer than raw", input, std::string(text.raw));
  if (!text.needs_decoding && (value.data() != text.raw.data() || value.size() != text.raw.size())) {
    Fail("Get() without decoding did not return raw", input, std::string(text.raw));
  }
  return std::string(value);
}

void WalkList(const Text& text, std::string_view input) {
  if (!text.present) return;
  const std::string value = DecodeText(text, input);
  std::size_t total = 0;
  for (const std::string_view item : ListItems(value)) {
    if (item.empty()) Fail("ListItems yielded an empty item", input, value);
    total += item.size();
  }
  if (total > value.size()) Fail("ListItems items longer than the list", input, value);
}

void Exercise(const Envelope& envelope, std::string_view input) {
  for (const Text* text : {&envelope.action, &envelope.message_id, &envelope.relates_to, &envelope.to}) {
    if (text->present) DecodeText(*text, input);
  }
  if (envelope.app_sequence.has_value() && envelope.app_sequence->sequence_id.present) {
    DecodeText(envelope.app_sequence->sequence_id, input);
  }
  for (const Entry& entry : envelope.entries()) {
    if (entry.endpoint.present) DecodeText(entry.endpoint, input);
    if (entry.match_by.present) DecodeText(entry.match_by, input);
    WalkList(entry.scopes, input);
    WalkList(entry.xaddrs, input);
    std::size_t bytes = 0;
    for (const QName& qname : envelope.types(entry)) bytes += qname.ns.size() + qname.local.size() + qname.prefix.size();
    if (!entry.has_types && entry.types_count != 0) Fail("types without has_types", input, "");
    (void)bytes;
  }
}

// The input with the values of its extracted fields that needed no decoding
// rewritten, each in one of a few ways picked by the input's own bytes.
std::string SlotVariant(const Envelope& envelope, std::string_view input) {
  std::vector<std::string_view> values;
  const auto add = [&](const Text& text) {
    if (text.present && !text.needs_decoding) values.push_back(text.raw);
  };
  for (const Text* text : {&envelope.action, &envelope.message_id, &envelope.relates_to, &envelope.to}) add(*text);
  if (envelope.app_sequence.has_value()) add(envelope.app_sequence->sequence_id);
  for (const Entry& entry : envelope.entries()) {
    add(entry.endpoint);
    add(entry.scopes);
    add(entry.xaddrs);
  }
  std::sort(values.begin(), values.end(), [](std::string_view a, std::string_view b) { return a.data() < b.data(); });
  std::string out;
  std::size_t from = 0;
  for (const std::string_view value : values) {
    const auto at = static_cast<std::size_t>(value.data() - input.data());
    if (at < from) continue;
    out.append(input.substr(from, at - from));
    const auto pick = static_cast<unsigned char>(input[(at * 131 + value.size()) % input.size()]);
    switch (pick % 6) {
      case 0:
        out.append(value).append(value);
        break;
      case 1:
        out.append(value.substr(0, value.size() / 2));
        break;
      case 2:
        break;
      case 3:
        out.append(" \t").append(value).append("\n");
        break;
      case 4:  // any byte, accepted or refused by the cache
        out.append(value.substr(0, value.size() / 2)).push_back(static_cast<char>(pick ^ 0x5A));
        out.append(value.substr(value.size() / 2));
        break;
      default:
        out.append(input.substr((at * 7) % input.size(), pick % 40));
        break;
    }
    from = at + value.size();
  }
  out.append(input.substr(from));
  return out;
}

Scanner* CachedScanner() {
  static Scanner* const cached = [] {
    auto* scanner = new Scanner(ScannerOptions{.shape_cache = true});
    std::atexit([] {
      std::fprintf(stderr, "scanner_fuzz: shape cache hits %llu, misses %llu\n",
                   static_cast<unsigned long long>(CachedScanner()->shape_hits()),
                   static_cast<unsigned long long>(CachedScanner()->shape_misses()));
    });
    return scanner;
  }();
  return cached;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Scanner* const scanner = new Scanner(ScannerOptions{.shape_cache = false});
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const ScanResult result = scanner->Scan(input);
  Scanner* const cached = CachedScanner();
  const ScanResult cached_result = cached->Scan(input);
  const std::string cold_dump = ::onvif::testing::DumpScan(*scanner, result, input);
  const std::string cached_dump = ::onvif::testing::DumpScan(*cached, cached_result, input);
  if (cached_dump != cold_dump) {
    Fail("shape cache result differs", input, "cached:\n" + cached_dump + "\nwithout cache:\n" + cold_dump);
  }
  if (result.offset > size) {
    Fail("error offset beyond the input", input,
         std::string(ScanErrorName(result.error)) + " at " + std::to_string(result.offset));
  }
  if (!result.ok()) return 0;

  Exercise(scanner->envelope(), input);
  const Fields got = FieldsFromScanner(scanner->envelope());
  const absl::StatusOr<Fields> reference = ReferenceScan(input);
  if (!reference.ok()) {
    Fail("scanner accepted, reference rejected", input,
         std::string(reference.status().message()) + "\nscanner:\n" + DebugString(got));
  }
  if (!(got == *reference)) {
    Fail("fields differ", input, "scanner:\n" + DebugString(got) + "reference:\n" + DebugString(*reference));
  }

  // Make this input's shape the cached one (a rebuild waits for misses in a
  // row), checking the hit on the way.
  for (std::uint32_t i = 0; i <= ::onvif::wsd::kMaxShapeRebuildMisses + 1; ++i) {
    const std::uint64_t hits = cached->shape_hits();
    const ScanResult again = cached->Scan(input);
    if (cached->shape_hits() == hits) continue;
    const std::string again_dump = ::onvif::testing::DumpScan(*cached, again, input);
    if (again_dump != cold_dump) {
      Fail("shape cache result differs on a rescan", input, "cached:\n" + again_dump + "\nwithout cache:\n" + cold_dump);
    }
    break;
  }

  // The same shape with other slot contents, in a block of exactly its size.
  const std::string variant_bytes = SlotVariant(scanner->envelope(), input);
  std::vector<char> block(variant_bytes.begin(), variant_bytes.end());
  const std::string_view variant(block.data(), block.size());
  const ScanResult cached_variant = cached->Scan(variant);
  const ScanResult cold_variant = scanner->Scan(variant);
  const std::string variant_cached_dump = ::onvif::testing::DumpScan(*cached, cached_variant, variant);
  const std::string variant_cold_dump = ::onvif::testing::DumpScan(*scanner, cold_variant, variant);
  if (variant_cached_dump != variant_cold_dump) {
    Fail("shape cache result differs on a slot variant", variant,
         "cached:\n" + variant_cached_dump + "\nwithout cache:\n" + variant_cold_dump);
  }
  return 0;
}
