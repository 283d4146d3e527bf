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
// Build: cmake --preset fuzz && cmake --build --preset fuzz --target scanner_fuzz
// Run:   tests/fuzz/run.sh build/fuzz 60

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Scanner* const scanner = new Scanner();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const ScanResult result = scanner->Scan(input);
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
  return 0;
}
