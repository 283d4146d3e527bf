// The zero-copy WS-Discovery envelope scanner; the contract is in scanner.h.
//
// State machine
// -------------
// Scan walks the datagram once with one cursor, in three phases:
//   prolog   BOM, whitespace, the XML declaration, PIs, comments; <!DOCTYPE
//            fails. The first other '<' opens the root.
//   content  while elements are open: one loop (Pass::Run) that jumps to the
//            next '<' (an SSE2 search that also stops at NUL) and dispatches
//            on the byte after it: '/' end tag, '!' or '?' comment / CDATA /
//            PI / DOCTYPE, anything else a start tag.
//   epilog   after the root closes: whitespace, comments, PIs only.
//
// Start tag: the name is classified 16 bytes at a time (name characters and
// ':'); a tag without attributes goes straight to namespace resolution.
// Attributes (ReadAttributes) take one of two fast paths when spelled the
// usual way, else ParseAttributes reads them all once; each fast path hands
// anything unusual to ParseAttributes, which accepts and rejects exactly the
// same:
//   - a run of declarations ' xmlns:p="uri"' / ' xmlns="uri"' (most of a
//     root tag, DeclareRun): per declaration one 8-byte compare for the
//     name, one 16-byte classification for the prefix, one 64-byte mask
//     that holds both quotes of the URI, binding count and Bloom words in
//     registers;
//   - plain attributes ' name="value"' (PlainAttributes, e.g.
//     mustUnderstand), whose prefixes it checks at once; a tag tail equal
//     to the last one-attribute tail it accepted, with no binding pushed
//     since, is taken whole (RepeatedPlainTail).
// Declarations are pushed on the binding stack as they are met (so they
// apply to the element's own name); a URI is classified into NsClass (by
// length and one word-wise compare) only when an element first resolves to
// it (ClassOf), since most root declarations are never used. Up to
// kKeptAttributes other attributes are kept for when the element's role is
// known (more: the tag is re-read, which is rare). Then the element's
// prefix is resolved to an NsClass and its role is computed from (parent
// role, NsClass, local name). Elements outside the known paths get kIgnore
// and so does their whole subtree: it is only balanced, prefixes checked
// for being bound, never interpreted.
//
// A field element (Action, Address, Types, ...) consumes its content
// immediately: a search for '<', '&' and control bytes (NUL and CR among
// them; SSE2 32 bytes per step, AVX2 64) decides whether the text needs
// decoding, validates references, skips comments/CDATA/PIs and stops at the
// end tag; any child element is an error. Types of up to 64 bytes are split
// by one classification into whitespace and ':' bit masks.
//
// End tags are matched by comparing the raw qname bytes with those of the
// open element (one 16-byte compare, word-wise beyond). Closing an element pops the bindings it declared.
//
// Why it is fast
// --------------
// - The hot path (Run with StartTag, EndTag, ScanField forced inline) makes
//   no calls but the AVX2 text search and no libc memcmp; every compare
//   against a known string is a few 8-byte word compares.
// - Byte searches are SSE2 with the cheapest sound classifier: one unsigned
//   min catches every byte <= 13 (NUL, CR) or <= 0x27 (both quotes, '&') at
//   once; the rare extra bytes that also match are stepped over by the
//   caller.
// - Prefix lookups hit a 64-slot direct-mapped cache keyed by the prefix's
//   bytes (one multiply, two compares); see PrefixCacheEntry.
// - Duplicate attributes are ruled out by 64-bit Bloom words per tag (two
//   for prefixes declared, indexed by independent bits of the prefix hash,
//   so a root with a dozen declarations rarely takes the exact path; one for
//   other names); exact compares run only on a hit. Bookkeeping is lazy: the
//   first other name of a tag is hashed only when a second one comes (most
//   tags with attributes have one), and the kept attributes of an element
//   whose attributes are not read (anything but AppSequence and Scopes) are
//   only checked for bound prefixes.
// - Vendor subtrees are never classified.
// - A few loops (DeclareRun, the field-text search) exist twice, for SSE2
//   and for AVX2 + BMI2; Scan picks the AVX2 copies when the CPU has them
//   (checked once; scanner_simd.h lets tests force SSE2). The AVX2 copies
//   are compiled by target attributes, so the build needs no -m flags.
// - The prolog's XML declaration and comments are skipped with one search
//   for '>' or NUL.
// - Everything off the hot path (comments, references, decoding, errors,
//   long prefixes, many attributes) is out of line.
//
// Bounds: no load goes past the view. SSE2 16-byte and AVX2 32-byte loads
// happen only while at least that many bytes remain (DeclareRun: 71 from a
// declaration's space), with scalar tails; 8-byte word loads only where 8
// bytes remain, else a byte copy. (Types splitting may load past the end of
// the Types text, but never past the view or the arena holding it.)
//
// Memory: the element stack, the binding stack, the prefix cache, the
// attribute table and a decode arena live in State, allocated once by the
// constructor. The arena holds namespace URIs and Types content that contain
// references; each decoded string comes from a distinct region of the input
// and is never longer than it, so the arena never needs more than the input's
// size (<= kMaxEnvelopeBytes). The shape cache (at the end of this file) keeps
// its copy of an envelope, its slots, relocations and cached result in State
// too, all bounded by the limits in scanner.h.

#include "engine/wsd/scanner.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <optional>

#include "engine/wsd/constants.h"
#include "engine/wsd/scanner_simd.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
// An AVX2 copy of a few loops, behind a run-time CPU check (x86-64 only;
// GCC and clang compile it whatever the -m flags).
#if defined(__x86_64__) && defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#define ONVIF_SCANNER_AVX2 1
#define ONVIF_AVX2_TARGET __attribute__((target("avx2,bmi,bmi2")))
#include <immintrin.h>
#endif

#define ONVIF_HOT [[gnu::always_inline]] inline
#define ONVIF_COLD [[gnu::noinline, gnu::cold]]

namespace onvif::wsd {
namespace {

constexpr std::string_view kNsXml = "http://www.w3.org/XML/1998/namespace";

// ---------------------------------------------------------------------------
// Characters and byte searches.

constexpr std::uint8_t kWsBit = 1;
constexpr std::uint8_t kNameBit = 2;
constexpr std::uint8_t kNameStartBit = 4;
constexpr std::uint8_t kAlphaBit = 8;
constexpr std::uint8_t kColonBit = 16;
constexpr std::uint8_t kNcNameBit = 32;  // a name character other than ':'

// Name characters are ASCII [A-Za-z0-9_.:-] and every byte >= 0x80: UTF-8
// names are legal XML and validating them would cost time for no field we
// read. NameStops implements the same set 16 bytes at a time.
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
    if (c == ':') bits |= kColonBit;
    if ((bits & kNameBit) && c != ':') bits |= kNcNameBit;
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

// n bytes at a and b are equal. Word compares (the last word overlaps), all
// inside [a, a + n) and [b, b + n); with a constant n it unrolls to a few
// loads, unlike a libc memcmp call.
ONVIF_HOT bool SameBytes(const char* a, const char* b, std::size_t n) {
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

// s equals the literal.
template <std::size_t N>
ONVIF_HOT bool Is(std::string_view s, const char (&lit)[N]) {
  return s.size() == N - 1 && SameBytes(s.data(), lit, N - 1);
}

// kLowBytes[n]: a mask of the low n bytes of a word.
constexpr std::array<std::uint64_t, 9> kLowBytes = {0,           0xFF,         0xFFFF,         0xFFFFFF,
                                                    0xFFFFFFFF,  0xFFFFFFFFFF, 0xFFFFFFFFFFFF, 0xFFFFFFFFFFFFFF,
                                                    ~std::uint64_t{0}};

// The first min(n, 8) bytes at p as an integer, zero padded. limit bounds
// what may be read. Name bytes are never 0, so for n <= 8 the key identifies
// the bytes (and n).
ONVIF_HOT std::uint64_t PrefixKey(const char* p, std::size_t n, const char* limit) {
  if constexpr (std::endian::native == std::endian::little) {
    if (limit - p >= 8) return Load64(p) & kLowBytes[n < 8 ? n : 8];
  }
  std::uint64_t key = 0;
  std::memcpy(&key, p, n < 8 ? n : 8);
  return key;
}

#if defined(__SSE2__)
// PrefixKey when at least 8 bytes at p are readable.
ONVIF_HOT std::uint64_t ShortKey(const char* p, std::size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    return Load64(p) & kLowBytes[n < 8 ? n : 8];
  }
  return PrefixKey(p, n, p + 8);
}

inline unsigned MoveMask(__m128i v) { return static_cast<unsigned>(_mm_movemask_epi8(v)); }
inline __m128i Load128(const char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m128i Splat(char c) { return _mm_set1_epi8(c); }

// The splatted bytes the SIMD loops compare against, 32 of each (the AVX2
// copy reads them whole), aligned so that every use folds into a memory
// operand.
enum Splatted : int {
  kCaseBit,
  kAlphaAdd,
  kAlphaMin,
  kDigitAdd,
  kDigitMin,
  kSlash,
  kUnderscore,
  kSpecialMax,
  kLt,
  kColon,
  kColonAdd,
  kColonMin,
  kControlMax,
  kAmp,
  kSplattedCount,
};
struct alignas(32) SplatRow {
  char bytes[32];
};
constexpr SplatRow MakeSplat(int c) {
  SplatRow row{};
  for (char& b : row.bytes) b = static_cast<char>(c);
  return row;
}
alignas(32) constexpr SplatRow kSplats[kSplattedCount] = {
    MakeSplat(0x20),        MakeSplat(0x7F - 'z'), MakeSplat(0x7F - ('z' - 'a') - 1),
    MakeSplat(0x7F - '9'), MakeSplat(0x7F - ('9' - '-') - 1), MakeSplat('/'),
    MakeSplat('_'),        MakeSplat(0x27),       MakeSplat('<'),
    MakeSplat(':'),        MakeSplat(0x7F - ':'), MakeSplat(0x7F - (':' - '-') - 1),
    MakeSplat(13),         MakeSplat('&'),
};

// kSplats through a pointer the compiler cannot see through: hoisted into
// registers, the content loop's constants are reloaded after every call it
// makes; as memory operands they cost nothing.
ONVIF_HOT const SplatRow* OpaqueSplats() {
  const SplatRow* k = kSplats;
  asm("" : "+r"(k));
  return k;
}
ONVIF_HOT __m128i SplatOf(const SplatRow* k, Splatted i) {
  return _mm_load_si128(reinterpret_cast<const __m128i*>(k[i].bytes));
}

// Bytes of x that are '<' or NUL.
ONVIF_HOT unsigned LtOrNul(__m128i x) {
  return MoveMask(_mm_or_si128(_mm_cmpeq_epi8(x, Splat('<')), _mm_cmpeq_epi8(x, _mm_setzero_si128())));
}

// Candidate bytes in field text: '<', '&' and every byte <= 13 (one
// unsigned min finds NUL and CR with the other controls, which the caller
// steps over).
ONVIF_HOT __m128i TextSpecial(__m128i x) {
  const SplatRow* const k = OpaqueSplats();
  const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, SplatOf(k, kControlMax)), x);
  return _mm_or_si128(ctl, _mm_or_si128(_mm_cmpeq_epi8(x, SplatOf(k, kLt)), _mm_cmpeq_epi8(x, SplatOf(k, kAmp))));
}

// Bytes of x that are not name characters. Ranges are tested with one add
// and one signed compare: adding (0x7F - hi) moves [lo, hi] to the top of
// the signed range and everything above hi past it.
ONVIF_HOT unsigned NameStops(__m128i x) {
  const SplatRow* const k = OpaqueSplats();
  const __m128i lower = _mm_or_si128(x, SplatOf(k, kCaseBit));  // A-Z -> a-z
  const __m128i alpha = _mm_cmpgt_epi8(_mm_add_epi8(lower, SplatOf(k, kAlphaAdd)), SplatOf(k, kAlphaMin));
  // '-' '.' '/' '0'..'9' ':' is 0x2D..0x3A; '/' is not a name character.
  const __m128i punct = _mm_andnot_si128(_mm_cmpeq_epi8(x, SplatOf(k, kSlash)),
                                         _mm_cmpgt_epi8(_mm_add_epi8(x, SplatOf(k, kColonAdd)), SplatOf(k, kColonMin)));
  const __m128i name = _mm_or_si128(_mm_or_si128(alpha, punct), _mm_cmpeq_epi8(x, SplatOf(k, kUnderscore)));
  // Bytes >= 0x80 are name characters: their top bit is the movemask bit.
  return ~(MoveMask(name) | MoveMask(x)) & 0xFFFFu;
}
#endif

// First '<' or NUL in [p, end), or end.
ONVIF_HOT const char* FindLtOrNul(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    const unsigned bits = LtOrNul(Load128(p));
    if (bits != 0) return p + std::countr_zero(bits);
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    if (*p == '<' || *p == '\0') return p;
  }
  return end;
}

// First '>' or NUL in [p, end), or end.
ONVIF_HOT const char* FindGtOrNul(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    const __m128i x = Load128(p);
    const unsigned bits =
        MoveMask(_mm_or_si128(_mm_cmpeq_epi8(x, Splat('>')), _mm_cmpeq_epi8(x, _mm_setzero_si128())));
    if (bits != 0) return p + std::countr_zero(bits);
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    if (*p == '>' || *p == '\0') return p;
  }
  return end;
}

// First '<', '&' or byte <= 13 in [p, end), or end. Field text is often a
// few hundred bytes (Scopes), so the main step is 32 bytes.
ONVIF_HOT const char* FindTextSpecial(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 32) {
    const unsigned lo = MoveMask(TextSpecial(Load128(p)));
    const unsigned hi = MoveMask(TextSpecial(Load128(p + 16)));
    const unsigned bits = lo | (hi << 16);
    if (bits != 0) return p + std::countr_zero(bits);
    p += 32;
  }
  if (end - p >= 16) {
    const unsigned bits = MoveMask(TextSpecial(Load128(p)));
    if (bits != 0) return p + std::countr_zero(bits);
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    const char x = *p;
    if (x == '<' || x == '&' || static_cast<unsigned char>(x) <= 13) return p;
  }
  return end;
}

#if defined(ONVIF_SCANNER_AVX2)
// FindTextSpecial 64 bytes a step, for long field text (Scopes lists run to
// hundreds of bytes).
[[gnu::noinline]] ONVIF_AVX2_TARGET const char* FindTextSpecialAvx2(const char* p, const char* end) {
  const __m256i ctl = _mm256_set1_epi8(13);
  const __m256i lt = _mm256_set1_epi8('<');
  const __m256i amp = _mm256_set1_epi8('&');
  const auto special = [&](__m256i x) ONVIF_AVX2_TARGET {
    const __m256i low = _mm256_cmpeq_epi8(_mm256_min_epu8(x, ctl), x);
    return static_cast<std::uint32_t>(_mm256_movemask_epi8(
        _mm256_or_si256(low, _mm256_or_si256(_mm256_cmpeq_epi8(x, lt), _mm256_cmpeq_epi8(x, amp)))));
  };
  while (end - p >= 64) {
    const std::uint64_t bits =
        special(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))) |
        (std::uint64_t{special(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)))} << 32);
    if (bits != 0) return p + std::countr_zero(bits);
    p += 64;
  }
  return FindTextSpecial(p, end);
}
#endif

// Attribute value: a candidate for the closing quote, '<', '&', CR or NUL.
// Both quotes, '&' and every control byte are <= 0x27, so one unsigned
// compare plus '<' covers them; the few other bytes in that range (space,
// '!', '#', '$', '%', the other quote) are rare in values and the caller
// steps over them like any control byte.
ONVIF_HOT const char* FindValueSpecial(const char* p, const char* end, char quote) {
#if defined(__SSE2__)
  // Namespace URIs are 30 to 60 bytes: a 32-byte step first.
  while (end - p >= 32) {
    const __m128i x = Load128(p);
    const __m128i y = Load128(p + 16);
    const __m128i lo = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, Splat(0x27)), x), _mm_cmpeq_epi8(x, Splat('<')));
    const __m128i hi = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(y, Splat(0x27)), y), _mm_cmpeq_epi8(y, Splat('<')));
    const unsigned bits = MoveMask(lo) | (MoveMask(hi) << 16);
    if (bits != 0) return p + std::countr_zero(bits);
    p += 32;
  }
  while (end - p >= 16) {
    const __m128i x = Load128(p);
    const __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(x, Splat(0x27)), x);  // x <= 0x27 unsigned
    const unsigned bits = MoveMask(_mm_or_si128(low, _mm_cmpeq_epi8(x, Splat('<'))));
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

#if defined(__SSE2__)
// The byte classifications of the few loops that are compiled twice, for
// SSE2 (the x86-64 baseline) and for AVX2 (chosen at run time, see
// UseAvx2); the [[gnu::flatten]] wrapper of each loop inlines the members in
// its own target context. Constants are read through a pointer the compiler
// cannot see through: built from immediates they would cost three
// instructions each (and a spill) per call, or be rebuilt inside loops;
// read from kSplats they cost nothing, being memory operands.
struct Sse2Simd {
  const SplatRow* k = kSplats;

  Sse2Simd() { asm("" : "+r"(k)); }

  __m128i Get(Splatted i) const { return _mm_load_si128(reinterpret_cast<const __m128i*>(k[i].bytes)); }

  // ShortKey for a prefix of at most 15 bytes.
  static std::uint64_t Key(const char* p, std::uint32_t n) { return ShortKey(p, n); }

  // Bytes of x that are not NCName characters (as NameStops, and ':' too):
  // '-' '.' '/' '0'..'9' is 0x2D..0x39, less '/'.
  unsigned NcNameStops(__m128i x) const {
    const __m128i alpha =
        _mm_cmpgt_epi8(_mm_add_epi8(_mm_or_si128(x, Get(kCaseBit)), Get(kAlphaAdd)), Get(kAlphaMin));
    const __m128i punct = _mm_andnot_si128(_mm_cmpeq_epi8(x, Get(kSlash)),
                                           _mm_cmpgt_epi8(_mm_add_epi8(x, Get(kDigitAdd)), Get(kDigitMin)));
    const __m128i name = _mm_or_si128(_mm_or_si128(alpha, punct), _mm_cmpeq_epi8(x, Get(kUnderscore)));
    return ~(MoveMask(name) | MoveMask(x)) & 0xFFFFu;
  }

  // Bit i set when p[i] is a FindValueSpecial candidate (a byte <= 0x27 or
  // '<'), for the 64 bytes at p (the caller checked they are there).
  std::uint64_t ValueSpecials64(const char* p) const {
    std::uint64_t bits = 0;
    for (int at = 0; at < 64; at += 16) {
      const __m128i x = Load128(p + at);
      const __m128i special =
          _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, Get(kSpecialMax)), x), _mm_cmpeq_epi8(x, Get(kLt)));
      bits |= std::uint64_t{MoveMask(special)} << at;
    }
    return bits;
  }
};
#endif

#if defined(ONVIF_SCANNER_AVX2)
struct Avx2Simd : Sse2Simd {
  ONVIF_AVX2_TARGET __m256i Get32(Splatted i) const {
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(k[i].bytes));
  }

  // ShortKey by one BZHI: an index of 64 or more (n <= 15 keeps it below
  // 256) leaves the word whole.
  ONVIF_AVX2_TARGET static std::uint64_t Key(const char* p, std::uint32_t n) {
    if constexpr (std::endian::native == std::endian::little) return _bzhi_u64(Load64(p), n * 8);
    return ShortKey(p, n);
  }

  ONVIF_AVX2_TARGET std::uint64_t ValueSpecials64(const char* p) const {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    const __m256i sx =
        _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(x, Get32(kSpecialMax)), x), _mm256_cmpeq_epi8(x, Get32(kLt)));
    const __m256i sy =
        _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(y, Get32(kSpecialMax)), y), _mm256_cmpeq_epi8(y, Get32(kLt)));
    return static_cast<std::uint32_t>(_mm256_movemask_epi8(sx)) |
           (std::uint64_t{static_cast<std::uint32_t>(_mm256_movemask_epi8(sy))} << 32);
  }
};
#endif

// First XML whitespace or ':' in [p, limit), or limit. 16-byte loads may
// look past limit (the bits there are ignored) but never past load_limit.
ONVIF_HOT const char* FindWsOrColon(const char* p, const char* limit, [[maybe_unused]] const char* load_limit) {
#if defined(__SSE2__)
  while (p < limit && load_limit - p >= 16) {
    const __m128i x = Load128(p);
    const __m128i ws = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, Splat(' ')), _mm_cmpeq_epi8(x, Splat('\n'))),
                                    _mm_or_si128(_mm_cmpeq_epi8(x, Splat('\t')), _mm_cmpeq_epi8(x, Splat('\r'))));
    const unsigned bits = MoveMask(_mm_or_si128(ws, _mm_cmpeq_epi8(x, Splat(':'))));
    if (bits != 0) {
      const char* hit = p + std::countr_zero(bits);
      return hit < limit ? hit : limit;
    }
    p += 16;
  }
  if (p >= limit) return limit;
#endif
  while (p < limit && (kChars[static_cast<unsigned char>(*p)] & (kWsBit | kColonBit)) == 0) ++p;
  return p;
}

struct NameScan {
  const char* end;    // first byte that is not a name character
  const char* colon;  // first ':' or nullptr
  bool extra_colon;   // more than one ':'
};

// Scans a name starting at q (the caller checked the first byte). Locals,
// not the result struct, carry the state so that it stays in registers.
ONVIF_HOT NameScan ScanName(const char* q, const char* end) {
  const char* colon = nullptr;
  bool extra_colon = false;
#if defined(__SSE2__)
  while (end - q >= 16) {
    const __m128i x = Load128(q);
    const unsigned stops = NameStops(x);
    unsigned colons = MoveMask(_mm_cmpeq_epi8(x, SplatOf(OpaqueSplats(), kColon)));
    if (stops != 0) colons &= (1u << std::countr_zero(stops)) - 1;
    if (colons != 0) [[unlikely]] {
      if (colon != nullptr || (colons & (colons - 1)) != 0) extra_colon = true;
      if (colon == nullptr) colon = q + std::countr_zero(colons);
    }
    if (stops != 0) return NameScan{q + std::countr_zero(stops), colon, extra_colon};
    q += 16;
  }
#endif
  for (; q < end && IsNameChar(*q); ++q) {
    if (*q == ':') {
      if (colon != nullptr) extra_colon = true;
      if (colon == nullptr) colon = q;
    }
  }
  return NameScan{q, colon, extra_colon};
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

// FindTerminator for a comment or PI that holds no NUL: returns the position
// just past the terminator, or nullptr when a NUL or the end of the input
// comes first (the caller then runs the exact code, which tells those cases
// apart). The terminator must start at or after from, like FindTerminator's;
// every byte from from on is checked for NUL.
ONVIF_HOT const char* FindTerminatorNoNul(const char* from, const char* end, const char* term, std::size_t n) {
  const char* p = from;
  for (;;) {
    p = FindGtOrNul(p, end);
    if (p == end || *p == '\0') return nullptr;
    if (static_cast<std::size_t>(p - from) >= n - 1 && SameBytes(p - (n - 1), term, n - 1)) return p + 1;
    ++p;
  }
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

// kUnbound: a prefix with no binding in scope, or one un-declared by
// xmlns:p="". It is never the class of an element that was accepted.
// kPending: not classified yet. A binding's URI is classified when an
// element first resolves to it (ClassOf): most of a root tag's declarations
// are never used by an element.
enum class NsClass : std::uint8_t {
  kNone,
  kSoap11,
  kSoap12,
  kWsa2004,
  kWsa2005,
  kWsd2005,
  kWsd2009,
  kOther,
  kUnbound,
  kPending,
};

template <std::size_t N>
constexpr std::size_t Len(const char (&)[N]) {
  return N - 1;
}

// Each URI has a distinct length (the switch would not compile otherwise),
// so one inlined word-wise compare decides.
ONVIF_HOT NsClass ClassifyNs(std::string_view uri) {
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
  kIgnore,    // outside the known paths: balanced, not interpreted
  kDocument,  // the parent of the root (a sentinel at the bottom of the stack)
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
  std::uint64_t key;  // PrefixKey of the prefix
  const char* prefix;  // in the datagram; empty: the default namespace
  std::uint32_t prefix_size;
  NsClass ns_class;      // kUnbound for xmlns:p="": p is unbound below this point
  std::string_view uri;  // decoded; empty: no namespace
};

// The class of a binding's URI, classifying it on first use.
inline NsClass ClassOf(Binding& b) {
  if (b.ns_class == NsClass::kPending) b.ns_class = ClassifyNs(b.uri);
  return b.ns_class;
}

// 16 bytes, so the stack stays in a few cache lines.
struct OpenElement {
  const char* qname;
  std::uint32_t qname_size;
  std::uint16_t binding_mark;  // binding count before this element
  Role role;
};

// A direct-mapped cache of prefix lookups (prefixes of up to 8 bytes, whose
// key identifies them). Invariant: if a slot names binding i, i is in scope
// (i < binding count) and holds the slot's key, then i is the innermost
// binding of that prefix: every push of a prefix overwrites its slot, and
// lookups only store what the stack scan found. Bindings below the count were
// all pushed by the current Scan, which overwrote their slots, so entries
// left by an earlier Scan can never validate wrongly: no reset is needed.
struct PrefixCacheEntry {
  std::uint64_t key = 0;
  std::uint32_t index = 0;
};
constexpr std::size_t kPrefixCacheSize = 64;

inline std::size_t CacheSlot(std::uint64_t key) { return (key * 0x9E3779B97F4A7C15ull) >> 58; }
static_assert(kPrefixCacheSize == 64, "CacheSlot keeps 6 bits");

// Duplicate attribute detection (XML 1.0, 3.1: attribute names are unique in
// a tag). Namespace declarations are checked against the bindings their tag
// pushed (DeclareNamespace). Other names: the first kFewAttributes of a tag
// are hashed into a 64-bit Bloom word and compared exactly only on a hit; a
// tag with more switches to this open-addressing table, so hostile tags with
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

// Trivially constructible (no string_view members): the kept array is never
// initialised as a whole.
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

// The longest tag tail Pass::RepeatedPlainTail compares.
constexpr std::ptrdiff_t kMaxPlainTail = 64;

// What ParseAttributes learns about one start tag's attributes. Lives in the
// State and is reset per tag, so tags without attributes pay nothing.
struct TagAttributes {
  Attribute kept[kKeptAttributes];
  int kept_count;
  bool reread;
  bool prefixes_checked;  // the kept attributes' prefixes are known to be bound
  // Duplicate detection for names other than xmlns: the names recorded so
  // far (ParseAttributes keeps the count and the Bloom word in registers and
  // syncs count for UniqueNameSlow).
  int count;
  bool hashed;
  std::uint64_t hashes[kFewAttributes];
  const char* names[kFewAttributes];
  std::uint32_t sizes[kFewAttributes];
};

// AppSequence attributes while its start tag is read.
struct AppSequenceAttributes {
  Text instance_id;
  Text message_number;
  Text sequence_id;
};

// The values the shape cache can carry in a slot, by field id: the header
// fields, the AppSequence attributes, then four per entry (in that order).
enum SlotField : std::uint16_t {
  kSlotAction,
  kSlotMessageId,
  kSlotRelatesTo,
  kSlotTo,
  kSlotInstanceId,
  kSlotMessageNumber,
  kSlotSequenceId,
  kSlotEntries,
};
enum EntrySlot : std::uint16_t { kSlotAddress, kSlotScopes, kSlotXAddrs, kSlotMetadataVersion, kSlotsPerEntry };
constexpr std::size_t kMaxSlots = kSlotEntries + kSlotsPerEntry * kMaxEntries;

// A field the full scan copied without decoding: [begin, end) is its
// untrimmed content (or attribute value), as offsets in the datagram.
struct LoggedSlot {
  std::uint32_t begin;
  std::uint32_t end;
  std::uint16_t field;
};

// What a full scan tells the shape cache; written only while on (the cache
// is enabled). Each field id is logged at most once (first occurrence wins),
// so kMaxSlots bounds the count.
struct SlotLog {
  bool on = false;
  std::uint32_t count = 0;
  std::array<LoggedSlot, kMaxSlots> slots;
  bool app_sequence = false;  // FinishAppSequence ran: seq holds the attributes
  AppSequenceAttributes seq;
  std::optional<std::uint64_t> instance_id;  // as FinishAppSequence parsed them
  std::optional<std::uint64_t> message_number;
};

struct ScanState {
  // elements[0] is the kDocument sentinel; the element at depth d is
  // elements[d], so the parent of a new element is the current top (Pass
  // keeps a pointer to it: a pointer cannot alias the integer stores around
  // it, so it stays in a register).
  std::array<OpenElement, kMaxDepth + 1> elements;
  std::array<Binding, kMaxNamespaceBindings> bindings;
  std::array<PrefixCacheEntry, kPrefixCacheSize> prefix_cache{};
  TagAttributes tag;
  std::array<AttributeSlot, kAttributeTableSize> attribute_table{};
  std::uint32_t attribute_stamp = 0;
  std::array<char, kMaxEnvelopeBytes> arena;
  SlotLog log;
};

// A hash of a name for the duplicate-attribute Bloom word: its first and
// last 8 bytes and its size (names are exactly compared on a hit anyway).
ONVIF_HOT std::uint64_t NameHash(const char* name, std::uint32_t size, const char* limit) {
  const std::uint64_t first = PrefixKey(name, size, limit);
  const std::uint64_t last = size > 8 ? Load64(name + size - 8) : 0;
  return (first ^ std::rotl(last, 29) ^ size) * 0x9E3779B97F4A7C15ull;
}

// One Scan call. Methods return false on error after recording it (Fail).
class Pass {
 public:
  Pass(std::string_view input, ScanState& state, Envelope& envelope, std::array<Entry, kMaxEntries>& entries,
       std::size_t& entry_count, std::array<QName, kMaxTypesPerEnvelope>& types, std::size_t& type_count,
       bool avx2)
      : avx2_(avx2),
        begin_(input.data()),
        end_(input.data() + input.size()),
        state_(state),
        envelope_(envelope),
        entries_(entries),
        entry_count_(entry_count),
        types_(types),
        type_count_(type_count) {}

  // Out of line: the content loop and the shape cache's hit path (in Scan)
  // then get their registers allocated each on its own.
  [[gnu::noinline]] ScanResult Run();

 private:
  ONVIF_COLD bool Fail(ScanError error, const char* at) {
    error_ = error;
    error_at_ = at;
    return false;
  }
  bool SkipMisc(const char*& p);
  bool SkipMarkupDecl(const char* lt, bool in_content, const char*& p);
  bool SkipMarkupDeclBody(const char* lt, bool in_content, const char*& p);
  [[gnu::noinline]] bool RootStartTag(const char*& p) { return StartTag(p); }
  [[gnu::always_inline]] bool StartTag(const char*& p);
  [[gnu::always_inline]] bool EndTag(const char*& p);
  ONVIF_COLD bool EndTagMismatch(const char* lt);
  [[gnu::always_inline]] bool ScanField(Role role, const char* content, const char*& p);
  [[gnu::always_inline]] const char* FindText(const char* q);
  bool SkipReference(const char*& q);
  [[gnu::noinline]] bool ReadAttributes(const char*& q, bool& self_closing);
  bool ParseAttributes(const char*& q, bool& self_closing, std::uint32_t binding_mark, std::uint64_t ns_bloom0,
                       std::uint64_t ns_bloom1);
  [[gnu::always_inline]] const char* PlainAttributes(const char* q, bool& self_closing);
  [[gnu::always_inline]] bool RepeatedPlainTail(const char*& q, bool& self_closing);
  bool ParseAttribute(const char*& q, Attribute& attr);
  [[gnu::always_inline]] bool ScanValue(const char*& q, char quote, bool& needs_decoding);
  [[gnu::always_inline]] bool DeclareNamespace(const char* name, std::string_view prefix, std::string_view uri,
                                               bool needs_decoding, std::uint32_t binding_mark,
                                               std::uint64_t (&ns_bloom)[2]);
  [[gnu::always_inline]] bool PushBinding(const char* name, const char* prefix, std::uint32_t prefix_size,
                                          std::uint64_t key, std::string_view uri, std::uint32_t binding_mark,
                                          Binding* bindings, PrefixCacheEntry* cache, std::uint32_t& count,
                                          std::uint64_t& bloom0, std::uint64_t& bloom1);
#if defined(__SSE2__)
  bool DeclareRun(const char*& q, std::uint32_t binding_mark, std::uint64_t (&ns_bloom)[2]);
  template <class Simd>
  bool DeclareRunT(const char*& q, std::uint32_t binding_mark, std::uint64_t (&ns_bloom)[2]);
  [[gnu::noinline, gnu::flatten]] bool DeclareRunSse2(const char*& q, std::uint32_t binding_mark,
                                                      std::uint64_t (&ns_bloom)[2]);
#endif
#if defined(ONVIF_SCANNER_AVX2)
  [[gnu::noinline, gnu::flatten]] ONVIF_AVX2_TARGET bool DeclareRunAvx2(const char*& q, std::uint32_t binding_mark,
                                                                        std::uint64_t (&ns_bloom)[2]);
#endif
  bool UniqueNameSlow(const char* name, std::uint32_t size, std::uint64_t hash, TagAttributes& tag);
  bool InsertHashed(const char* name, std::uint32_t size);
  [[gnu::always_inline]] Binding* Lookup(const char* prefix, std::size_t size, const char* limit);
  Binding* FindBinding(const char* prefix, std::size_t size, const char* limit);
  [[gnu::always_inline]] bool ChildRole(Role parent, NsClass ns, std::string_view local, const char* lt, Role& role);
  bool NewEntry(const char* lt);
  bool UseKeptAttributes(const char* attrs, Role role);
  bool UseAttribute(const Attribute& attr, Role role, AppSequenceAttributes& seq);
  bool RereadAttributes(const char* q, Role role, AppSequenceAttributes& seq);
  void FinishAppSequence(const AppSequenceAttributes& seq);
  [[gnu::always_inline]] bool StoreField(Role role, const Text& text, const char* at);
  ONVIF_COLD void LogFieldSlot(Role role, const char* content, const char* content_end);
  void LogSlot(std::uint16_t field, const char* begin, const char* end);
  bool ResolveTypes(const Text& text, const char* at);
  [[gnu::always_inline]] void AddQName(const char* item, const char* colon, const char* item_end, const char* limit);
  std::string_view DecodeToArena(std::string_view raw, bool keep);
  Entry& CurrentEntry() { return entries_[entry_count_ - 1]; }

  [[maybe_unused]] const bool avx2_;  // run the AVX2 copies of the loops that have one
  const char* const begin_;
  const char* const end_;
  ScanState& state_;
  Envelope& envelope_;
  std::array<Entry, kMaxEntries>& entries_;
  std::size_t& entry_count_;
  std::array<QName, kMaxTypesPerEnvelope>& types_;
  std::size_t& type_count_;

  OpenElement* top_ = nullptr;  // the innermost open element; elements[0] is the sentinel
  std::uint32_t binding_count_ = 0;
  // The last tag tail PlainAttributes accepted with one attribute, from its
  // leading space through '>' or '/>', and binding_count_ then (size 0:
  // none; cleared wherever a tag may declare a namespace). A later tag with
  // the same tail bytes under the same bindings has the same attribute,
  // moved (SOAP headers repeat ' S:mustUnderstand="true"'). The rest is
  // read only when the size is set.
  std::uint32_t plain_tail_size_ = 0;
  std::uint32_t plain_tail_bindings_;
  const char* plain_tail_;
  Attribute plain_tail_attr_;
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
  const char* p = begin_;
  if (end_ - p >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
  state_.elements[0] = OpenElement{nullptr, 0, 0, Role::kDocument};
  top_ = state_.elements.data();

  bool ok = SkipMisc(p);
  if (ok && p == end_) ok = Fail(ScanError::kTruncated, end_);  // no root
  if (ok) ok = RootStartTag(p);
  // The content loop: the only loop that runs per tag. Only an end tag can
  // close the root, so only that branch tests the depth.
  while (ok && top_ != state_.elements.data()) {
    if (end_ - p < 2 || *p != '<') [[unlikely]] {
      // Structural or ignored content: text is only searched for the next
      // '<', and for NUL, which no XML document holds (pugixml, our
      // reference, takes it for the end of the input).
      if (p == end_ || *p != '<') {
        p = FindLtOrNul(p, end_);
        if (p == end_) {
          ok = Fail(ScanError::kTruncated, end_);
          break;
        }
        if (*p == '\0') {
          ok = Fail(ScanError::kSyntax, p);
          break;
        }
      }
      if (end_ - p < 2) {
        ok = Fail(ScanError::kTruncated, end_);
        break;
      }
    }
    const char next = p[1];
    if (next == '/') {
      ok = EndTag(p);
      continue;  // the loop condition tests the depth
    }
    if (next == '!' || next == '?') [[unlikely]] {
      ok = SkipMarkupDecl(p, /*in_content=*/true, p);
      continue;
    }
    if (!StartTag(p)) {
      ok = false;
      break;
    }
  }
  if (ok) ok = SkipMisc(p);
  if (ok && p != end_) ok = Fail(ScanError::kSyntax, p);  // a second root
  if (ok && not_soap_at_ != nullptr) ok = Fail(ScanError::kNotSoapEnvelope, not_soap_at_);
  if (!ok) return {error_, static_cast<std::uint32_t>(error_at_ - begin_)};
  return {};
}

// Whitespace, comments and PIs outside the root. Stops at end or at a '<'
// that opens an element (with at least one byte after it).
bool Pass::SkipMisc(const char*& p) {
  for (;;) {
    while (p < end_ && IsWs(*p)) ++p;
    if (p == end_) return true;
    if (*p != '<') return Fail(ScanError::kSyntax, p);
    if (p + 1 == end_) return Fail(ScanError::kTruncated, end_);
    if (p[1] != '!' && p[1] != '?') return true;
    if (!SkipMarkupDecl(p, /*in_content=*/false, p)) return false;
  }
}

// lt points at "<!" or "<?". Skips a comment, a PI or (in content) a CDATA
// section, which must not hold NUL; <!DOCTYPE and anything else fail. On
// success p is just past it.
bool Pass::SkipMarkupDecl(const char* lt, bool in_content, const char*& p) {
  // The common cases (the XML declaration, a comment) in one search for
  // '>' or NUL instead of a terminator search plus a NUL search.
  const char* after = nullptr;
  if (lt[1] == '?') {
    if (lt + 2 < end_ && IsNameStart(lt[2])) after = FindTerminatorNoNul(lt + 2, end_, "?>", 2);
  } else if (end_ - lt >= 4 && Load32(lt) == Load32("<!--")) {
    after = FindTerminatorNoNul(lt + 4, end_, "-->", 3);
  }
  if (after != nullptr) {
    p = after;
    return true;
  }
  if (!SkipMarkupDeclBody(lt, in_content, after)) return false;
  const void* nul = std::memchr(lt, '\0', static_cast<std::size_t>(after - lt));
  if (nul != nullptr) return Fail(ScanError::kSyntax, static_cast<const char*>(nul));
  p = after;
  return true;
}

bool Pass::SkipMarkupDeclBody(const char* lt, bool in_content, const char*& p) {
  if (lt[1] == '?') {
    if (lt + 2 == end_) return Fail(ScanError::kTruncated, end_);
    if (!IsNameStart(lt[2])) return Fail(ScanError::kSyntax, lt);
    const char* after = FindTerminator(lt + 2, end_, "?>", 2);
    if (after == nullptr) return Fail(ScanError::kTruncated, end_);
    p = after;
    return true;
  }
  int m = MatchLiteral(lt, end_, "<!--");
  if (m == 1) {
    const char* after = FindTerminator(lt + 4, end_, "-->", 3);
    if (after == nullptr) return Fail(ScanError::kUnterminatedComment, lt);
    p = after;
    return true;
  }
  if (m == -1) return Fail(ScanError::kTruncated, end_);
  m = MatchLiteral(lt, end_, "<![CDATA[");
  if (m == 1) {
    if (!in_content) return Fail(ScanError::kSyntax, lt);
    const char* after = FindTerminator(lt + 9, end_, "]]>", 3);
    if (after == nullptr) return Fail(ScanError::kUnterminatedCdata, lt);
    p = after;
    return true;
  }
  if (m == -1) return Fail(ScanError::kTruncated, end_);
  m = MatchLiteral(lt, end_, "<!DOCTYPE");
  if (m == 1) return Fail(ScanError::kDoctype, lt);
  if (m == -1) return Fail(ScanError::kTruncated, end_);
  return Fail(ScanError::kSyntax, lt);
}

// p points at '<' of a start tag and p + 1 < end_. On success p is just
// past the tag (past the field's end tag for a field element).
inline bool Pass::StartTag(const char*& p) {
  const char* const lt = p;
  if (top_ == state_.elements.data() + kMaxDepth) return Fail(ScanError::kTooDeep, lt);
  const char* const name = lt + 1;
  if (!IsNameStart(*name)) return Fail(ScanError::kSyntax, name);
  const NameScan scan = ScanName(name + 1, end_);
  const char* q = scan.end;
  if (q == end_) return Fail(ScanError::kTruncated, end_);
  const char* const colon = scan.colon;
  if (colon != nullptr && (scan.extra_colon || colon + 1 == q || !IsNameStart(colon[1]))) [[unlikely]] {
    return Fail(ScanError::kSyntax, colon);
  }
  const auto qname_size = static_cast<std::uint32_t>(q - name);
  const auto binding_mark = static_cast<std::uint16_t>(binding_count_);

  // Attributes: most tags have none.
  const char* const attrs = q;
  bool self_closing = false;
  bool has_kept = false;
  if (*q == '>') {
    ++q;
  } else {
    if (!ReadAttributes(q, self_closing)) return false;
    has_kept = state_.tag.kept_count != 0;
  }

  // Resolve the element's namespace. Unprefixed children of ignored
  // elements are never looked at: they cannot fail and do not count.
  const Role parent = top_->role;
  NsClass ns = NsClass::kNone;
  std::string_view local(name, qname_size);
  if (colon != nullptr) {
    const auto prefix_size = static_cast<std::size_t>(colon - name);
    local.remove_prefix(prefix_size + 1);
    Binding* b = Lookup(name, prefix_size, end_);
    ns = b != nullptr ? ClassOf(*b) : NsClass::kUnbound;
    if (ns == NsClass::kUnbound) [[unlikely]] {
      if (prefix_size != 3 || !SameBytes(name, "xml", 3)) return Fail(ScanError::kUnboundPrefix, lt);
      ns = NsClass::kOther;
    }
  } else if (parent != Role::kIgnore && binding_count_ != 0) {
    Binding* b = Lookup(name, 0, end_);
    if (b != nullptr) ns = ClassOf(*b);
  }

  Role role = Role::kIgnore;
  if (parent != Role::kIgnore && !ChildRole(parent, ns, local, lt, role)) return false;
  if (has_kept && (role == Role::kAppSequence || role == Role::kScopes || !state_.tag.prefixes_checked) &&
      !UseKeptAttributes(attrs, role)) {
    return false;
  }
  p = q;

  if (self_closing) {
    if (IsField(role)) {
      Text empty;
      empty.present = true;
      empty.raw = std::string_view(q, 0);
      if (!StoreField(role, empty, lt)) return false;
    }
    binding_count_ = binding_mark;
    return true;
  }
  *++top_ = OpenElement{name, qname_size, binding_mark, role};
  if (IsField(role)) return ScanField(role, q, p);
  return true;
}

// p points at "</" (two bytes available) in the innermost open element.
inline bool Pass::EndTag(const char*& p) {
  const OpenElement& top = *top_;
  const char* const lt = p;
  const char* const n = lt + 2;
  const std::uint32_t size = top.qname_size;
#if defined(__SSE2__)
  // Most qnames fit one 16-byte compare; the open element's name lies
  // earlier in the input, so its 16 bytes are there when n's are.
  if (size <= 16 && end_ - n > 16) {
    const unsigned differ = ~MoveMask(_mm_cmpeq_epi8(Load128(n), Load128(top.qname)));
    if ((differ & ((1u << size) - 1)) != 0) return EndTagMismatch(lt);
  } else
#endif
  if (static_cast<std::size_t>(end_ - n) <= size || !SameBytes(n, top.qname, size)) {
    return EndTagMismatch(lt);
  }
  const char* q = n + size;
  if (*q != '>') {
    if (IsNameChar(*q)) return EndTagMismatch(lt);
    while (q < end_ && IsWs(*q)) ++q;
    if (q == end_) return Fail(ScanError::kTruncated, end_);
    if (*q != '>') return Fail(ScanError::kSyntax, q);
  }
  p = q + 1;
  binding_count_ = top.binding_mark;
  --top_;
  return true;
}

bool Pass::EndTagMismatch(const char* lt) {
  const char* q = lt + 2;
  while (q < end_ && IsNameChar(*q)) ++q;
  if (q == end_) return Fail(ScanError::kTruncated, end_);
  return Fail(ScanError::kMismatchedTag, lt);
}

// FindTextSpecial(q, end_), by the AVX2 copy when in use (one call costs less
// than the SSE2 steps over a field of 30 to 60 bytes).
inline const char* Pass::FindText(const char* q) {
#if defined(ONVIF_SCANNER_AVX2)
  if (avx2_ && end_ - q >= 64) return FindTextSpecialAvx2(q, end_);
#endif
  return FindTextSpecial(q, end_);
}

// content points just past the field's start tag. Consumes the content and
// the end tag; p ends just past it.
inline bool Pass::ScanField(Role role, const char* content, const char*& p) {
  bool needs_decoding = false;
  const char* q = content;
  for (;;) {
    q = FindText(q);
    if (q == end_) return Fail(ScanError::kTruncated, end_);
    const char c = *q;
    if (c == '<') {
      if (q + 1 == end_) return Fail(ScanError::kTruncated, end_);
      if (q[1] == '/') [[likely]] break;
      if (q[1] != '!' && q[1] != '?') {
        // A child element, or a '<' that starts nothing at all.
        return Fail(IsNameStart(q[1]) ? ScanError::kUnexpectedElement : ScanError::kSyntax, q);
      }
      if (!SkipMarkupDecl(q, /*in_content=*/true, q)) return false;
      needs_decoding = true;
      continue;
    }
    if (c == '&') {
      if (!SkipReference(q)) return false;
      needs_decoding = true;
      continue;
    }
    if (c == '\0') return Fail(ScanError::kSyntax, q);
    if (c == '\r') needs_decoding = true;
    ++q;  // CR or another control byte
  }
  const std::string_view whole(content, static_cast<std::size_t>(q - content));
  if (whole.size() > kMaxFieldBytes) return Fail(ScanError::kFieldTooLong, content);
  Text text;
  text.present = true;
  text.needs_decoding = needs_decoding;
  // Most fields have no whitespace at their ends: test those before trimming.
  text.raw = whole;
  if (!needs_decoding && !whole.empty() && (IsWs(whole.front()) || IsWs(whole.back()))) text.raw = TrimWs(whole);
  // Store before EndTag pops the bindings: Types resolves against them.
  if (!StoreField(role, text, content)) return false;
  if (state_.log.on && !needs_decoding && role != Role::kTypes) LogFieldSlot(role, content, q);
  p = q;
  return EndTag(p);
}

// q points at '&' in text or an attribute value; validates the reference
// and moves past it.
bool Pass::SkipReference(const char*& q) {
  std::uint32_t code;
  const char* next;
  const RefStatus status = ParseReference(q, end_, &code, &next);
  if (status == RefStatus::kTruncated) return Fail(ScanError::kTruncated, end_);
  if (status == RefStatus::kBad) return Fail(ScanError::kBadReference, q);
  q = next;
  return true;
}

// q points just after an attribute value's opening quote. Finds the closing
// quote, validating references and rejecting '<' and NUL; q ends on it.
inline bool Pass::ScanValue(const char*& q, char quote, bool& needs_decoding) {
  for (;;) {
    q = FindValueSpecial(q, end_, quote);
    if (q == end_) return Fail(ScanError::kTruncated, end_);
    const char c = *q;
    if (c == quote) [[likely]] return true;
    if (c == '&') {
      if (!SkipReference(q)) return false;
      needs_decoding = true;
      continue;
    }
    if (c == '<' || c == '\0') return Fail(ScanError::kSyntax, q);
    if (c == '\r') needs_decoding = true;
    ++q;  // a control byte, or a byte FindValueSpecial over-reports
  }
}

// The usual spelling of a tag's attributes when none is a namespace
// declaration: up to kKeptAttributes of ' name="value"' (one space before
// each, none around '=', a value without '&', '<', whitespace or control
// bytes), then '>' or '/>'. q points just past the element's name. Returns
// the position past the tag with the attributes kept as ParseAttributes
// keeps them and their prefixes checked, or nullptr for anything else
// (duplicates and unbound prefixes included), which ParseAttributes then
// reads from the same q: so this accepts only what ParseAttributes accepts,
// with the same result.
inline const char* Pass::PlainAttributes(const char* q, bool& self_closing) {
  const char* const end = end_;
  TagAttributes& tag = state_.tag;
  int n = 0;
  for (;;) {
    if (end - q < 18 || q[0] != ' ') break;
    const char* const name = q + 1;
    if (!IsNameStart(*name)) return nullptr;
    const NameScan scan = ScanName(name + 1, end);
    if (end - scan.end < 2) return nullptr;
    const auto size = static_cast<std::uint32_t>(scan.end - name);
    std::uint32_t colon = 0;
    if (scan.colon != nullptr) {
      // One ':', inside the name, followed by a name start character.
      if (scan.extra_colon || scan.colon + 1 == scan.end || !IsNameStart(scan.colon[1])) return nullptr;
      colon = static_cast<std::uint32_t>(scan.colon - name);
    }
    const char* const eq = scan.end;
    const char quote = eq[1];
    if (*eq != '=' || (quote != '"' && quote != '\'')) return nullptr;
    if (size >= 5 && (size == 5 || colon == 5) && Load32(name) == Load32("xmln") && name[4] == 's') return nullptr;
    const char* const value = eq + 2;
    const char* const close = FindValueSpecial(value, end, quote);
    if (close == end || *close != quote || n == kKeptAttributes) return nullptr;
    for (int i = 0; i < n; ++i) {
      if (tag.kept[i].name_size == size && SameBytes(tag.kept[i].name, name, size)) return nullptr;
    }
    tag.kept[n++] = Attribute{name, size, colon, value, static_cast<std::uint32_t>(close - value), false};
    q = close + 1;
  }
  if (n == 0 || q == end) return nullptr;
  if (*q == '>') {
    ++q;
  } else if (*q == '/' && q + 1 < end && q[1] == '>') {
    q += 2;
    self_closing = true;
  } else {
    return nullptr;
  }
  // The tag declares nothing, so the bindings in scope are final: check the
  // prefixes now (an unbound one is left to ParseAttributes to report).
  for (int i = 0; i < n; ++i) {
    const Attribute& attr = tag.kept[i];
    if (attr.colon == 0 || (attr.colon == 3 && SameBytes(attr.name, "xml", 3))) continue;
    const Binding* b = Lookup(attr.name, attr.colon, end);
    if (b == nullptr || b->ns_class == NsClass::kUnbound) return nullptr;
  }
  tag.kept_count = n;
  tag.reread = false;
  tag.prefixes_checked = true;
  return q;
}

// A tag tail equal to the one PlainAttributes last accepted, under the same
// bindings (no push since, and the same count: so the same stack), gives
// the same attribute, prefix check and end of tag; only its position moves.
// q points just past the element's name; on true q is past the tag.
inline bool Pass::RepeatedPlainTail(const char*& q, bool& self_closing) {
  const std::uint32_t size = plain_tail_size_;
  if (size == 0 || binding_count_ != plain_tail_bindings_ || static_cast<std::size_t>(end_ - q) < size ||
      !SameBytes(q, plain_tail_, size)) {
    return false;
  }
  const std::ptrdiff_t shift = q - plain_tail_;
  TagAttributes& tag = state_.tag;
  tag.kept[0] = plain_tail_attr_;
  tag.kept[0].name += shift;
  tag.kept[0].value += shift;
  tag.kept_count = 1;
  tag.reread = false;
  tag.prefixes_checked = true;
  q += size;
  self_closing = q[-2] == '/';
  return true;
}

// The attributes of a start tag; q points just past its name, at a byte that
// is not '>'. On success q is past the tag and state_.tag holds the kept
// attributes. The usual spellings take a fast path: plain attributes
// (PlainAttributes), or a run of namespace declarations (DeclareRun, most
// root tags); anything else, or what follows the run, goes to
// ParseAttributes.
bool Pass::ReadAttributes(const char*& q, bool& self_closing) {
  const std::uint32_t binding_mark = binding_count_;
  if (end_ - q >= 18) {
    constexpr std::uint64_t kSix = 0xFFFFFFFFFFFFull;
    if ((Load64(q) & kSix) != (Load64(" xmlns\0\0") & kSix)) {
      if (RepeatedPlainTail(q, self_closing)) return true;
      if (const char* const after = PlainAttributes(q, self_closing)) {
        if (state_.tag.kept_count == 1 && after - q <= kMaxPlainTail) {
          plain_tail_ = q;
          plain_tail_size_ = static_cast<std::uint32_t>(after - q);
          plain_tail_bindings_ = binding_count_;
          plain_tail_attr_ = state_.tag.kept[0];
        }
        q = after;
        return true;
      }
    } else {
#if defined(__SSE2__)
      plain_tail_size_ = 0;  // the tag declares namespaces
      std::uint64_t ns_bloom[2] = {0, 0};
      if (!DeclareRun(q, binding_mark, ns_bloom)) return false;
      if (q != end_ && *q == '>') {
        ++q;
        state_.tag.kept_count = 0;
        state_.tag.reread = false;
        return true;
      }
      return ParseAttributes(q, self_closing, binding_mark, ns_bloom[0], ns_bloom[1]);
#endif
    }
  }
  return ParseAttributes(q, self_closing, binding_mark, 0, 0);
}

// q points just past a start tag's name, at a byte that is not a name
// character. Reads every attribute, pushes namespace declarations, keeps the
// first kKeptAttributes others in state_.tag; q ends just past the tag.
// Works on local copies of the cursor and the tag state so that they stay in
// registers: this loop runs once per attribute.
//
// Duplicates: namespace declarations are checked against the bindings this
// tag pushed (DeclareNamespace); other names go through a Bloom word over
// NameHash and exact compares on a hit. The two sets cannot share a name.
bool Pass::ParseAttributes(const char*& q_out, bool& self_closing, std::uint32_t binding_mark,
                           std::uint64_t ns_bloom0, std::uint64_t ns_bloom1) {
  const char* const end = end_;
  const char* q = q_out;
  TagAttributes& tag = state_.tag;
  int kept_count = 0;
  bool reread = false;
  std::uint64_t bloom = 0;
  std::uint64_t ns_bloom[2] = {ns_bloom0, ns_bloom1};
  int count = 0;
  const char* first_name = nullptr;  // the first name, not yet hashed while count == 0
  std::uint32_t first_size = 0;
  plain_tail_size_ = 0;  // the tag may declare namespaces
  tag.hashed = false;
  tag.prefixes_checked = false;
  for (;;) {
    // A namespace declaration in its usual spelling, xmlns:p="..." or
    // xmlns="...", is most of a root tag: the fast paths below only find its
    // name, prefix and '=' and share the tail that declares it. Any other
    // spelling (spaces around '=', a bad prefix, the end of the input near)
    // takes the general path further down, which accepts and rejects exactly
    // the same.
    constexpr std::uint64_t kSix = 0xFFFFFFFFFFFFull;
    const char* decl_name = nullptr;
    const char* decl_prefix = nullptr;
    const char* decl_eq = nullptr;
#if defined(__SSE2__)
    // More declarations after one the run left to this loop.
    if (end - q >= 71 && q[0] == ' ' && q[1] == 'x') {
      const char* const before = q;
      if (!DeclareRun(q, binding_mark, ns_bloom)) return false;
      if (q != before) continue;
    }
    // One space then xmlns:p="..." with a short prefix: the prefix is
    // delimited with one 16-byte classification.
    if (end - q >= 24 && q[0] == ' ') {
      const std::uint64_t head = Load64(q + 1) & kSix;
      const char* prefix = q + 7;
      const char* eq = nullptr;
      if (head == (Load64("xmlns:\0\0") & kSix)) {
        if (IsNameStart(*prefix)) {
          const __m128i x = Load128(prefix);
          const unsigned stops = NameStops(x) | MoveMask(_mm_cmpeq_epi8(x, Splat(':')));
          if (stops != 0) eq = prefix + std::countr_zero(stops);
        }
      } else if (head == (Load64("xmlns=\0\0") & kSix)) {
        eq = prefix = q + 6;
      }
      // eq + 1 < q + 24 <= end.
      if (eq != nullptr && eq[0] == '=' && (eq[1] == '"' || eq[1] == '\'')) {
        decl_name = q + 1;
        decl_prefix = prefix;
        decl_eq = eq;
      }
    }
#endif
    if (decl_eq == nullptr) {
      const char* const ws = q;
      while (q < end && IsWs(*q)) ++q;
      if (q == end) return Fail(ScanError::kTruncated, end);
      if (*q == '>') {
        ++q;
        break;
      }
      if (*q == '/') {
        if (++q == end) return Fail(ScanError::kTruncated, end);
        if (*q != '>') return Fail(ScanError::kSyntax, q);
        ++q;
        self_closing = true;
        break;
      }
      if (q == ws) return Fail(ScanError::kSyntax, q);  // attributes need whitespace before them

      if (end - q >= 8) {
        const std::uint64_t head = Load64(q) & kSix;
        const char* prefix = q + 6;
        const char* eq = nullptr;
        if (head == (Load64("xmlns:\0\0") & kSix)) {
          // Prefixes are short: a table loop beats a 16-byte classification.
          if (IsNameStart(*prefix)) {
            const char* r = prefix + 1;
            while (r < end && (kChars[static_cast<unsigned char>(*r)] & kNcNameBit)) ++r;
            if (r == end || *r != ':') eq = r;
          }
        } else if (head == (Load64("xmlns=\0\0") & kSix)) {
          eq = prefix = q + 5;
        }
        if (eq != nullptr && end - eq >= 2 && eq[0] == '=' && (eq[1] == '"' || eq[1] == '\'')) {
          decl_name = q;
          decl_prefix = prefix;
          decl_eq = eq;
        }
      }
    }
    if (decl_eq != nullptr) {
      const char quote = decl_eq[1];
      const char* const value = q = decl_eq + 2;
      bool needs_decoding = false;
      if (!ScanValue(q, quote, needs_decoding)) return false;
      const std::string_view uri(value, static_cast<std::size_t>(q - value));
      ++q;
      if (!DeclareNamespace(decl_name,
                            std::string_view(decl_prefix, static_cast<std::size_t>(decl_eq - decl_prefix)),
                            uri, needs_decoding, binding_mark, ns_bloom)) {
        return false;
      }
      continue;
    }

    // The name.
    const char* const name = q;
    if (!IsNameStart(*q)) return Fail(ScanError::kSyntax, q);
    const NameScan scan = ScanName(q + 1, end);
    q = scan.end;
    if (q == end) return Fail(ScanError::kTruncated, end);
    std::uint32_t colon = 0;
    if (scan.colon != nullptr) {
      if (scan.extra_colon || scan.colon + 1 == q || !IsNameStart(scan.colon[1])) {
        return Fail(ScanError::kSyntax, scan.colon);
      }
      colon = static_cast<std::uint32_t>(scan.colon - name);
    }
    const auto name_size = static_cast<std::uint32_t>(q - name);

    // = and the opening quote.
    if (*q != '=') {
      while (q < end && IsWs(*q)) ++q;
      if (q == end) return Fail(ScanError::kTruncated, end);
      if (*q != '=') return Fail(ScanError::kSyntax, q);
    }
    ++q;
    while (q < end && IsWs(*q)) ++q;
    if (q == end) return Fail(ScanError::kTruncated, end);
    const char quote = *q;
    if (quote != '"' && quote != '\'') return Fail(ScanError::kSyntax, q);

    // The value.
    const char* const value = ++q;
    bool needs_decoding = false;
    if (!ScanValue(q, quote, needs_decoding)) return false;
    const auto value_size = static_cast<std::uint32_t>(q - value);
    ++q;

    const bool is_xmlns = name_size >= 5 && (name_size == 5 || colon == 5) && Load32(name) == Load32("xmln") &&
                          name[4] == 's';
    if (is_xmlns) {
      const std::string_view prefix =
          colon == 0 ? std::string_view(name + name_size, 0) : std::string_view(name + 6, name_size - 6);
      if (!DeclareNamespace(name, prefix, std::string_view(value, value_size), needs_decoding, binding_mark,
                            ns_bloom)) {
        return false;
      }
      continue;
    }

    // Duplicates. Most tags with attributes have one, so the first name is
    // only hashed when a second one comes; then a Bloom hit (or many
    // attributes) takes the exact path.
    if (first_name == nullptr) {
      first_name = name;
      first_size = name_size;
    } else {
      if (count == 0) {
        const std::uint64_t first_hash = NameHash(first_name, first_size, end);
        bloom = std::uint64_t{1} << (first_hash >> 58);
        tag.hashes[0] = first_hash;
        tag.names[0] = first_name;
        tag.sizes[0] = first_size;
        count = 1;
      }
      const std::uint64_t hash = NameHash(name, name_size, end);
      const std::uint64_t bit = std::uint64_t{1} << (hash >> 58);
      if ((bloom & bit) == 0 && count < kFewAttributes) [[likely]] {
        bloom |= bit;
        tag.hashes[count] = hash;
        tag.names[count] = name;
        tag.sizes[count] = name_size;
        ++count;
      } else {
        tag.count = count;
        if (!UniqueNameSlow(name, name_size, hash, tag)) return Fail(ScanError::kSyntax, name);
        count = tag.count;
      }
    }

    if (kept_count < kKeptAttributes) {
      tag.kept[kept_count++] = Attribute{name, name_size, colon, value, value_size, needs_decoding};
    } else {
      reread = true;
    }
  }
  tag.kept_count = kept_count;
  tag.reread = reread;
  q_out = q;
  return true;
}

// Declares prefix (empty: the default namespace) as uri for the tag being
// read; name is the attribute's name, for errors.
inline bool Pass::DeclareNamespace(const char* name, std::string_view prefix, std::string_view uri,
                                   bool needs_decoding, std::uint32_t binding_mark, std::uint64_t (&ns_bloom)[2]) {
  std::uint32_t count = binding_count_;
  const bool ok = PushBinding(name, prefix.data(), static_cast<std::uint32_t>(prefix.size()),
                              PrefixKey(prefix.data(), prefix.size(), end_),
                              needs_decoding ? DecodeToArena(uri, /*keep=*/true) : uri, binding_mark,
                              state_.bindings.data(), state_.prefix_cache.data(), count, ns_bloom[0], ns_bloom[1]);
  binding_count_ = count;
  return ok;
}

// Pushes the binding of prefix (key: its PrefixKey) to uri (decoded) for the
// tag being read; count stands for binding_count_ (a run of declarations
// keeps it in a register). A prefix declared twice on one tag is a duplicate
// attribute: ns_bloom has a bit per prefix declared on this tag (the same
// bits CacheSlot uses, and a second, independent one), and a hit is checked
// exactly against the bindings pushed since binding_mark.
inline bool Pass::PushBinding(const char* name, const char* prefix, std::uint32_t prefix_size, std::uint64_t key,
                              std::string_view uri, std::uint32_t binding_mark, Binding* bindings,
                              PrefixCacheEntry* cache, std::uint32_t& count, std::uint64_t& bloom0,
                              std::uint64_t& bloom1) {
  const std::uint64_t hash = key * 0x9E3779B97F4A7C15ull;
  const std::size_t slot = hash >> 58;  // CacheSlot(key)
  const std::uint64_t bit = std::uint64_t{1} << slot;
  const std::uint64_t bit2 = std::uint64_t{1} << ((hash >> 52) & 63);
  if ((bloom0 & bit) != 0 && (bloom1 & bit2) != 0) [[unlikely]] {
    for (std::uint32_t i = binding_mark; i < count; ++i) {
      const Binding& b = bindings[i];
      if (b.key == key && b.prefix_size == prefix_size &&
          (prefix_size <= 8 || std::memcmp(b.prefix + 8, prefix + 8, prefix_size - 8) == 0)) {
        return Fail(ScanError::kSyntax, name);
      }
    }
  }
  bloom0 |= bit;
  bloom1 |= bit2;
  if (count == kMaxNamespaceBindings) return Fail(ScanError::kTooManyNamespaces, name);
  const std::uint32_t index = count++;
  Binding& b = bindings[index];
  b.key = key;
  b.prefix = prefix;
  b.prefix_size = prefix_size;
  if (prefix_size <= 8) cache[slot] = PrefixCacheEntry{key, index};
  b.uri = uri;
  // xmlns:p="" un-declares p (Namespaces 1.1); xmlns="" means no namespace.
  b.ns_class = uri.empty() ? (prefix_size != 0 ? NsClass::kUnbound : NsClass::kNone) : NsClass::kPending;
  return true;
}

#if defined(__SSE2__)
// A run of namespace declarations in their usual spelling, ' xmlns:p="uri"'
// or ' xmlns="uri"', most of a root tag: the prefix is delimited by one
// 16-byte classification and the closing quote found in one 64-byte mask,
// with the binding count and the Bloom words in registers. Stops, with q on
// the attribute's leading space, at the first attribute of another form (a
// URI holding '&', '<' or a control byte or ending outside the window, a
// prefix of 16 bytes or more, whitespace around '=', fewer than 71 bytes
// left, not a declaration at all); the general path then reads it, and it
// accepts and rejects exactly what this accepts.
template <class Simd>
inline bool Pass::DeclareRunT(const char*& q_io, std::uint32_t binding_mark, std::uint64_t (&ns_bloom)[2]) {
  constexpr std::ptrdiff_t kWindow = 64;
  constexpr std::uint64_t kSix = 0xFFFFFFFFFFFFull;
  const char* q = q_io;
  std::uint32_t count = binding_count_;
  std::uint64_t bloom0 = ns_bloom[0];
  std::uint64_t bloom1 = ns_bloom[1];
  Binding* const bindings = state_.bindings.data();
  PrefixCacheEntry* const cache = state_.prefix_cache.data();
  const char* const end = end_;
  bool ok = true;
  const Simd simd;
  while (end - q >= 7 + kWindow && (Load64(q) & kSix) == (Load64(" xmlns\0\0") & kSix)) {
    const char* const window = q + 7;  // the prefix, or just past '=' for xmlns=
    const char* prefix;
    const char* eq;
    if (q[6] == ':') {
      if (!IsNameStart(*window)) break;
      const unsigned stops = simd.NcNameStops(Load128(window));
      if (stops == 0) break;
      prefix = window;
      eq = window + std::countr_zero(stops);
    } else {
      prefix = eq = q + 6;
    }
    const char quote = eq[1];
    if (*eq != '=' || (quote != '"' && quote != '\'')) break;
    // Name bytes and '=' are not candidates, so the first candidate in the
    // window is the opening quote; the next one must be the closing quote.
    const auto open = static_cast<unsigned>(eq + 1 - window);  // <= 16
    const std::uint64_t after_open = (simd.ValueSpecials64(window) >> open) >> 1;
    if (after_open == 0) break;
    const char* const close = eq + 2 + std::countr_zero(after_open);
    if (*close != quote) break;
    const auto prefix_size = static_cast<std::uint32_t>(eq - prefix);
    if (!PushBinding(q + 1, prefix, prefix_size, Simd::Key(prefix, prefix_size),
                     std::string_view(eq + 2, static_cast<std::size_t>(close - (eq + 2))), binding_mark, bindings,
                     cache, count, bloom0, bloom1)) {
      ok = false;
      break;
    }
    q = close + 1;
  }
  binding_count_ = count;
  ns_bloom[0] = bloom0;
  ns_bloom[1] = bloom1;
  q_io = q;
  return ok;
}

bool Pass::DeclareRunSse2(const char*& q, std::uint32_t binding_mark, std::uint64_t (&ns_bloom)[2]) {
  return DeclareRunT<Sse2Simd>(q, binding_mark, ns_bloom);
}

#if defined(ONVIF_SCANNER_AVX2)
bool Pass::DeclareRunAvx2(const char*& q, std::uint32_t binding_mark, std::uint64_t (&ns_bloom)[2]) {
  return DeclareRunT<Avx2Simd>(q, binding_mark, ns_bloom);
}
#endif

inline bool Pass::DeclareRun(const char*& q, std::uint32_t binding_mark, std::uint64_t (&ns_bloom)[2]) {
#if defined(ONVIF_SCANNER_AVX2)
  if (avx2_) return DeclareRunAvx2(q, binding_mark, ns_bloom);
#endif
  return DeclareRunSse2(q, binding_mark, ns_bloom);
}
#endif

// Reads one attribute for RereadAttributes. q points at the name (q < end_);
// on success q is just past the closing quote.
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
  if (q < end_ && IsWs(*q)) {
    while (q < end_ && IsWs(*q)) ++q;
  }
  if (q == end_) return Fail(ScanError::kTruncated, end_);
  const char quote = *q;
  if (quote != '"' && quote != '\'') return Fail(ScanError::kSyntax, q);
  const char* const value = ++q;
  attr.needs_decoding = false;
  for (;;) {
    q = FindValueSpecial(q, end_, quote);
    if (q == end_) return Fail(ScanError::kTruncated, end_);
    const char c = *q;
    if (c == quote) [[likely]] break;
    if (c == '&') {
      if (!SkipReference(q)) return false;
      attr.needs_decoding = true;
      continue;
    }
    if (c == '<' || c == '\0') return Fail(ScanError::kSyntax, q);
    if (c == '\r') attr.needs_decoding = true;
    ++q;  // a control byte, or a byte FindValueSpecial over-reports
  }
  attr.value = value;
  attr.value_size = static_cast<std::uint32_t>(q - value);
  ++q;
  return true;
}

// The exact duplicate check, after a Bloom hit or with many attributes;
// tag.count holds the names recorded so far. False on a duplicate.
bool Pass::UniqueNameSlow(const char* name, std::uint32_t size, std::uint64_t hash, TagAttributes& tag) {
  if (!tag.hashed) {
    for (int i = 0; i < tag.count; ++i) {
      if (tag.hashes[i] == hash && tag.sizes[i] == size && std::memcmp(tag.names[i], name, size) == 0) return false;
    }
    if (tag.count < kFewAttributes) {  // a Bloom false positive
      tag.hashes[tag.count] = hash;
      tag.names[tag.count] = name;
      tag.sizes[tag.count] = size;
      ++tag.count;
      return true;
    }
    // Too many for pairwise compares: move them to the table.
    tag.hashed = true;
    if (++state_.attribute_stamp == 0) {  // wrapped: forget every old slot
      state_.attribute_table.fill(AttributeSlot{});
      state_.attribute_stamp = 1;
    }
    for (int i = 0; i < tag.count; ++i) InsertHashed(tag.names[i], tag.sizes[i]);
  }
  return InsertHashed(name, size);
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

// The innermost binding of the prefix [prefix, prefix + size), or nullptr.
// limit bounds what may be read after the prefix.
inline Binding* Pass::Lookup(const char* prefix, std::size_t size, const char* limit) {
  if (size <= 8) [[likely]] {
    const std::uint64_t key = PrefixKey(prefix, size, limit);
    const PrefixCacheEntry& cached = state_.prefix_cache[CacheSlot(key)];
    if (cached.key == key && cached.index < binding_count_) {
      Binding& b = state_.bindings[cached.index];
      if (b.key == key && b.prefix_size == size) return &b;
    }
  }
  return FindBinding(prefix, size, limit);
}

// Lookup's slow path: scans the stack from the top and fills the cache.
Binding* Pass::FindBinding(const char* prefix, std::size_t size, const char* limit) {
  const std::uint64_t key = PrefixKey(prefix, size, limit);
  for (std::uint32_t i = binding_count_; i-- > 0;) {
    Binding& b = state_.bindings[i];
    if (b.key == key && b.prefix_size == size &&
        (size <= 8 || std::memcmp(b.prefix + 8, prefix + 8, size - 8) == 0)) {
      if (size <= 8) state_.prefix_cache[CacheSlot(key)] = PrefixCacheEntry{key, i};
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

// The role of an element whose parent has a role; may open an entry or set
// the message kind.
inline bool Pass::ChildRole(Role parent, NsClass ns, std::string_view local, const char* lt, Role& role) {
  role = Role::kIgnore;
  switch (parent) {
    case Role::kDocument:
      if ((ns == NsClass::kSoap11 || ns == NsClass::kSoap12) && Is(local, "Envelope")) {
        role = Role::kEnvelope;
        soap_ns_ = ns;
        envelope_.soap = ns == NsClass::kSoap11 ? SoapVersion::k11 : SoapVersion::k12;
      } else {
        not_soap_at_ = lt;  // reported once the document proved well-formed
      }
      return true;
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

// The non-xmlns attributes of a start tag whose role is known: checks their
// prefixes and keeps the attributes AppSequence and Scopes carry.
bool Pass::UseKeptAttributes(const char* attrs, Role role) {
  const TagAttributes& tag = state_.tag;
  if (!tag.reread && role != Role::kAppSequence && role != Role::kScopes) [[likely]] {
    // No attribute of this element is read: only prefixes are checked.
    for (int i = 0; i < tag.kept_count; ++i) {
      const Attribute& attr = tag.kept[i];
      if (attr.colon == 0 || (attr.colon == 3 && std::memcmp(attr.name, "xml", 3) == 0)) continue;
      const Binding* b = Lookup(attr.name, attr.colon, end_);
      if (b == nullptr || b->ns_class == NsClass::kUnbound) return Fail(ScanError::kUnboundPrefix, attr.name);
    }
    return true;
  }
  AppSequenceAttributes seq;
  if (tag.reread) {
    if (!RereadAttributes(attrs, role, seq)) return false;
  } else {
    for (int i = 0; i < tag.kept_count; ++i) {
      if (!UseAttribute(tag.kept[i], role, seq)) return false;
    }
  }
  if (role == Role::kAppSequence) FinishAppSequence(seq);
  return true;
}

bool Pass::UseAttribute(const Attribute& attr, Role role, AppSequenceAttributes& seq) {
  if (attr.colon != 0) {
    if (attr.colon == 3 && std::memcmp(attr.name, "xml", 3) == 0) return true;
    const Binding* b = Lookup(attr.name, attr.colon, end_);
    if (b == nullptr || b->ns_class == NsClass::kUnbound) return Fail(ScanError::kUnboundPrefix, attr.name);
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
    if (state_.log.on && role == Role::kAppSequence && !attr.needs_decoding) [[unlikely]] {
      const std::uint16_t field = target == &seq.instance_id      ? kSlotInstanceId
                                  : target == &seq.message_number ? kSlotMessageNumber
                                                                  : kSlotSequenceId;
      LogSlot(field, attr.value, attr.value + attr.value_size);
    }
  }
  return true;
}

// Reads a start tag's attributes again (pass one validated them) when more
// than kKeptAttributes were not namespace declarations.
bool Pass::RereadAttributes(const char* q, Role role, AppSequenceAttributes& seq) {
  for (;;) {
    while (IsWs(*q)) ++q;
    if (*q == '>' || *q == '/') return true;
    Attribute attr{};
    if (!ParseAttribute(q, attr)) return false;
    const std::string_view n = attr.Name();
    const bool is_xmlns = n.size() >= 5 && std::memcmp(n.data(), "xmlns", 5) == 0 && (n.size() == 5 || attr.colon == 5);
    if (!is_xmlns && !UseAttribute(attr, role, seq)) return false;
  }
}

void Pass::FinishAppSequence(const AppSequenceAttributes& seq) {
  SlotLog& log = state_.log;
  if (log.on) {
    log.app_sequence = true;
    log.seq = seq;
  }
  if (!seq.instance_id.present || !seq.message_number.present) return;
  const auto number = [this](const Text& t) {
    return ParseUint64(t.needs_decoding ? TrimWs(DecodeToArena(t.raw, /*keep=*/false)) : t.raw);
  };
  const std::optional<std::uint64_t> instance = number(seq.instance_id);
  const std::optional<std::uint64_t> message = number(seq.message_number);
  if (log.on) {
    log.instance_id = instance;
    log.message_number = message;
  }
  if (instance && message) envelope_.app_sequence = AppSequence{*instance, *message, seq.sequence_id};
}

// A field whose content needed no decoding, for the shape cache.
void Pass::LogFieldSlot(Role role, const char* content, const char* content_end) {
  const auto entry = [this](EntrySlot slot) {
    return static_cast<std::uint16_t>(kSlotEntries + kSlotsPerEntry * (entry_count_ - 1) + slot);
  };
  std::uint16_t field = 0;
  switch (role) {
    case Role::kAction:
      field = kSlotAction;
      break;
    case Role::kMessageId:
      field = kSlotMessageId;
      break;
    case Role::kRelatesTo:
      field = kSlotRelatesTo;
      break;
    case Role::kTo:
      field = kSlotTo;
      break;
    case Role::kAddress:
      field = entry(kSlotAddress);
      break;
    case Role::kScopes:
      field = entry(kSlotScopes);
      break;
    case Role::kXAddrs:
      field = entry(kSlotXAddrs);
      break;
    case Role::kMetadataVersion:
      field = entry(kSlotMetadataVersion);
      break;
    default:
      return;
  }
  LogSlot(field, content, content_end);
}

void Pass::LogSlot(std::uint16_t field, const char* begin, const char* end) {
  SlotLog& log = state_.log;
  if (log.count == log.slots.size()) return;  // cannot happen (see SlotLog); a missing slot stays constant
  log.slots[log.count++] =
      LoggedSlot{static_cast<std::uint32_t>(begin - begin_), static_cast<std::uint32_t>(end - begin_), field};
}

inline bool Pass::StoreField(Role role, const Text& text, const char* at) {
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

// Splits Types on whitespace (16 bytes at a time) and resolves each QName's
// prefix.
bool Pass::ResolveTypes(const Text& text, const char* at) {
  Entry& e = CurrentEntry();
  e.has_types = true;
  e.types_begin = static_cast<std::uint16_t>(type_count_);
  const std::string_view value = text.needs_decoding ? TrimWs(DecodeToArena(text.raw, /*keep=*/true)) : text.raw;
  const char* p = value.data();
  const char* const limit = p + value.size();
  // Raw text lies in the input, decoded text in the arena.
  const char* const load_limit = text.needs_decoding ? state_.arena.data() + state_.arena.size() : end_;
#if defined(__SSE2__)
  // Usual Types (a few QNames, up to 64 bytes): one classification, 16
  // bytes at a time, finds every item and its ':' (bits past the value are
  // ignored).
  if (value.size() <= 64 && load_limit - p >= 64) {
    std::uint64_t ws = 0;
    std::uint64_t colons = 0;
    for (std::size_t offset = 0; offset < value.size(); offset += 16) {
      const __m128i x = Load128(p + offset);
      const __m128i space = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, Splat(' ')), _mm_cmpeq_epi8(x, Splat('\n'))),
                                         _mm_or_si128(_mm_cmpeq_epi8(x, Splat('\t')), _mm_cmpeq_epi8(x, Splat('\r'))));
      ws |= std::uint64_t{MoveMask(space)} << offset;
      colons |= std::uint64_t{MoveMask(_mm_cmpeq_epi8(x, Splat(':')))} << offset;
    }
    const std::uint64_t in_value = value.size() == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << value.size()) - 1;
    ws &= in_value;
    std::uint64_t item_bytes = ~ws & in_value;
    while (item_bytes != 0) {
      if (type_count_ == kMaxTypesPerEnvelope) return Fail(ScanError::kTooManyTypes, at);
      const int start = std::countr_zero(item_bytes);
      const std::uint64_t from_start = ~std::uint64_t{0} << start;
      const std::uint64_t ws_after = ws & from_start;
      const int stop = ws_after != 0 ? std::countr_zero(ws_after) : static_cast<int>(value.size());
      const std::uint64_t colon_after = colons & from_start;
      const int colon = colon_after != 0 ? std::countr_zero(colon_after) : 64;
      AddQName(p + start, colon < stop ? p + colon : nullptr, p + stop, limit);
      item_bytes = stop < 64 ? item_bytes & (~std::uint64_t{0} << stop) : 0;
    }
    e.types_count = static_cast<std::uint16_t>(type_count_ - e.types_begin);
    return true;
  }
#endif
  for (;;) {
    while (p < limit && IsWs(*p)) ++p;
    if (p == limit) break;
    if (type_count_ == kMaxTypesPerEnvelope) return Fail(ScanError::kTooManyTypes, at);
    const char* const item = p;
    const char* colon = nullptr;
    p = FindWsOrColon(p, limit, load_limit);
    while (p < limit && *p == ':') {  // the first ':' splits; later ones are part of the local name
      if (colon == nullptr) colon = p;
      p = FindWsOrColon(p + 1, limit, load_limit);
    }
    AddQName(item, colon, p, limit);
  }
  e.types_count = static_cast<std::uint16_t>(type_count_ - e.types_begin);
  return true;
}

// Appends the QName [item, item_end) of Types, split at colon (nullptr: no
// prefix), resolved against the bindings in scope. limit bounds reads.
inline void Pass::AddQName(const char* item, const char* colon, const char* item_end, const char* limit) {
  QName& qn = types_[type_count_++];
  if (colon == nullptr) {
    qn.prefix = std::string_view(item, 0);
    qn.local = std::string_view(item, static_cast<std::size_t>(item_end - item));
  } else {
    qn.prefix = std::string_view(item, static_cast<std::size_t>(colon - item));
    qn.local = std::string_view(colon + 1, static_cast<std::size_t>(item_end - (colon + 1)));
  }
  const Binding* b = Lookup(qn.prefix.data(), qn.prefix.size(), limit);
  if (b != nullptr && b->ns_class != NsClass::kUnbound) {
    qn.ns = b->uri;
  } else if (Is(qn.prefix, "xml")) {
    qn.ns = kNsXml;
  } else {
    qn.ns = {};  // unbound: tolerated, see the design note in scanner.h
  }
}

// ---------------------------------------------------------------------------
// SIMD dispatch.

std::atomic<ScannerSimd>& SimdChoice() {
  static std::atomic<ScannerSimd> choice{ScannerSimd::kAuto};
  return choice;
}

bool CpuHasAvx2() {
#if defined(ONVIF_SCANNER_AVX2)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
#else
  return false;
#endif
}

bool UseAvx2() {
  static const bool has_avx2 = CpuHasAvx2();
  return has_avx2 && SimdChoice().load(std::memory_order_relaxed) == ScannerSimd::kAuto;
}

// ---------------------------------------------------------------------------
// The shape cache (see "Shape cache" in scanner.h).
//
// A slot is accepted only when every byte is one the full scan copies into a
// field without any decision: no '<' or '&' (markup, references), no CR
// (decoding), no NUL or other control byte, no quote (it would end an
// attribute value); '>' and bytes >= 0x80 are refused too, to stay well
// inside what XML allows in text (without '>' no "]]>" can form; ']' itself
// is kept, as IPv6 XAddrs need it). Space, tab and LF are kept: they only
// matter to trimming, which the fast path repeats with TrimWs.
constexpr std::array<bool, 256> MakeSlotTable() {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x7F; ++c) table[c] = true;
  for (const char c : {'<', '>', '&', '"', '\''}) table[static_cast<unsigned char>(c)] = false;
  table['\t'] = table['\n'] = true;
  return table;
}
constexpr std::array<bool, 256> kSlotBytes = MakeSlotTable();

#if defined(__SSE2__)
// Bytes of x that may not be in a slot (kSlotBytes, 16 at a time).
ONVIF_HOT unsigned SlotStops(__m128i x) {
  // x + 1 > 0x20 (signed) holds exactly for 0x20..0x7E: 0x7F and bytes >=
  // 0x80 wrap to negative values or zero.
  const __m128i printable = _mm_cmpgt_epi8(_mm_add_epi8(x, Splat(1)), Splat(0x20));
  // '<' 0x3C and '>' 0x3E are the bytes with x | 2 == 0x3E; '&' 0x26 and
  // '\'' 0x27 those with x | 1 == 0x27.
  const __m128i markup = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(_mm_or_si128(x, Splat(2)), Splat('>')),
                   _mm_cmpeq_epi8(_mm_or_si128(x, Splat(1)), Splat('\''))),
      _mm_cmpeq_epi8(x, Splat('"')));
  const __m128i ws = _mm_or_si128(_mm_cmpeq_epi8(x, Splat('\t')), _mm_cmpeq_epi8(x, Splat('\n')));
  return ~MoveMask(_mm_or_si128(_mm_andnot_si128(markup, printable), ws)) & 0xFFFFu;
}
#endif

// First byte in [p, limit) that may not be in a slot, or limit. 16-byte
// loads may look past limit (the bits there are ignored) but never past
// load_end.
ONVIF_HOT const char* FindSlotEnd(const char* p, const char* limit, [[maybe_unused]] const char* load_end) {
#if defined(__SSE2__)
  while (p < limit && load_end - p >= 16) {
    const unsigned bits = SlotStops(Load128(p));
    if (bits != 0) {
      const char* const hit = p + std::countr_zero(bits);
      return hit < limit ? hit : limit;
    }
    p += 16;
  }
  if (p >= limit) return limit;
#endif
  while (p < limit && kSlotBytes[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

#if defined(ONVIF_SCANNER_AVX2)
// FindSlotEnd 32 bytes a step (slots run from a few bytes to hundreds).
[[gnu::noinline]] ONVIF_AVX2_TARGET const char* FindSlotEndAvx2(const char* p, const char* limit,
                                                                const char* load_end) {
  const __m256i one = _mm256_set1_epi8(1);
  const __m256i two = _mm256_set1_epi8(2);
  const __m256i space = _mm256_set1_epi8(0x20);
  const __m256i gt = _mm256_set1_epi8('>');
  const __m256i apos = _mm256_set1_epi8('\'');
  const __m256i quot = _mm256_set1_epi8('"');
  const __m256i tab = _mm256_set1_epi8('\t');
  const __m256i lf = _mm256_set1_epi8('\n');
  while (p < limit && load_end - p >= 32) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i printable = _mm256_cmpgt_epi8(_mm256_add_epi8(x, one), space);
    const __m256i markup = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(_mm256_or_si256(x, two), gt),
                                                           _mm256_cmpeq_epi8(_mm256_or_si256(x, one), apos)),
                                           _mm256_cmpeq_epi8(x, quot));
    const __m256i ws = _mm256_or_si256(_mm256_cmpeq_epi8(x, tab), _mm256_cmpeq_epi8(x, lf));
    const auto stops =
        ~static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_or_si256(_mm256_andnot_si256(markup, printable), ws)));
    if (stops != 0) {
      const char* const hit = p + std::countr_zero(stops);
      return hit < limit ? hit : limit;
    }
    p += 32;
  }
  return FindSlotEnd(p, limit, load_end);
}
#endif

// Constant segment i of a shape is [slots[i - 1].end, slots[i].begin) of the
// cached bytes (from 0 for the first, to the size for the last).
struct ShapeSlot {
  std::uint32_t begin;
  std::uint32_t end;
  char stop;  // the byte that ends it: '<', or the attribute's closing quote
  Text* text;  // where its trimmed value goes, or nullptr for a number:
  std::optional<std::uint64_t>* number;  // MetadataVersion, parsed as the full scan does
};

// A view into a constant segment: on a match it is moved by that segment's
// shift. view points into the Scanner's envelope or ShapeCache::seq.
struct Relocation {
  std::string_view* view;
  std::uint32_t offset;  // in the cached bytes (or in ShapeCache::decoded)
  std::uint32_t segment;  // kDecodedSegment: a copy of decoded text
};

// A view into decoded text (the arena, which the next full scan reuses) is
// kept as a copy in the shape.
constexpr std::uint32_t kDecodedSegment = ~std::uint32_t{0};

constexpr std::size_t kMaxRelocations = 7 + 4 * kMaxEntries + 3 * kMaxTypesPerEnvelope;

// The scanner's result arrays, which only Scanner may name.
struct Results {
  Envelope& envelope;
  std::array<Entry, kMaxEntries>& entries;
  std::size_t& entry_count;
  std::array<QName, kMaxTypesPerEnvelope>& types;
  std::size_t& type_count;
};

// Everything lives here from construction on: a hit or a rebuild never
// allocates.
struct ShapeCache {
  bool valid = false;
  std::uint32_t size = 0;
  std::array<char, kMaxEnvelopeBytes> bytes;
  std::uint32_t slot_count = 0;
  std::array<ShapeSlot, kMaxSlots> slots;
  std::uint32_t relocation_count = 0;
  std::array<Relocation, kMaxRelocations> relocations;

  // The cached result (Scanner names its arrays in a Results). Views into
  // constant segments are moved by the relocations, slot fields rewritten;
  // the rest is copied as it is.
  Envelope result;
  // AppSequence: whether its attributes were read, their Texts and, for
  // those not in a slot, the numbers the full scan parsed from them.
  bool app_sequence = false;
  std::array<Text, 3> seq_template;
  std::optional<std::uint64_t> instance_id;
  std::optional<std::uint64_t> message_number;
  bool instance_id_slot = false;
  bool message_number_slot = false;

  // Per match: each segment's shift (new offset minus cached offset), each
  // slot's new content, and the AppSequence Texts being rebuilt.
  std::array<std::ptrdiff_t, kMaxSlots + 1> shift;
  std::array<std::string_view, kMaxSlots> values;
  std::array<Text, 3> seq;
  std::array<bool, kMaxSlots> is_slot;  // scratch for Build
  // Decoded text the cached result points to (Types, namespaces).
  std::uint32_t decoded_used = 0;
  std::array<char, kMaxEnvelopeBytes> decoded;
};

// The result's fields and the used part of its arrays (AppSequence aside:
// the shape rebuilds it from the slots).
[[gnu::always_inline]] inline void CopyResult(const Results& from, const Results& to) {
  to.envelope.soap = from.envelope.soap;
  to.envelope.discovery = from.envelope.discovery;
  to.envelope.kind = from.envelope.kind;
  to.envelope.action = from.envelope.action;
  to.envelope.message_id = from.envelope.message_id;
  to.envelope.relates_to = from.envelope.relates_to;
  to.envelope.to = from.envelope.to;
  to.entry_count = from.entry_count;
  std::copy_n(from.entries.data(), from.entry_count, to.entries.data());
  to.type_count = from.type_count;
  std::copy_n(from.types.data(), from.type_count, to.types.data());
}

// Matches input against the shape; on success shift and values describe it.
// Reads only input and the shape.
bool MatchShape(std::string_view input, ShapeCache& shape, [[maybe_unused]] bool avx2) {
  const char* p = input.data();
  const char* const end = p + input.size();
  const char* const cached = shape.bytes.data();
  std::uint32_t from = 0;  // the current constant segment's start in cached
  for (std::uint32_t i = 0; i < shape.slot_count; ++i) {
    const ShapeSlot& slot = shape.slots[i];
    const std::size_t size = slot.begin - from;
    if (static_cast<std::size_t>(end - p) < size || std::memcmp(p, cached + from, size) != 0) return false;
    shape.shift[i] = (p - input.data()) - static_cast<std::ptrdiff_t>(from);
    p += size;
    const char* const limit = static_cast<std::size_t>(end - p) > kMaxSlotBytes ? p + kMaxSlotBytes + 1 : end;
#if defined(ONVIF_SCANNER_AVX2)
    const char* const slot_end = avx2 ? FindSlotEndAvx2(p, limit, end) : FindSlotEnd(p, limit, end);
#else
    const char* const slot_end = FindSlotEnd(p, limit, end);
#endif
    if (slot_end == limit || *slot_end != slot.stop) return false;
    shape.values[i] = std::string_view(p, static_cast<std::size_t>(slot_end - p));
    p = slot_end;
    from = slot.end;
  }
  const std::size_t size = shape.size - from;
  if (static_cast<std::size_t>(end - p) != size || std::memcmp(p, cached + from, size) != 0) return false;
  shape.shift[shape.slot_count] = (p - input.data()) - static_cast<std::ptrdiff_t>(from);
  return true;
}

// Writes the result for input, which MatchShape matched.
void ApplyShape(std::string_view input, ShapeCache& shape, const Results& cached, const Results& out) {
  Envelope& envelope = out.envelope;
  CopyResult(cached, out);
  shape.seq = shape.seq_template;
  for (std::uint32_t i = 0; i < shape.relocation_count; ++i) {
    const Relocation& r = shape.relocations[i];
    if (r.segment == kDecodedSegment) [[unlikely]] {
      *r.view = std::string_view(shape.decoded.data() + r.offset, r.view->size());
      continue;
    }
    *r.view = std::string_view(input.data() + (static_cast<std::ptrdiff_t>(r.offset) + shape.shift[r.segment]),
                               r.view->size());
  }
  for (std::uint32_t i = 0; i < shape.slot_count; ++i) {
    const ShapeSlot& slot = shape.slots[i];
    // The full scan's trimming (it trims only when an end is whitespace,
    // which gives the same view) and its number parse.
    const std::string_view value = TrimWs(shape.values[i]);
    if (slot.text != nullptr) {
      slot.text->raw = value;
    } else {
      *slot.number = ParseUint64(value);
    }
  }
  envelope.app_sequence.reset();
  if (shape.app_sequence && shape.seq[0].present && shape.seq[1].present) {
    const std::optional<std::uint64_t> instance = shape.instance_id_slot ? ParseUint64(shape.seq[0].raw) : shape.instance_id;
    const std::optional<std::uint64_t> message =
        shape.message_number_slot ? ParseUint64(shape.seq[1].raw) : shape.message_number;
    if (instance && message) envelope.app_sequence = AppSequence{*instance, *message, shape.seq[2]};
  }
}

// Builds the shape of input from its successful full scan (out, log). Leaves
// the shape invalid when something does not fit the model (it never should).
void BuildShape(std::string_view input, const SlotLog& log, ShapeCache& shape, const Results& out,
                const Results& cached, const ScanState& state, [[maybe_unused]] bool avx2) {
  shape.valid = false;
  shape.decoded_used = 0;
  std::memcpy(shape.bytes.data(), input.data(), input.size());
  shape.size = static_cast<std::uint32_t>(input.size());
  Envelope& envelope = out.envelope;
  const std::size_t fields = kSlotEntries + kSlotsPerEntry * out.entry_count;
  std::fill_n(shape.is_slot.data(), fields, false);

  // Slots, in input order. A logged field whose bytes a match would refuse
  // (or too long) stays constant, so that a resend of the same bytes hits.
  std::uint32_t n = 0;
  std::uint32_t previous_end = 0;
  for (std::uint32_t i = 0; i < log.count; ++i) {
    const LoggedSlot& logged = log.slots[i];
    if (logged.begin > logged.end || logged.end >= input.size() || logged.field >= fields) return;
    if (logged.begin < previous_end || (n > 0 && logged.begin == previous_end)) return;
    const char* const begin = input.data() + logged.begin;
    const char* const end = input.data() + logged.end;
    const char* const input_end = input.data() + input.size();
#if defined(ONVIF_SCANNER_AVX2)
    const char* const stop = avx2 ? FindSlotEndAvx2(begin, end, input_end) : FindSlotEnd(begin, end, input_end);
#else
    const char* const stop = FindSlotEnd(begin, end, input_end);
#endif
    if (logged.end - logged.begin > kMaxSlotBytes || stop != end) continue;
    ShapeSlot& slot = shape.slots[n++];
    slot = ShapeSlot{logged.begin, logged.end, *end, nullptr, nullptr};
    previous_end = logged.end;
    shape.is_slot[logged.field] = true;
    switch (logged.field) {
      case kSlotAction:
        slot.text = &envelope.action;
        break;
      case kSlotMessageId:
        slot.text = &envelope.message_id;
        break;
      case kSlotRelatesTo:
        slot.text = &envelope.relates_to;
        break;
      case kSlotTo:
        slot.text = &envelope.to;
        break;
      case kSlotInstanceId:
      case kSlotMessageNumber:
      case kSlotSequenceId:
        slot.text = &shape.seq[logged.field - kSlotInstanceId];
        break;
      default: {
        Entry& entry = out.entries[(logged.field - kSlotEntries) / kSlotsPerEntry];
        switch ((logged.field - kSlotEntries) % kSlotsPerEntry) {
          case kSlotAddress:
            slot.text = &entry.endpoint;
            break;
          case kSlotScopes:
            slot.text = &entry.scopes;
            break;
          case kSlotXAddrs:
            slot.text = &entry.xaddrs;
            break;
          default:
            slot.number = &entry.metadata_version;
            break;
        }
      }
    }
  }
  shape.slot_count = n;

  // The result, and a relocation for each view into the input outside the
  // slots or into decoded text (copied); a view of a constant is kept.
  CopyResult(out, cached);
  shape.app_sequence = log.app_sequence;
  shape.seq_template = {};  // the log's Texts are stale unless this scan read AppSequence
  if (log.app_sequence) shape.seq_template = {log.seq.instance_id, log.seq.message_number, log.seq.sequence_id};
  shape.instance_id = log.instance_id;
  shape.message_number = log.message_number;
  shape.instance_id_slot = shape.is_slot[kSlotInstanceId];
  shape.message_number_slot = shape.is_slot[kSlotMessageNumber];

  const auto base = reinterpret_cast<std::uintptr_t>(input.data());
  std::uint32_t count = 0;
  const auto relocate = [&](std::string_view* target) {
    const std::string_view view = *target;
    const auto at = reinterpret_cast<std::uintptr_t>(view.data());
    const auto arena = reinterpret_cast<std::uintptr_t>(state.arena.data());
    if (!view.empty() && at >= arena && at - arena < state.arena.size()) {
      // The next full scan reuses the arena: the shape keeps a copy.
      if (view.size() > shape.decoded.size() - shape.decoded_used) return false;
      std::memcpy(shape.decoded.data() + shape.decoded_used, view.data(), view.size());
      shape.relocations[count++] = Relocation{target, shape.decoded_used, kDecodedSegment};
      shape.decoded_used += static_cast<std::uint32_t>(view.size());
      return true;
    }
    if (at < base || at - base > input.size() || at - base + view.size() > input.size() ||
        view.data() == kNsXml.data()) {
      return true;
    }
    const auto offset = static_cast<std::uint32_t>(at - base);
    const auto view_end = static_cast<std::uint32_t>(offset + view.size());
    // The segment: the number of slots that end at or before the view.
    std::uint32_t lo = 0;
    std::uint32_t hi = n;
    while (lo < hi) {
      const std::uint32_t mid = (lo + hi) / 2;
      if (shape.slots[mid].end <= offset) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo < n && view_end > shape.slots[lo].begin) return false;  // overlaps a slot
    // An empty view on a slot's edge could belong to either side: refuse.
    if (view.empty() && ((lo < n && offset == shape.slots[lo].begin) || (lo > 0 && offset == shape.slots[lo - 1].end))) {
      return false;
    }
    shape.relocations[count++] = Relocation{target, offset, lo};
    return true;
  };
  const auto relocate_text = [&](Text& text, std::size_t field) {
    return (field < fields && shape.is_slot[field]) || relocate(&text.raw);
  };
  constexpr std::size_t kNoSlot = ~std::size_t{0};
  shape.seq = shape.seq_template;  // the AppSequence views are relocated there
  bool ok = relocate_text(envelope.action, kSlotAction) && relocate_text(envelope.message_id, kSlotMessageId) &&
            relocate_text(envelope.relates_to, kSlotRelatesTo) && relocate_text(envelope.to, kSlotTo);
  for (std::size_t k = 0; ok && k < 3; ++k) ok = relocate_text(shape.seq[k], kSlotInstanceId + k);
  for (std::size_t i = 0; ok && i < out.entry_count; ++i) {
    Entry& entry = out.entries[i];
    const std::size_t first = kSlotEntries + kSlotsPerEntry * i;
    ok = relocate_text(entry.endpoint, first + kSlotAddress) && relocate_text(entry.scopes, first + kSlotScopes) &&
         relocate_text(entry.xaddrs, first + kSlotXAddrs) && relocate_text(entry.match_by, kNoSlot);
  }
  for (std::size_t i = 0; ok && i < out.type_count; ++i) {
    QName& qname = out.types[i];
    ok = relocate(&qname.prefix) && relocate(&qname.ns) && relocate(&qname.local);
  }
  if (!ok) return;
  shape.relocation_count = count;
  shape.valid = true;
}

}  // namespace

struct Scanner::State : ScanState {
  ShapeCache shape;
};

void SetScannerSimdForTesting(ScannerSimd simd) { SimdChoice().store(simd, std::memory_order_relaxed); }

bool ScannerUsesAvx2() { return UseAvx2(); }

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

Scanner::Scanner() : Scanner(ScannerOptions{}) {}
Scanner::Scanner(ScannerOptions options) : state_(std::make_unique<State>()), shape_cache_(options.shape_cache) {}
Scanner::~Scanner() = default;

ScanResult Scanner::Scan(std::string_view datagram) {
  const Results results{envelope_, envelope_.entries_, envelope_.entry_count_, envelope_.types_,
                        envelope_.type_count_};
  Envelope& shaped = state_->shape.result;
  const Results cached{shaped, shaped.entries_, shaped.entry_count_, shaped.types_, shaped.type_count_};
  bool rebuild = false;
  if (shape_cache_) {
    ShapeCache& shape = state_->shape;
    if (shape.valid && datagram.size() <= kMaxEnvelopeBytes && MatchShape(datagram, shape, UseAvx2())) {
      ApplyShape(datagram, shape, cached, results);
      ++shape_hits_;
      ++shape_life_hits_;
      misses_in_a_row_ = 0;
      return {};
    }
    ++shape_misses_;
    if (shape.valid) ++shape_life_misses_;
    ++misses_in_a_row_;
    // The shape does not depend on the full scan's state (BuildShape copies
    // decoded text out of the arena), so it stays until a rebuild replaces it.
    rebuild = !shape.valid || misses_in_a_row_ >= rebuild_after_;
    state_->log.on = rebuild;
    state_->log.count = 0;
    state_->log.app_sequence = false;
  }
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
            envelope_.type_count_, UseAvx2());
  const ScanResult result = pass.Run();
  if (rebuild && result.ok()) {
    ShapeCache& shape = state_->shape;
    if (shape.valid) {
      // A shape that missed more than it hit was the wrong one to keep:
      // wait longer before the next rebuild.
      rebuild_after_ = shape_life_hits_ < shape_life_misses_ ? std::min(2 * rebuild_after_, kMaxShapeRebuildMisses)
                                                             : kShapeRebuildMisses;
    }
    BuildShape(datagram, state_->log, shape, results, cached, *state_, UseAvx2());
    ++shape_builds_;
    shape_life_hits_ = 0;
    shape_life_misses_ = 0;
    misses_in_a_row_ = 0;
  }
  return result;
}

}  // namespace onvif::wsd
