// The zero-copy WS-Discovery envelope scanner.
//
// Design note
// -----------
// One pass over the bytes of one SOAP envelope (one UDP datagram). The scanner
// keeps a fixed-size stack of open elements and in-scope namespace bindings,
// classifies each element by (namespace class, local name, parent role), and
// records the WS-Discovery fields as views into the datagram. Nothing is
// allocated per envelope: all state lives in the Scanner, which is built once
// and reused (one per receiving thread).
//
// Which elements count (S = the Envelope's SOAP namespace, 1.1 or 1.2;
// A = either WS-Addressing namespace, 2004/08 or 2005/08; D = either
// WS-Discovery namespace, 2005/04 or 2009/01). Matching is by namespace URI,
// never by prefix; an element of any other namespace with the same local name
// is a vendor element and is ignored. When a field occurs twice, the first
// occurrence wins.
//   S:Envelope/S:Header/{A:Action, A:MessageID, A:RelatesTo, A:To}
//   S:Envelope/S:Header/D:AppSequence  @InstanceId @SequenceId @MessageNumber
//   S:Envelope/S:Body/<first child>    -> MessageKind
//   entries: Body/D:ProbeMatches/D:ProbeMatch, Body/D:ResolveMatches/D:ResolveMatch,
//            Body/D:Hello, Body/D:Bye, Body/D:Probe, Body/D:Resolve
//   in an entry E: E/A:EndpointReference/A:Address, E/D:Types, E/D:Scopes
//            (@MatchBy), E/D:XAddrs, E/D:MetadataVersion
//
// Text. A field's content may hold entity and character references, CDATA
// sections and comments. When it holds none, Text::raw is the content with
// XML whitespace trimmed and needs_decoding is false. Otherwise raw spans the
// whole content and Text::Get decodes it on demand into caller scratch
// (references resolved, CDATA unwrapped, comments dropped, CR LF and lone CR
// turned into LF, then XML whitespace trimmed). References are validated while
// scanning, so decoding cannot fail. A field element that contains a child
// element is rejected (kUnexpectedElement).
//
// Numbers (MetadataVersion, InstanceId, MessageNumber) are decimal unsigned
// integers after decoding and trimming; a value that is not one, or does not
// fit in 64 bits, makes the number absent rather than failing the envelope.
// AppSequence is present only when both InstanceId and MessageNumber are.
//
// Types are resolved while scanning: each QName's prefix is looked up in the
// namespace bindings in scope at the Types element (no prefix: the default
// namespace). An unbound prefix in Types content does not fail the envelope
// (real cameras forget declarations); that QName gets an empty namespace.
//
// Shape cache. In a ProbeMatch storm thousands of cameras of one model send
// envelopes that differ only in a few values (MessageID, RelatesTo, Address,
// Scopes, XAddrs, MetadataVersion, the AppSequence attribute values). After a
// successful scan the scanner keeps the envelope's shape: a copy of its bytes
// cut into constant segments around "slots", the content of each extracted
// field that needed no decoding (Types excepted: it is namespace-resolved)
// and the AppSequence attribute values. The next Scan first matches the
// datagram against it: each constant segment compared at the running
// position, each slot read up to the next '<' (or its closing quote) and
// accepted only if every byte is printable ASCII other than < > & " ' or is
// space, tab or LF, and it is at most kMaxSlotBytes long. Such a datagram
// differs from the cached one only in text the full scan copies without
// interpreting, so the result is the cached one with every view moved by its
// segment's shift, slot fields re-trimmed and numbers re-parsed by the full
// scan's own functions. Anything else (a changed constant byte, a reference,
// CDATA, a comment, CR, a child element, a truncation) falls back to the full
// scan, which is authoritative; the fast path never reports an error.
// Results are identical to a scan without the cache, views included (views
// to constants stay where they are, and decoded text the result points to,
// such as a namespace with a reference, is copied into the shape). A hit costs
// about a third of a full scan. One shape is kept, and it survives misses:
// a miss is the failed match plus the full scan, and the shape is rebuilt
// (slots logged during that scan, then copied) only after
// kShapeRebuildMisses misses in a row, a number that doubles (up to
// kMaxShapeRebuildMisses) each time a shape is replaced having missed more
// than it hit. So a storm of one model rebuilds once, an interleaved pair of
// models keeps one shape for half the traffic, and a mix that never repeats
// pays for a rebuild rarely. All of it lives in the Scanner from
// construction: nothing is allocated per envelope. The cache is on by
// default; ScannerOptions turns it off.
//
// Lifetime. Every string_view the scanner hands out (in Envelope, Entry,
// QName, Text) points into the datagram passed to Scan or into the Scanner
// itself. It stays valid while the datagram's bytes are alive and unchanged
// AND until the next call to Scan on the same Scanner or its destruction.
// Scan(std::string&&) is deleted because the views would dangle.

#ifndef ONVIF_ENGINE_WSD_SCANNER_H_
#define ONVIF_ENGINE_WSD_SCANNER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace onvif::wsd {

// Limits. Inputs beyond them are rejected, so memory and time per envelope are
// bounded whatever the bytes. 64 KiB covers the largest UDP payload (65507 B);
// DPWS Appendix B suggests 4096 B for UDP envelopes, so real traffic is far
// below every limit.
inline constexpr std::size_t kMaxEnvelopeBytes = 64 * 1024;
inline constexpr int kMaxDepth = 32;
inline constexpr std::size_t kMaxEntries = 64;
inline constexpr std::size_t kMaxFieldBytes = 8 * 1024;
inline constexpr std::size_t kMaxTypesPerEnvelope = 256;
inline constexpr std::size_t kMaxNamespaceBindings = 128;
static_assert(kMaxEnvelopeBytes >= 65507, "must hold any UDP payload");
// A slot longer than this makes the shape cache fall back: far below
// kMaxFieldBytes, so no slot it accepts could make the full scan fail.
inline constexpr std::size_t kMaxSlotBytes = 4 * 1024;
static_assert(kMaxSlotBytes < kMaxFieldBytes, "a cached slot must never be kFieldTooLong");

enum class ScanError : std::uint8_t {
  kOk = 0,
  kTooLarge,             // input longer than kMaxEnvelopeBytes
  kTruncated,            // input ends inside markup or with elements open
  kSyntax,               // not well-formed XML (bad name, stray '<', NUL, ...)
  kMismatchedTag,        // end tag does not match the open element
  kUnterminatedComment,  // <!-- without -->
  kUnterminatedCdata,    // <![CDATA[ without ]]>
  kUnboundPrefix,        // element or attribute prefix with no declaration
  kDoctype,              // any <!DOCTYPE: no DTDs, no entity expansion
  kTooDeep,              // nesting deeper than kMaxDepth
  kTooManyEntries,       // more than kMaxEntries entries in the body
  kTooManyTypes,         // more than kMaxTypesPerEnvelope QNames in Types
  kTooManyNamespaces,    // more than kMaxNamespaceBindings bindings in scope
  kFieldTooLong,         // an extracted field longer than kMaxFieldBytes
  kBadReference,         // unknown entity or invalid character reference
  kUnexpectedElement,    // child element inside a text field
  kNotSoapEnvelope,      // well-formed, but the root is not a SOAP Envelope
};

// Stable snake_case name of an error ("truncated", "mismatched_tag", ...),
// used in tool output and logs.
std::string_view ScanErrorName(ScanError error);

struct [[nodiscard]] ScanResult {
  ScanError error = ScanError::kOk;
  std::uint32_t offset = 0;  // byte offset where the error was detected
  bool ok() const { return error == ScanError::kOk; }
};

enum class SoapVersion : std::uint8_t { k11, k12 };
enum class DiscoveryVersion : std::uint8_t { kNone, k2005, k2009 };

// What the first child of the Body is.
enum class MessageKind : std::uint8_t {
  kNone,  // empty Body
  kProbe,
  kProbeMatches,
  kResolve,
  kResolveMatches,
  kHello,
  kBye,
  kFault,  // S:Fault
  kOther,  // anything else
};

// Field text; see "Text" in the design note.
struct Text {
  std::string_view raw;
  bool present = false;
  bool needs_decoding = false;

  // The field's value. Returns raw when no decoding is needed; otherwise
  // decodes into scratch, which must hold at least raw.size() bytes (decoded
  // text is never longer than raw), and returns a view of scratch.
  std::string_view Get(std::span<char> scratch) const;
};

// Splits a decoded list value (Scopes, XAddrs) on XML whitespace.
class ListItems {
 public:
  class iterator {
   public:
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    std::string_view operator*() const { return item_; }
    iterator& operator++();
    iterator operator++(int) {
      iterator copy = *this;
      ++*this;
      return copy;
    }
    bool operator==(const iterator& other) const {
      return item_.data() == other.item_.data() && rest_.data() == other.rest_.data();
    }

   private:
    friend class ListItems;
    explicit iterator(std::string_view rest);
    std::string_view item_;
    std::string_view rest_;
  };

  explicit ListItems(std::string_view value) : value_(value) {}
  iterator begin() const { return iterator(value_); }
  iterator end() const { return iterator(value_.substr(value_.size())); }

 private:
  std::string_view value_;
};

// A resolved QName from Types. ns is empty when the prefix was unbound.
struct QName {
  std::string_view prefix;
  std::string_view ns;
  std::string_view local;
};

struct Entry {
  Text endpoint;        // EndpointReference/Address
  bool has_types = false;
  std::uint16_t types_begin = 0;  // index into Envelope::types()
  std::uint16_t types_count = 0;
  Text scopes;
  Text match_by;  // Scopes/@MatchBy (Probe)
  Text xaddrs;
  std::optional<std::uint64_t> metadata_version;
};

struct AppSequence {
  std::uint64_t instance_id = 0;
  std::uint64_t message_number = 0;
  Text sequence_id;  // optional attribute
};

class Envelope {
 public:
  SoapVersion soap = SoapVersion::k12;
  DiscoveryVersion discovery = DiscoveryVersion::kNone;  // namespace of the body element
  MessageKind kind = MessageKind::kNone;
  Text action;
  Text message_id;
  Text relates_to;
  Text to;
  std::optional<AppSequence> app_sequence;

  std::span<const Entry> entries() const { return {entries_.data(), entry_count_}; }
  std::span<const QName> types(const Entry& entry) const {
    return {types_.data() + entry.types_begin, entry.types_count};
  }

 private:
  friend class Scanner;
  std::array<Entry, kMaxEntries> entries_;
  std::size_t entry_count_ = 0;
  std::array<QName, kMaxTypesPerEnvelope> types_;
  std::size_t type_count_ = 0;
};

// Shape cache rebuild policy (see "Shape cache").
inline constexpr std::uint32_t kShapeRebuildMisses = 2;
inline constexpr std::uint32_t kMaxShapeRebuildMisses = 64;

struct ScannerOptions {
  // Try the last envelope's shape before the full scan ("Shape cache").
  bool shape_cache = true;
};

class Scanner {
 public:
  Scanner();
  explicit Scanner(ScannerOptions options);
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  // Scans one envelope. On success envelope() describes it; on failure the
  // result names the error and its offset and envelope() is unspecified.
  // Never allocates. See "Lifetime" above for how long the views live.
  ScanResult Scan(std::string_view datagram);
  ScanResult Scan(std::string&& datagram) = delete;

  const Envelope& envelope() const { return envelope_; }

  // Scans answered by the shape cache, and scans with the cache on that were
  // not (no shape yet, or the datagram did not match it).
  std::uint64_t shape_hits() const { return shape_hits_; }
  std::uint64_t shape_misses() const { return shape_misses_; }
  // Shapes built so far.
  std::uint64_t shape_builds() const { return shape_builds_; }

 private:
  struct State;  // element and namespace stacks, decode arena, shape cache
  Envelope envelope_;
  std::unique_ptr<State> state_;
  bool shape_cache_ = true;
  std::uint64_t shape_hits_ = 0;
  std::uint64_t shape_misses_ = 0;
  std::uint64_t shape_builds_ = 0;
  // The current shape's hits and misses, misses in a row, and how many in a
  // row trigger a rebuild.
  std::uint64_t shape_life_hits_ = 0;
  std::uint64_t shape_life_misses_ = 0;
  std::uint32_t misses_in_a_row_ = 0;
  std::uint32_t rebuild_after_ = kShapeRebuildMisses;
};

}  // namespace onvif::wsd

#endif  // ONVIF_ENGINE_WSD_SCANNER_H_
