// The zero-copy WS-Discovery envelope scanner; the contract is in scanner.h.
//
// State machine
// -------------
// Scan walks the datagram once with a cursor and three phases:
//   prolog   BOM, whitespace, the XML declaration, PIs, comments; <!DOCTYPE
//            fails. The first other '<' opens the root.
//   content  while elements are open. Text between tags is jumped over with
//            memchr('<') without being looked at, except inside a field
//            element (see below). Each '<' is dispatched on the next byte:
//            '/' end tag, '!' comment / CDATA / DOCTYPE, '?' PI, else a start
//            tag.
//   epilog   after the root closes: whitespace, comments, PIs only.
//
// A start tag is read in one pass: name, then attributes. xmlns attributes
// are pushed on the binding stack as they are met (each URI is classified
// once, by length and memcmp, into NsClass), so a declaration applies to the
// element's own name. Then the element's prefix is resolved by scanning the
// binding stack from the top, and its role is computed from (parent role,
// NsClass, local name). Elements outside the known paths get kIgnore and so
// does their whole subtree: it is only balanced, never interpreted. Only the
// rare elements that carry other attributes (AppSequence, Scopes, anything
// with a prefixed attribute) re-read their attribute list, which pass one
// already validated.
//
// A field element (Action, Address, Types, ...) consumes its content
// immediately: an SSE2 search for the bytes that matter ('<' '&' CR NUL)
// decides whether the text needs decoding, validates references, skips
// comments/CDATA/PIs and stops at the end tag; any child element is an error.
//
// End tags are matched by comparing the raw qname bytes with those of the
// open element. Closing an element pops the bindings it declared.
//
// Memory: the element stack, the binding stack and a decode arena live in
// State, allocated once by the constructor. The arena holds namespace URIs
// and Types content that contain references; each decoded string comes from
// a distinct region of the input and is never longer than it, so the arena
// never needs more than the input's size (<= kMaxEnvelopeBytes).

#include "engine/wsd/scanner.h"

#include <array>
#include <bit>
#include <cstring>
#include <optional>

#include "engine/wsd/constants.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace onvif::wsd {
namespace {

constexpr std::string_view kNsXml = "http://www.w3.org/XML/1998/namespace";

// ---------------------------------------------------------------------------
// Characters and byte searches.

constexpr std::uint8_t kWsBit = 1;
constexpr std::uint8_t kNameBit = 2;
constexpr std::uint8_t kNameStartBit = 4;
constexpr std::uint8_t kAlphaBit = 8;

// Name characters are ASCII [A-Za-z0-9_.:-] and every byte >= 0x80: UTF-8
// names are legal XML and validating them would cost time for no field we
// read. ScanName's SSE2 path implements the same set.
constexpr std::array<std::uint8_t, 256> MakeCharTable() {
  std::array<std::uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t bits = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') bits |= kWsBit;
    if (alpha || c == '_' || c >= 0x80) bits |= kNameStartBit | kNameBit;
    if (digit || c == '-' || c == '.' || c == ':') bits |= kNameBit;
    if (alpha) bits |= kAlphaBit;
    table[c] = bits;
  }
  return table;
}
constexpr std::array<std::uint8_t, 256> kChars = MakeCharTable();

inline bool IsWs(char c) { return kChars[static_cast<unsigned char>(c)] & kWsBit; }
inline bool IsNameChar(char c) { return kChars[static_cast<unsigned char>(c)] & kNameBit; }
inline bool IsNameStart(char c) { return kChars[static_cast<unsigned char>(c)] & kNameStartBit; }
inline bool IsAlpha(char c) { return kChars[static_cast<unsigned char>(c)] & kAlphaBit; }

inline std::string_view TrimWs(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && IsWs(s[b])) ++b;
  while (e > b && IsWs(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// s equals the literal; the length is a compile-time constant, so the
// compiler turns the compare into a few loads instead of a libc call.
template <std::size_t N>
inline bool Is(std::string_view s, const char (&lit)[N]) {
  return s.size() == N - 1 && __builtin_memcmp(s.data(), lit, N - 1) == 0;
}

inline std::uint64_t Load64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline std::uint32_t Load32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// n bytes at a and b are equal; inlined word compares (the last word
// overlaps) for qnames.
inline bool SameQName(const char* a, const char* b, std::size_t n) {
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      if (Load64(a + i) != Load64(b + i)) return false;
    }
    return Load64(a + n - 8) == Load64(b + n - 8);
  }
  if (n >= 4) return Load32(a) == Load32(b) && Load32(a + n - 4) == Load32(b + n - 4);
  for (; n > 0; --n) {
    if (*a++ != *b++) return false;
  }
  return true;
}

// The first min(n, 8) bytes of p as an integer, zero padded: a prefix's
// lookup key. limit bounds what may be read.
inline std::uint64_t PrefixKey(const char* p, std::size_t n, const char* limit) {
  const std::size_t m = n < 8 ? n : 8;
  std::uint64_t key = 0;
  if (limit - p >= 8) {
    key = Load64(p);
    if (m < 8) {
      if constexpr (std::endian::native == std::endian::little) {
        key &= (std::uint64_t{1} << (8 * m)) - 1;
      } else {
        key = m == 0 ? 0 : key & ~((std::uint64_t{1} << (8 * (8 - m))) - 1);
      }
    }
  } else if (m > 0) {
    std::memcpy(&key, p, m);
  }
  return key;
}

#if defined(__SSE2__)
inline unsigned MoveMask(__m128i v) { return static_cast<unsigned>(_mm_movemask_epi8(v)); }
#endif

// First byte in [p, end) equal to one of a..d, or end.
inline const char* FindAny4(const char* p, const char* end, char a, char b, char c, char d) {
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  const __m128i vc = _mm_set1_epi8(c);
  const __m128i vd = _mm_set1_epi8(d);
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, vc), _mm_cmpeq_epi8(x, vd)));
    const unsigned bits = MoveMask(m);
    if (bits != 0) return p + std::countr_zero(bits);
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    const char x = *p;
    if (x == a || x == b || x == c || x == d) return p;
  }
  return end;
}

// Field text: the bytes that matter are '<', '&', CR and NUL.
inline const char* FindTextSpecial(const char* p, const char* end) { return FindAny4(p, end, '<', '&', '\r', '\0'); }

// Attribute value: the closing quote, or '<', '&', CR, NUL. Controls
// (< 0x0E, which includes CR and NUL) are caught by one unsigned compare and
// sorted out by the caller.
inline const char* FindValueSpecial(const char* p, const char* end, char quote) {
#if defined(__SSE2__)
  const __m128i vq = _mm_set1_epi8(quote);
  const __m128i vlt = _mm_set1_epi8('<');
  const __m128i vamp = _mm_set1_epi8('&');
  const __m128i v13 = _mm_set1_epi8(13);
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, v13), x);  // x <= 13 unsigned
    const __m128i m =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vq), _mm_cmpeq_epi8(x, vlt)), _mm_or_si128(_mm_cmpeq_epi8(x, vamp), ctl));
    const unsigned bits = MoveMask(m);
    if (bits != 0) return p + std::countr_zero(bits);
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    const char x = *p;
    if (x == quote || x == '<' || x == '&' || static_cast<unsigned char>(x) <= 13) return p;
  }
  return end;
}

struct NameScan {
  const char* end;     // first byte that is not a name character
  const char* colon;   // first ':' or nullptr
  bool extra_colon;    // more than one ':'
};

// Scans a name starting at q (the caller checked the first byte).
inline NameScan ScanName(const char* q, const char* end) {
  NameScan r{q, nullptr, false};
  const auto note_colons = [&r](const char* base, unsigned colons) {
    if (colons == 0) return;
    if (r.colon != nullptr || (colons & (colons - 1)) != 0) r.extra_colon = true;
    if (r.colon == nullptr) r.colon = base + std::countr_zero(colons);
  };
#if defined(__SSE2__)
  while (end - q >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    const __m128i lower = _mm_or_si128(x, _mm_set1_epi8(0x20));
    const __m128i alpha =
        _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(lower, _mm_set1_epi8('z' + 1)));
    // '-' '.' '0'..'9' ':' are 0x2D..0x3A without '/' (0x2F).
    const __m128i punct =
        _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('/')),
                         _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(',')), _mm_cmplt_epi8(x, _mm_set1_epi8(';'))));
    const __m128i other = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('_')), _mm_cmplt_epi8(x, _mm_setzero_si128()));
    const unsigned stop = ~MoveMask(_mm_or_si128(_mm_or_si128(alpha, punct), other)) & 0xFFFFu;
    unsigned colons = MoveMask(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
    if (stop != 0) {
      colons &= (1u << std::countr_zero(stop)) - 1;
      note_colons(q, colons);
      r.end = q + std::countr_zero(stop);
      return r;
    }
    note_colons(q, colons);
    q += 16;
  }
#endif
  for (; q < end && IsNameChar(*q); ++q) {
    if (*q == ':') note_colons(q, 1);
  }
  r.end = q;
  return r;
}

// Finds "-->", "]]>" or "?>" (terminator of length n, ending in '>') at or
// after from; returns the position just past it, or nullptr.
inline const char* FindTerminator(const char* from, const char* end, const char* term, std::size_t n) {
  if (static_cast<std::size_t>(end - from) < n) return nullptr;
  const char* p = from + (n - 1);
  while (p < end) {
    const void* gt = std::memchr(p, '>', static_cast<std::size_t>(end - p));
    if (gt == nullptr) return nullptr;
    p = static_cast<const char*>(gt);
    if (std::memcmp(p - (n - 1), term, n - 1) == 0) return p + 1;
    ++p;
  }
  return nullptr;
}

// Match of a literal at p (p < end): 1 = matches, 0 = differs, -1 = the
// input ends while what is there is a prefix of the literal.
inline int MatchLiteral(const char* p, const char* end, std::string_view lit) {
  const std::size_t avail = static_cast<std::size_t>(end - p);
  const std::size_t n = avail < lit.size() ? avail : lit.size();
  if (std::memcmp(p, lit.data(), n) != 0) return 0;
  return n == lit.size() ? 1 : -1;
}

// ---------------------------------------------------------------------------
// References. Allowed: lt gt amp apos quot, &#N; and &#xN; naming a code
// point other than 0, a surrogate, or beyond U+10FFFF.

enum class RefStatus { kOk, kBad, kTruncated };

// p points at '&'. On kOk, *code is the code point and *next the byte after ';'.
RefStatus ParseReference(const char* p, const char* end, std::uint32_t* code, const char** next) {
  const char* r = p + 1;
  if (r == end) return RefStatus::kTruncated;
  if (*r == '#') {
    ++r;
    bool hex = false;
    if (r < end && *r == 'x') {
      hex = true;
      ++r;
    }
    std::uint32_t value = 0;
    int digits = 0;
    for (; r < end; ++r) {
      const char c = *r;
      std::uint32_t d;
      if (c >= '0' && c <= '9') {
        d = static_cast<std::uint32_t>(c - '0');
      } else if (hex && c >= 'a' && c <= 'f') {
        d = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (hex && c >= 'A' && c <= 'F') {
        d = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        break;
      }
      value = value * (hex ? 16 : 10) + d;
      if (value > 0x10FFFF) value = 0x110000;  // saturate: stays invalid
      ++digits;
    }
    if (r == end) return RefStatus::kTruncated;
    if (*r != ';' || digits == 0) return RefStatus::kBad;
    if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return RefStatus::kBad;
    *code = value;
    *next = r + 1;
    return RefStatus::kOk;
  }
  const char* name = r;
  while (r < end && r - name < 5 && IsAlpha(*r)) ++r;
  if (r == end) return RefStatus::kTruncated;
  if (*r != ';') return RefStatus::kBad;
  const std::string_view n(name, static_cast<std::size_t>(r - name));
  if (n == "lt") {
    *code = '<';
  } else if (n == "gt") {
    *code = '>';
  } else if (n == "amp") {
    *code = '&';
  } else if (n == "apos") {
    *code = '\'';
  } else if (n == "quot") {
    *code = '"';
  } else {
    return RefStatus::kBad;
  }
  *next = r + 1;
  return RefStatus::kOk;
}

// Bounded output for the decoder: never writes past cap.
struct Sink {
  char* out;
  std::size_t cap;
  std::size_t n = 0;
  void Put(char c) {
    if (n < cap) out[n] = c;
    ++n;
  }
  void PutUtf8(std::uint32_t cp) {
    if (cp < 0x80) {
      Put(static_cast<char>(cp));
    } else if (cp < 0x800) {
      Put(static_cast<char>(0xC0 | (cp >> 6)));
      Put(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      Put(static_cast<char>(0xE0 | (cp >> 12)));
      Put(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      Put(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      Put(static_cast<char>(0xF0 | (cp >> 18)));
      Put(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      Put(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      Put(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  std::size_t size() const { return n < cap ? n : cap; }
};

// Decodes field content (see "Text" in scanner.h) into out[0, cap); returns
// the untrimmed decoded length (<= raw.size()). Tolerates content the scanner
// never accepts (a bad reference or a stray '<' is copied literally) so that
// a hand-made Text cannot make it misbehave.
std::size_t Decode(std::string_view raw, char* out, std::size_t cap) {
  Sink sink{out, cap};
  const char* p = raw.data();
  const char* const end = p + raw.size();
  while (p < end) {
    const char c = *p;
    if (c == '&') {
      std::uint32_t code = 0;
      const char* next = nullptr;
      if (ParseReference(p, end, &code, &next) == RefStatus::kOk) {
        sink.PutUtf8(code);
        p = next;
        continue;
      }
    } else if (c == '\r') {
      sink.Put('\n');
      p += (p + 1 < end && p[1] == '\n') ? 2 : 1;
      continue;
    } else if (c == '<') {
      if (MatchLiteral(p, end, "<!--") == 1) {
        const char* after = FindTerminator(p + 4, end, "-->", 3);
        p = after != nullptr ? after : end;
        continue;
      }
      if (MatchLiteral(p, end, "<![CDATA[") == 1) {
        const char* inner = p + 9;
        const char* after = FindTerminator(inner, end, "]]>", 3);
        const char* inner_end = after != nullptr ? after - 3 : end;
        for (const char* q = inner; q < inner_end; ++q) {
          if (*q == '\r') {
            sink.Put('\n');
            if (q + 1 < inner_end && q[1] == '\n') ++q;
          } else {
            sink.Put(*q);
          }
        }
        p = after != nullptr ? after : end;
        continue;
      }
      if (MatchLiteral(p, end, "<?") == 1) {
        const char* after = FindTerminator(p + 2, end, "?>", 2);
        p = after != nullptr ? after : end;
        continue;
      }
    }
    sink.Put(c);
    ++p;
  }
  return sink.size();
}

// Decimal unsigned 64-bit integer, nothing else (no sign, no whitespace).
std::optional<std::uint64_t> ParseUint64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - d) / 10) return std::nullopt;
    value = value * 10 + d;
  }
  return value;
}

// ---------------------------------------------------------------------------
// Namespaces and roles.

enum class NsClass : std::uint8_t { kNone, kSoap11, kSoap12, kWsa2004, kWsa2005, kWsd2005, kWsd2009, kOther };

template <std::size_t N>
constexpr std::size_t Len(const char (&)[N]) {
  return N - 1;
}

// Each URI has a distinct length (the switch would not compile otherwise),
// so one inlined compare decides.
NsClass ClassifyNs(std::string_view uri) {
  static_assert(Len("http://www.w3.org/2003/05/soap-envelope") == kNsSoap12.size());
  switch (uri.size()) {
    case kNsSoap12.size():
      return Is(uri, "http://www.w3.org/2003/05/soap-envelope") ? NsClass::kSoap12 : NsClass::kOther;
    case kNsSoap11.size():
      return Is(uri, "http://schemas.xmlsoap.org/soap/envelope/") ? NsClass::kSoap11 : NsClass::kOther;
    case kNsAddressing2004.size():
      return Is(uri, "http://schemas.xmlsoap.org/ws/2004/08/addressing") ? NsClass::kWsa2004 : NsClass::kOther;
    case kNsAddressing2005.size():
      return Is(uri, "http://www.w3.org/2005/08/addressing") ? NsClass::kWsa2005 : NsClass::kOther;
    case kNsDiscovery2005.size():
      return Is(uri, "http://schemas.xmlsoap.org/ws/2005/04/discovery") ? NsClass::kWsd2005 : NsClass::kOther;
    case kNsDiscovery2009.size():
      return Is(uri, "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01") ? NsClass::kWsd2009 : NsClass::kOther;
    case 0:
      return NsClass::kNone;
    default:
      return NsClass::kOther;
  }
}

inline bool IsWsa(NsClass c) { return c == NsClass::kWsa2004 || c == NsClass::kWsa2005; }
inline bool IsWsd(NsClass c) { return c == NsClass::kWsd2005 || c == NsClass::kWsd2009; }

enum class Role : std::uint8_t {
  kIgnore,  // outside the known paths: balanced, not interpreted
  kEnvelope,
  kHeader,
  kBody,
  kAppSequence,
  kProbeMatches,
  kResolveMatches,
  kEntry,
  kEndpointReference,
  // Field roles: text content, consumed by ScanField.
  kAction,
  kMessageId,
  kRelatesTo,
  kTo,
  kAddress,
  kTypes,
  kScopes,
  kXAddrs,
  kMetadataVersion,
};
inline bool IsField(Role r) { return r >= Role::kAction; }

struct Binding {
  const char* prefix;  // in the datagram; empty: the default namespace
  std::uint32_t prefix_size;
  NsClass ns_class;
  bool undeclared;  // xmlns:p="": p is unbound below this point
  std::uint64_t key;     // PrefixKey of the prefix
  std::string_view uri;  // decoded; empty: no namespace
};

struct OpenElement {
  const char* qname;
  std::uint32_t qname_size;
  std::uint16_t binding_mark;  // binding count before this element
  Role role;
};

// A direct-mapped cache of prefix lookups (prefixes of up to 8 bytes, whose
// key identifies them). Invariant: if a slot names binding i, i is in scope
// and holds the slot's prefix, then i is the innermost binding of that
// prefix: every push of a prefix overwrites its slot, and lookups only store
// what the stack scan found.
struct LookupCacheEntry {
  std::uint64_t key = 0;
  std::uint32_t size = 0;
  std::uint32_t index = 0;
};
constexpr std::size_t kLookupCacheSize = 8;

inline std::size_t CacheSlot(std::uint64_t key) { return (key * 0x9E3779B97F4A7C15ull) >> 61; }
static_assert(kLookupCacheSize == 8, "CacheSlot keeps 3 bits");

// Duplicate attribute detection (XML 1.0, 3.1: attribute names are unique in
// a tag). The first kFewAttributes names of a tag are compared pairwise; a tag
// with more switches to this open-addressing table, so hostile tags with
// thousands of attributes stay linear. Slots are valid when their stamp is
// the current one.
struct AttributeSlot {
  std::uint32_t stamp = 0;
  std::uint32_t size = 0;
  const char* name = nullptr;
};
constexpr int kFewAttributes = 16;
constexpr std::size_t kAttributeTableSize = 16384;
// Every attribute takes at least 5 bytes (' a=""'), so the table never fills.
static_assert(kAttributeTableSize > kMaxEnvelopeBytes / 5);

struct AttributeNames {
  const char* names[kFewAttributes];
  std::uint32_t sizes[kFewAttributes];
  int count = 0;
  bool hashed = false;
};

struct ScanState {
  std::array<OpenElement, kMaxDepth> elements;
  std::array<Binding, kMaxNamespaceBindings> bindings;
  std::array<LookupCacheEntry, kLookupCacheSize> lookup_cache{};
  std::array<AttributeSlot, kAttributeTableSize> attribute_table{};
  std::uint32_t attribute_stamp = 0;
  std::array<char, kMaxEnvelopeBytes> arena;
};

// Trivially constructible (no string_view members): StartTag keeps an
// uninitialised array of them on every call.
struct Attribute {
  const char* name;
  std::uint32_t name_size;
  std::uint32_t colon;  // offset of ':' in the name, or 0 when unprefixed
  const char* value;
  std::uint32_t value_size;
  bool needs_decoding;  // holds '&' or CR
  std::string_view Name() const { return {name, name_size}; }
  std::string_view Value() const { return {value, value_size}; }
};

// Attributes other than xmlns kept from a start tag's first pass; more than
// this and the tag is read again.
constexpr int kKeptAttributes = 4;

// AppSequence attributes while its start tag is read.
struct AppSequenceAttributes {
  Text instance_id;
  Text message_number;
  Text sequence_id;
};

// One Scan call. Methods return false on error after recording it.
class Pass {
 public:
  Pass(std::string_view input, ScanState& state, Envelope& envelope, std::array<Entry, kMaxEntries>& entries,
       std::size_t& entry_count, std::array<QName, kMaxTypesPerEnvelope>& types, std::size_t& type_count)
      : begin_(input.data()),
        end_(input.data() + input.size()),
        p_(input.data()),
        state_(state),
        envelope_(envelope),
        entries_(entries),
        entry_count_(entry_count),
        types_(types),
        type_count_(type_count) {}

  ScanResult Run();

 private:
  bool Fail(ScanError error, const char* at) {
    error_ = error;
    error_at_ = at;
    return false;
  }
  bool SkipMisc();
  bool SkipMarkupDecl(const char* lt, bool in_content);
  bool SkipMarkupDeclBody(const char* lt, bool in_content);
  bool StartTag();
  bool EndTag();
  bool ParseAttribute(const char*& q, Attribute& attr);
  bool PushBinding(const Attribute& attr);
  bool UniqueName(const Attribute& attr, AttributeNames& seen);
  bool InsertHashed(const char* name, std::uint32_t size);
  const Binding* Lookup(const char* prefix, std::size_t size, const char* limit);
  bool ChildRole(Role parent, NsClass ns, std::string_view local, const char* lt, Role& role);
  bool NewEntry(const char* lt);
  bool UseAttribute(const Attribute& attr, Role role, AppSequenceAttributes& seq);
  bool RereadAttributes(const char* q, Role role, AppSequenceAttributes& seq);
  void FinishAppSequence(const AppSequenceAttributes& seq);
  bool ScanField(Role role, const char* content);
  bool StoreField(Role role, const Text& text, const char* at);
  bool ResolveTypes(const Text& text, const char* at);
  std::string_view DecodeToArena(std::string_view raw, bool keep);
  Entry& CurrentEntry() { return entries_[entry_count_ - 1]; }

  const char* const begin_;
  const char* const end_;
  const char* p_;
  ScanState& state_;
  Envelope& envelope_;
  std::array<Entry, kMaxEntries>& entries_;
  std::size_t& entry_count_;
  std::array<QName, kMaxTypesPerEnvelope>& types_;
  std::size_t& type_count_;

  int depth_ = 0;
  std::uint32_t binding_count_ = 0;
  std::size_t arena_used_ = 0;
  NsClass soap_ns_ = NsClass::kNone;
  bool kind_set_ = false;
  bool app_sequence_seen_ = false;
  bool metadata_seen_ = false;  // in the current entry
  const char* not_soap_at_ = nullptr;
  ScanError error_ = ScanError::kOk;
  const char* error_at_ = nullptr;
};

ScanResult Pass::Run() {
  if (end_ - begin_ > static_cast<std::ptrdiff_t>(kMaxEnvelopeBytes)) {
    return {ScanError::kTooLarge, static_cast<std::uint32_t>(kMaxEnvelopeBytes)};
  }
  if (end_ - p_ >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) p_ += 3;

  bool ok = SkipMisc();
  if (ok && p_ == end_) ok = Fail(ScanError::kTruncated, end_);  // no root
  if (ok) ok = StartTag();
  while (ok && depth_ > 0) {
    if (p_ == end_) {
      ok = Fail(ScanError::kTruncated, end_);
      break;
    }
    // Structural or ignored content: text is only searched for the next
    // '<', and for NUL, which no XML document holds (pugixml, our reference,
    // takes it for the end of the input).
    if (*p_ != '<') {
      p_ = FindAny4(p_, end_, '<', '\0', '<', '\0');
      if (p_ == end_) {
        ok = Fail(ScanError::kTruncated, end_);
        break;
      }
      if (*p_ == '\0') {
        ok = Fail(ScanError::kSyntax, p_);
        break;
      }
    }
    if (p_ + 1 == end_) {
      ok = Fail(ScanError::kTruncated, end_);
      break;
    }
    const char next = p_[1];
    if (next == '/') {
      ok = EndTag();
    } else if (next == '!' || next == '?') {
      ok = SkipMarkupDecl(p_, /*in_content=*/true);
    } else {
      ok = StartTag();
    }
  }
  if (ok) ok = SkipMisc();
  if (ok && p_ != end_) ok = Fail(ScanError::kSyntax, p_);  // a second root
  if (ok && not_soap_at_ != nullptr) ok = Fail(ScanError::kNotSoapEnvelope, not_soap_at_);
  if (!ok) return {error_, static_cast<std::uint32_t>(error_at_ - begin_)};
  return {};
}

// Whitespace, comments and PIs outside the root. Stops at end or at a '<'
// that opens an element.
bool Pass::SkipMisc() {
  for (;;) {
    while (p_ < end_ && IsWs(*p_)) ++p_;
    if (p_ == end_) return true;
    if (*p_ != '<') return Fail(ScanError::kSyntax, p_);
    if (p_ + 1 == end_) return Fail(ScanError::kTruncated, end_);
    if (p_[1] != '!' && p_[1] != '?') return true;
    if (!SkipMarkupDecl(p_, /*in_content=*/false)) return false;
  }
}

// lt points at "<!" or "<?". Skips a comment, a PI or (in content) a CDATA
// section, which must not hold NUL; <!DOCTYPE and anything else fail.
bool Pass::SkipMarkupDecl(const char* lt, bool in_content) {
  if (!SkipMarkupDeclBody(lt, in_content)) return false;
  const void* nul = std::memchr(lt, '\0', static_cast<std::size_t>(p_ - lt));
  if (nul != nullptr) return Fail(ScanError::kSyntax, static_cast<const char*>(nul));
  return true;
}

bool Pass::SkipMarkupDeclBody(const char* lt, bool in_content) {
  if (lt[1] == '?') {
    if (lt + 2 == end_) return Fail(ScanError::kTruncated, end_);
    if (!IsNameStart(lt[2])) return Fail(ScanError::kSyntax, lt);
    const char* after = FindTerminator(lt + 2, end_, "?>", 2);
    if (after == nullptr) return Fail(ScanError::kTruncated, end_);
    p_ = after;
    return true;
  }
  int m = MatchLiteral(lt, end_, "<!--");
  if (m == 1) {
    const char* after = FindTerminator(lt + 4, end_, "-->", 3);
    if (after == nullptr) return Fail(ScanError::kUnterminatedComment, lt);
    p_ = after;
    return true;
  }
  if (m == -1) return Fail(ScanError::kTruncated, end_);
  m = MatchLiteral(lt, end_, "<![CDATA[");
  if (m == 1) {
    if (!in_content) return Fail(ScanError::kSyntax, lt);
    const char* after = FindTerminator(lt + 9, end_, "]]>", 3);
    if (after == nullptr) return Fail(ScanError::kUnterminatedCdata, lt);
    p_ = after;
    return true;
  }
  if (m == -1) return Fail(ScanError::kTruncated, end_);
  m = MatchLiteral(lt, end_, "<!DOCTYPE");
  if (m == 1) return Fail(ScanError::kDoctype, lt);
  if (m == -1) return Fail(ScanError::kTruncated, end_);
  return Fail(ScanError::kSyntax, lt);
}

// q points at the attribute name (q < end_); on success q is just past the
// closing quote.
bool Pass::ParseAttribute(const char*& q, Attribute& attr) {
  const char* const name = q;
  if (!IsNameStart(*q)) return Fail(ScanError::kSyntax, q);
  const NameScan scan = ScanName(q + 1, end_);
  q = scan.end;
  if (q == end_) return Fail(ScanError::kTruncated, end_);
  attr.name = name;
  attr.name_size = static_cast<std::uint32_t>(q - name);
  attr.colon = 0;
  if (scan.colon != nullptr) {
    if (scan.extra_colon || scan.colon + 1 == q || !IsNameStart(scan.colon[1])) {
      return Fail(ScanError::kSyntax, scan.colon);
    }
    attr.colon = static_cast<std::uint32_t>(scan.colon - name);
  }
  if (*q != '=') {
    while (q < end_ && IsWs(*q)) ++q;
    if (q == end_) return Fail(ScanError::kTruncated, end_);
    if (*q != '=') return Fail(ScanError::kSyntax, q);
  }
  ++q;
  while (q < end_ && IsWs(*q)) ++q;
  if (q == end_) return Fail(ScanError::kTruncated, end_);
  const char quote = *q;
  if (quote != '"' && quote != '\'') return Fail(ScanError::kSyntax, q);
  const char* const value = ++q;
  attr.needs_decoding = false;
  for (;;) {
    q = FindValueSpecial(q, end_, quote);
    if (q == end_) return Fail(ScanError::kTruncated, end_);
    const char c = *q;
    if (c == quote) break;
    if (c == '&') {
      std::uint32_t code;
      const char* next;
      const RefStatus status = ParseReference(q, end_, &code, &next);
      if (status == RefStatus::kTruncated) return Fail(ScanError::kTruncated, end_);
      if (status == RefStatus::kBad) return Fail(ScanError::kBadReference, q);
      attr.needs_decoding = true;
      q = next;
      continue;
    }
    if (c == '<' || c == '\0') return Fail(ScanError::kSyntax, q);
    if (c == '\r') attr.needs_decoding = true;
    ++q;  // another control byte
  }
  attr.value = value;
  attr.value_size = static_cast<std::uint32_t>(q - value);
  ++q;
  return true;
}

// False when the tag already has an attribute of this name.
bool Pass::UniqueName(const Attribute& attr, AttributeNames& seen) {
  if (seen.count < kFewAttributes) {
    for (int i = 0; i < seen.count; ++i) {
      if (seen.sizes[i] == attr.name_size && std::memcmp(seen.names[i], attr.name, attr.name_size) == 0) return false;
    }
    seen.names[seen.count] = attr.name;
    seen.sizes[seen.count] = attr.name_size;
    ++seen.count;
    return true;
  }
  if (!seen.hashed) {
    seen.hashed = true;
    if (++state_.attribute_stamp == 0) {  // wrapped: forget every old slot
      state_.attribute_table.fill(AttributeSlot{});
      state_.attribute_stamp = 1;
    }
    for (int i = 0; i < seen.count; ++i) InsertHashed(seen.names[i], seen.sizes[i]);
  }
  return InsertHashed(attr.name, attr.name_size);
}

bool Pass::InsertHashed(const char* name, std::uint32_t size) {
  std::uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (std::uint32_t i = 0; i < size; ++i) hash = (hash ^ static_cast<unsigned char>(name[i])) * 1099511628211ull;
  std::size_t slot = hash & (kAttributeTableSize - 1);
  for (;;) {
    AttributeSlot& s = state_.attribute_table[slot];
    if (s.stamp != state_.attribute_stamp) {
      s = AttributeSlot{state_.attribute_stamp, size, name};
      return true;
    }
    if (s.size == size && std::memcmp(s.name, name, size) == 0) return false;
    slot = (slot + 1) & (kAttributeTableSize - 1);
  }
}

std::string_view Pass::DecodeToArena(std::string_view raw, bool keep) {
  // Cannot overflow (see the design note); bounded anyway.
  const std::size_t room = state_.arena.size() - arena_used_;
  char* out = state_.arena.data() + arena_used_;
  const std::size_t n = Decode(raw, out, room);
  if (keep) arena_used_ += n;
  return std::string_view(out, n);
}

bool Pass::PushBinding(const Attribute& attr) {
  if (binding_count_ == kMaxNamespaceBindings) return Fail(ScanError::kTooManyNamespaces, attr.name);
  const std::uint32_t index = binding_count_++;
  Binding& b = state_.bindings[index];
  if (attr.colon == 0) {
    b.prefix = attr.name + attr.name_size;  // empty
    b.prefix_size = 0;
  } else {
    b.prefix = attr.name + attr.colon + 1;
    b.prefix_size = attr.name_size - attr.colon - 1;
  }
  b.key = PrefixKey(b.prefix, b.prefix_size, end_);
  if (b.prefix_size <= 8) state_.lookup_cache[CacheSlot(b.key)] = LookupCacheEntry{b.key, b.prefix_size, index};
  b.uri = attr.needs_decoding ? DecodeToArena(attr.Value(), /*keep=*/true) : attr.Value();
  b.ns_class = ClassifyNs(b.uri);
  // xmlns:p="" un-declares p (Namespaces 1.1); xmlns="" means no namespace.
  b.undeclared = b.prefix_size != 0 && b.uri.empty();
  return true;
}

// The innermost binding of the prefix [prefix, prefix + size), or nullptr.
// limit bounds what may be read after the prefix.
const Binding* Pass::Lookup(const char* prefix, std::size_t size, const char* limit) {
  const std::uint64_t key = PrefixKey(prefix, size, limit);
  const bool cacheable = size <= 8;
  LookupCacheEntry& cached = state_.lookup_cache[CacheSlot(key)];
  if (cacheable && cached.key == key && cached.size == size && cached.index < binding_count_) {
    const Binding& b = state_.bindings[cached.index];
    if (b.key == key && b.prefix_size == size) return &b;
  }
  for (std::uint32_t i = binding_count_; i-- > 0;) {
    const Binding& b = state_.bindings[i];
    if (b.key == key && b.prefix_size == size &&
        (size <= 8 || std::memcmp(b.prefix + 8, prefix + 8, size - 8) == 0)) {
      if (cacheable) cached = LookupCacheEntry{key, static_cast<std::uint32_t>(size), i};
      return &b;
    }
  }
  return nullptr;
}

bool Pass::NewEntry(const char* lt) {
  if (entry_count_ == kMaxEntries) return Fail(ScanError::kTooManyEntries, lt);
  entries_[entry_count_++] = Entry{};
  metadata_seen_ = false;
  return true;
}

// The role of a child element; may open an entry or set the message kind.
bool Pass::ChildRole(Role parent, NsClass ns, std::string_view local, const char* lt, Role& role) {
  role = Role::kIgnore;
  switch (parent) {
    case Role::kEnvelope:
      if (ns == soap_ns_) {
        if (Is(local, "Header")) role = Role::kHeader;
        if (Is(local, "Body")) role = Role::kBody;
      }
      return true;
    case Role::kHeader:
      if (IsWsa(ns)) {
        if (Is(local, "Action")) {
          if (!envelope_.action.present) role = Role::kAction;
        } else if (Is(local, "MessageID")) {
          if (!envelope_.message_id.present) role = Role::kMessageId;
        } else if (Is(local, "RelatesTo")) {
          if (!envelope_.relates_to.present) role = Role::kRelatesTo;
        } else if (Is(local, "To")) {
          if (!envelope_.to.present) role = Role::kTo;
        }
      } else if (IsWsd(ns) && Is(local, "AppSequence") && !app_sequence_seen_) {
        app_sequence_seen_ = true;
        role = Role::kAppSequence;
      }
      return true;
    case Role::kBody: {
      MessageKind kind = MessageKind::kOther;
      if (IsWsd(ns)) {
        if (Is(local, "ProbeMatches")) {
          kind = MessageKind::kProbeMatches;
          role = Role::kProbeMatches;
        } else if (Is(local, "ResolveMatches")) {
          kind = MessageKind::kResolveMatches;
          role = Role::kResolveMatches;
        } else if (Is(local, "Hello")) {
          kind = MessageKind::kHello;
          role = Role::kEntry;
        } else if (Is(local, "Bye")) {
          kind = MessageKind::kBye;
          role = Role::kEntry;
        } else if (Is(local, "Probe")) {
          kind = MessageKind::kProbe;
          role = Role::kEntry;
        } else if (Is(local, "Resolve")) {
          kind = MessageKind::kResolve;
          role = Role::kEntry;
        }
      } else if (ns == soap_ns_ && Is(local, "Fault")) {
        kind = MessageKind::kFault;
      }
      if (!kind_set_) {
        kind_set_ = true;
        envelope_.kind = kind;
        envelope_.discovery = ns == NsClass::kWsd2005   ? DiscoveryVersion::k2005
                              : ns == NsClass::kWsd2009 ? DiscoveryVersion::k2009
                                                        : DiscoveryVersion::kNone;
      }
      if (role == Role::kEntry) return NewEntry(lt);
      return true;
    }
    case Role::kProbeMatches:
      if (IsWsd(ns) && Is(local, "ProbeMatch")) {
        role = Role::kEntry;
        return NewEntry(lt);
      }
      return true;
    case Role::kResolveMatches:
      if (IsWsd(ns) && Is(local, "ResolveMatch")) {
        role = Role::kEntry;
        return NewEntry(lt);
      }
      return true;
    case Role::kEntry: {
      const Entry& e = CurrentEntry();
      if (IsWsa(ns)) {
        if (Is(local, "EndpointReference") && !e.endpoint.present) role = Role::kEndpointReference;
      } else if (IsWsd(ns)) {
        if (Is(local, "Types")) {
          if (!e.has_types) role = Role::kTypes;
        } else if (Is(local, "Scopes")) {
          if (!e.scopes.present) role = Role::kScopes;
        } else if (Is(local, "XAddrs")) {
          if (!e.xaddrs.present) role = Role::kXAddrs;
        } else if (Is(local, "MetadataVersion")) {
          if (!metadata_seen_) role = Role::kMetadataVersion;
        }
      }
      return true;
    }
    case Role::kEndpointReference:
      if (IsWsa(ns) && Is(local, "Address") && !CurrentEntry().endpoint.present) role = Role::kAddress;
      return true;
    default:
      return true;
  }
}

// A non-xmlns attribute of an element whose role is known: checks its prefix
// and keeps the attributes AppSequence and Scopes carry.
bool Pass::UseAttribute(const Attribute& attr, Role role, AppSequenceAttributes& seq) {
  if (attr.colon != 0) {
    if (attr.colon == 3 && std::memcmp(attr.name, "xml", 3) == 0) return true;
    const Binding* b = Lookup(attr.name, attr.colon, end_);
    if (b == nullptr || b->undeclared) return Fail(ScanError::kUnboundPrefix, attr.name);
    return true;
  }
  Text* target = nullptr;
  const std::string_view name = attr.Name();
  if (role == Role::kAppSequence) {
    if (Is(name, "InstanceId")) target = &seq.instance_id;
    if (Is(name, "MessageNumber")) target = &seq.message_number;
    if (Is(name, "SequenceId")) target = &seq.sequence_id;
  } else if (role == Role::kScopes && Is(name, "MatchBy")) {
    target = &CurrentEntry().match_by;
  }
  if (target != nullptr && !target->present) {
    target->present = true;
    target->needs_decoding = attr.needs_decoding;
    target->raw = attr.needs_decoding ? attr.Value() : TrimWs(attr.Value());
  }
  return true;
}

// Reads a start tag's attributes again (pass one validated them) when more
// than kKeptAttributes were not namespace declarations.
bool Pass::RereadAttributes(const char* q, Role role, AppSequenceAttributes& seq) {
  for (;;) {
    while (IsWs(*q)) ++q;
    if (*q == '>' || *q == '/') return true;
    Attribute attr;
    if (!ParseAttribute(q, attr)) return false;
    const std::string_view n = attr.Name();
    const bool is_xmlns = n.size() >= 5 && std::memcmp(n.data(), "xmlns", 5) == 0 && (n.size() == 5 || attr.colon == 5);
    if (!is_xmlns && !UseAttribute(attr, role, seq)) return false;
  }
}

void Pass::FinishAppSequence(const AppSequenceAttributes& seq) {
  if (!seq.instance_id.present || !seq.message_number.present) return;
  const auto number = [this](const Text& t) {
    return ParseUint64(t.needs_decoding ? TrimWs(DecodeToArena(t.raw, /*keep=*/false)) : t.raw);
  };
  const std::optional<std::uint64_t> instance = number(seq.instance_id);
  const std::optional<std::uint64_t> message = number(seq.message_number);
  if (instance && message) envelope_.app_sequence = AppSequence{*instance, *message, seq.sequence_id};
}

// p_ points at '<' of a start tag and p_ + 1 < end_.
bool Pass::StartTag() {
  const char* const lt = p_;
  if (depth_ == kMaxDepth) return Fail(ScanError::kTooDeep, lt);
  const char* const name = lt + 1;
  if (!IsNameStart(*name)) return Fail(ScanError::kSyntax, name);
  const NameScan scan = ScanName(name + 1, end_);
  const char* q = scan.end;
  if (q == end_) return Fail(ScanError::kTruncated, end_);
  const char* const colon = scan.colon;
  if (colon != nullptr && (scan.extra_colon || colon + 1 == q || !IsNameStart(colon[1]))) {
    return Fail(ScanError::kSyntax, colon);
  }
  const auto qname_size = static_cast<std::uint32_t>(q - name);

  // Attributes, pass one: validate all, push namespace declarations, keep a
  // few of the others for when the element's role is known.
  const auto binding_mark = static_cast<std::uint16_t>(binding_count_);
  const char* const attrs = q;
  Attribute kept[kKeptAttributes];
  AttributeNames seen;
  int kept_count = 0;
  bool reread = false;
  bool self_closing = false;
  for (;;) {
    const char* ws = q;
    while (q < end_ && IsWs(*q)) ++q;
    if (q == end_) return Fail(ScanError::kTruncated, end_);
    if (*q == '>') {
      ++q;
      break;
    }
    if (*q == '/') {
      if (++q == end_) return Fail(ScanError::kTruncated, end_);
      if (*q != '>') return Fail(ScanError::kSyntax, q);
      ++q;
      self_closing = true;
      break;
    }
    if (q == ws) return Fail(ScanError::kSyntax, q);  // attributes need whitespace before them
    Attribute& attr = kept[kept_count < kKeptAttributes ? kept_count : kKeptAttributes - 1];
    if (!ParseAttribute(q, attr)) return false;
    if (!UniqueName(attr, seen)) return Fail(ScanError::kSyntax, attr.name);  // duplicate attribute
    if (attr.name_size >= 5 && std::memcmp(attr.name, "xmlns", 5) == 0 && (attr.name_size == 5 || attr.colon == 5)) {
      if (!PushBinding(attr)) return false;
    } else if (kept_count < kKeptAttributes) {
      ++kept_count;
    } else {
      reread = true;
    }
  }
  p_ = q;

  // Resolve the element's namespace.
  NsClass ns = NsClass::kNone;
  std::string_view local(name, qname_size);
  if (colon != nullptr) {
    const auto prefix_size = static_cast<std::size_t>(colon - name);
    local.remove_prefix(prefix_size + 1);
    const Binding* b = Lookup(name, prefix_size, end_);
    if (b != nullptr && !b->undeclared) {
      ns = b->ns_class;
    } else if (prefix_size == 3 && std::memcmp(name, "xml", 3) == 0) {
      ns = NsClass::kOther;
    } else {
      return Fail(ScanError::kUnboundPrefix, lt);
    }
  } else if (binding_count_ != 0) {
    const Binding* b = Lookup(name, 0, end_);
    if (b != nullptr) ns = b->ns_class;
  }

  Role role = Role::kIgnore;
  if (depth_ == 0) {
    if ((ns == NsClass::kSoap11 || ns == NsClass::kSoap12) && Is(local, "Envelope")) {
      role = Role::kEnvelope;
      soap_ns_ = ns;
      envelope_.soap = ns == NsClass::kSoap11 ? SoapVersion::k11 : SoapVersion::k12;
    } else {
      not_soap_at_ = lt;  // reported once the document proved well-formed
    }
  } else {
    const Role parent = state_.elements[depth_ - 1].role;
    if (parent != Role::kIgnore && !ChildRole(parent, ns, local, lt, role)) return false;
  }

  if (kept_count != 0) {
    AppSequenceAttributes seq;
    if (reread) {
      if (!RereadAttributes(attrs, role, seq)) return false;
    } else {
      for (int i = 0; i < kept_count; ++i) {
        if (!UseAttribute(kept[i], role, seq)) return false;
      }
    }
    if (role == Role::kAppSequence) FinishAppSequence(seq);
  }

  if (self_closing) {
    if (IsField(role)) {
      Text empty;
      empty.present = true;
      empty.raw = std::string_view(p_, 0);
      if (!StoreField(role, empty, lt)) return false;
    }
    binding_count_ = binding_mark;
    return true;
  }
  state_.elements[depth_++] = OpenElement{name, qname_size, binding_mark, role};
  if (IsField(role)) return ScanField(role, p_);
  return true;
}

// p_ points at "</" of the innermost open element's end tag.
bool Pass::EndTag() {
  const OpenElement& top = state_.elements[depth_ - 1];
  const char* const lt = p_;
  const char* const n = lt + 2;
  const char* q = n + top.qname_size;
  if (static_cast<std::size_t>(end_ - n) <= top.qname_size || !SameQName(n, top.qname, top.qname_size) ||
      IsNameChar(*q)) {
    q = n;
    while (q < end_ && IsNameChar(*q)) ++q;
    if (q == end_) return Fail(ScanError::kTruncated, end_);
    return Fail(ScanError::kMismatchedTag, lt);
  }
  if (*q != '>') {
    while (q < end_ && IsWs(*q)) ++q;
    if (q == end_) return Fail(ScanError::kTruncated, end_);
    if (*q != '>') return Fail(ScanError::kSyntax, q);
  }
  p_ = q + 1;
  binding_count_ = top.binding_mark;
  --depth_;
  return true;
}

// content points just past the field's start tag. Consumes the content and
// the end tag.
bool Pass::ScanField(Role role, const char* content) {
  bool needs_decoding = false;
  const char* q = content;
  for (;;) {
    q = FindTextSpecial(q, end_);
    if (q == end_) return Fail(ScanError::kTruncated, end_);
    const char c = *q;
    if (c == '<') {
      if (q + 1 == end_) return Fail(ScanError::kTruncated, end_);
      if (q[1] == '/') break;
      if (q[1] != '!' && q[1] != '?') {
        // A child element, or a '<' that starts nothing at all.
        return Fail(IsNameStart(q[1]) ? ScanError::kUnexpectedElement : ScanError::kSyntax, q);
      }
      if (!SkipMarkupDecl(q, /*in_content=*/true)) return false;
      needs_decoding = true;
      q = p_;
      continue;
    }
    if (c == '&') {
      std::uint32_t code;
      const char* next;
      const RefStatus status = ParseReference(q, end_, &code, &next);
      if (status == RefStatus::kTruncated) return Fail(ScanError::kTruncated, end_);
      if (status == RefStatus::kBad) return Fail(ScanError::kBadReference, q);
      needs_decoding = true;
      q = next;
      continue;
    }
    if (c == '\0') return Fail(ScanError::kSyntax, q);
    needs_decoding = true;  // CR
    ++q;
  }
  const std::string_view whole(content, static_cast<std::size_t>(q - content));
  if (whole.size() > kMaxFieldBytes) return Fail(ScanError::kFieldTooLong, content);
  p_ = q;
  Text text;
  text.present = true;
  text.needs_decoding = needs_decoding;
  text.raw = needs_decoding ? whole : TrimWs(whole);
  // Store before EndTag pops the bindings: Types resolves against them.
  if (!StoreField(role, text, content)) return false;
  return EndTag();
}

bool Pass::StoreField(Role role, const Text& text, const char* at) {
  switch (role) {
    case Role::kAction:
      envelope_.action = text;
      break;
    case Role::kMessageId:
      envelope_.message_id = text;
      break;
    case Role::kRelatesTo:
      envelope_.relates_to = text;
      break;
    case Role::kTo:
      envelope_.to = text;
      break;
    case Role::kAddress:
      CurrentEntry().endpoint = text;
      break;
    case Role::kTypes:
      return ResolveTypes(text, at);
    case Role::kScopes:
      CurrentEntry().scopes = text;  // match_by was set from the attributes
      break;
    case Role::kXAddrs:
      CurrentEntry().xaddrs = text;
      break;
    case Role::kMetadataVersion:
      metadata_seen_ = true;
      CurrentEntry().metadata_version =
          ParseUint64(text.needs_decoding ? TrimWs(DecodeToArena(text.raw, /*keep=*/false)) : text.raw);
      break;
    default:
      break;
  }
  return true;
}

bool Pass::ResolveTypes(const Text& text, const char* at) {
  Entry& e = CurrentEntry();
  e.has_types = true;
  e.types_begin = static_cast<std::uint16_t>(type_count_);
  const std::string_view value = text.needs_decoding ? TrimWs(DecodeToArena(text.raw, /*keep=*/true)) : text.raw;
  const char* const limit = value.data() + value.size();
  for (const std::string_view item : ListItems(value)) {
    if (type_count_ == kMaxTypesPerEnvelope) return Fail(ScanError::kTooManyTypes, at);
    QName& qn = types_[type_count_++];
    const auto* colon = static_cast<const char*>(std::memchr(item.data(), ':', item.size()));
    if (colon == nullptr) {
      qn.prefix = item.substr(0, 0);
      qn.local = item;
    } else {
      qn.prefix = item.substr(0, static_cast<std::size_t>(colon - item.data()));
      qn.local = item.substr(qn.prefix.size() + 1);
    }
    const Binding* b = Lookup(qn.prefix.data(), qn.prefix.size(), limit);
    if (b != nullptr && !b->undeclared) {
      qn.ns = b->uri;
    } else if (Is(qn.prefix, "xml")) {
      qn.ns = kNsXml;
    } else {
      qn.ns = {};  // unbound: tolerated, see the design note in scanner.h
    }
  }
  e.types_count = static_cast<std::uint16_t>(type_count_ - e.types_begin);
  return true;
}

}  // namespace

struct Scanner::State : ScanState {};

// ---------------------------------------------------------------------------
// Public API.

std::string_view ScanErrorName(ScanError error) {
  switch (error) {
    case ScanError::kOk:
      return "ok";
    case ScanError::kTooLarge:
      return "too_large";
    case ScanError::kTruncated:
      return "truncated";
    case ScanError::kSyntax:
      return "syntax";
    case ScanError::kMismatchedTag:
      return "mismatched_tag";
    case ScanError::kUnterminatedComment:
      return "unterminated_comment";
    case ScanError::kUnterminatedCdata:
      return "unterminated_cdata";
    case ScanError::kUnboundPrefix:
      return "unbound_prefix";
    case ScanError::kDoctype:
      return "doctype";
    case ScanError::kTooDeep:
      return "too_deep";
    case ScanError::kTooManyEntries:
      return "too_many_entries";
    case ScanError::kTooManyTypes:
      return "too_many_types";
    case ScanError::kTooManyNamespaces:
      return "too_many_namespaces";
    case ScanError::kFieldTooLong:
      return "field_too_long";
    case ScanError::kBadReference:
      return "bad_reference";
    case ScanError::kUnexpectedElement:
      return "unexpected_element";
    case ScanError::kNotSoapEnvelope:
      return "not_soap_envelope";
  }
  return "unknown";
}

std::string_view Text::Get(std::span<char> scratch) const {
  if (!needs_decoding) return raw;
  const std::size_t n = Decode(raw, scratch.data(), scratch.size());
  return TrimWs(std::string_view(scratch.data(), n));
}

ListItems::iterator::iterator(std::string_view rest) {
  std::size_t b = 0;
  while (b < rest.size() && IsWs(rest[b])) ++b;
  std::size_t e = b;
  while (e < rest.size() && !IsWs(rest[e])) ++e;
  item_ = rest.substr(b, e - b);
  rest_ = rest.substr(e);
}

ListItems::iterator& ListItems::iterator::operator++() {
  *this = iterator(rest_);
  return *this;
}

Scanner::Scanner() : state_(std::make_unique<State>()) {}
Scanner::~Scanner() = default;

ScanResult Scanner::Scan(std::string_view datagram) {
  state_->lookup_cache.fill(LookupCacheEntry{});
  envelope_.soap = SoapVersion::k12;
  envelope_.discovery = DiscoveryVersion::kNone;
  envelope_.kind = MessageKind::kNone;
  envelope_.action = Text{};
  envelope_.message_id = Text{};
  envelope_.relates_to = Text{};
  envelope_.to = Text{};
  envelope_.app_sequence.reset();
  envelope_.entry_count_ = 0;
  envelope_.type_count_ = 0;
  Pass pass(datagram, *state_, envelope_, envelope_.entries_, envelope_.entry_count_, envelope_.types_,
            envelope_.type_count_);
  return pass.Run();
}

}  // namespace onvif::wsd
