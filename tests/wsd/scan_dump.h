// Everything a Scan yields, as one string, so that two scans of the same
// bytes (a scanner with the shape cache and one without) compare with ==.
// Views into the input are written as their offset and size in it, so a view
// at the right text but the wrong place differs; views elsewhere (the
// scanner's arena, static strings) are written as their text.

#ifndef ONVIF_TESTS_WSD_SCAN_DUMP_H_
#define ONVIF_TESTS_WSD_SCAN_DUMP_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "engine/wsd/scanner.h"

namespace onvif::testing {

// Appends by append: GCC 12 at -O3 warns, wrongly, about operator+ chains
// on strings (-Wrestrict).
inline void Append(std::string& out, std::initializer_list<std::string_view> parts) {
  for (const std::string_view part : parts) out.append(part.data(), part.size());
}

inline std::string DumpView(std::string_view view, std::string_view input) {
  if (view.data() == nullptr) return "null";
  const auto at = reinterpret_cast<std::uintptr_t>(view.data());
  const auto base = reinterpret_cast<std::uintptr_t>(input.data());
  std::string out;
  if (input.data() != nullptr && at >= base && at - base <= input.size() && at - base + view.size() <= input.size()) {
    Append(out, {"@", std::to_string(at - base), "+", std::to_string(view.size())});
  } else {
    Append(out, {"'", view, "'"});
  }
  return out;
}

inline std::string DumpText(const wsd::Text& text, std::string_view input) {
  std::string out;
  if (!text.present) {
    Append(out, {"-"});
    if (text.raw.data() != nullptr || text.needs_decoding) Append(out, {"?", DumpView(text.raw, input)});
    return out;
  }
  Append(out, {DumpView(text.raw, input), text.needs_decoding ? "d" : ""});
  return out;
}

inline std::string DumpNumber(const std::optional<std::uint64_t>& number) {
  return number ? std::to_string(*number) : "-";
}

inline std::string DumpScan(const wsd::Scanner& scanner, const wsd::ScanResult& result, std::string_view input) {
  std::string out;
  Append(out, {wsd::ScanErrorName(result.error), "@", std::to_string(result.offset)});
  if (!result.ok()) return out;
  const wsd::Envelope& e = scanner.envelope();
  Append(out, {" soap=", std::to_string(static_cast<int>(e.soap)), " wsd=", std::to_string(static_cast<int>(e.discovery)),
               " kind=", std::to_string(static_cast<int>(e.kind)), "\n action=", DumpText(e.action, input),
               " message_id=", DumpText(e.message_id, input), " relates_to=", DumpText(e.relates_to, input),
               " to=", DumpText(e.to, input)});
  if (e.app_sequence) {
    Append(out, {"\n seq=", std::to_string(e.app_sequence->instance_id), ",",
                 std::to_string(e.app_sequence->message_number), ",", DumpText(e.app_sequence->sequence_id, input)});
  } else {
    Append(out, {"\n seq=-"});
  }
  Append(out, {"\n entries=", std::to_string(e.entries().size())});
  for (const wsd::Entry& entry : e.entries()) {
    Append(out, {"\n  endpoint=", DumpText(entry.endpoint, input), " scopes=", DumpText(entry.scopes, input),
                 " match_by=", DumpText(entry.match_by, input), " xaddrs=", DumpText(entry.xaddrs, input),
                 " mv=", DumpNumber(entry.metadata_version), " types=", entry.has_types ? "y" : "n",
                 std::to_string(entry.types_begin), "+", std::to_string(entry.types_count)});
    for (const wsd::QName& q : e.types(entry)) {
      Append(out, {"\n   (", DumpView(q.prefix, input), " ", DumpView(q.ns, input), " ", DumpView(q.local, input), ")"});
    }
  }
  return out;
}

}  // namespace onvif::testing

#endif  // ONVIF_TESTS_WSD_SCAN_DUMP_H_
