// Tests of the scanner's shape cache (see "Shape cache" in scanner.h): every
// scan by a Scanner with the cache must equal, view positions included, the
// scan of the same bytes by a Scanner without it, whatever came before. Each
// case scans some "A" (which leaves its shape in the cache) and then a
// variant, with both scanners, and compares DumpScan; hits are checked where
// the variant only changes slot content the cache accepts, misses where it
// changes a constant byte or puts in a slot what the cache must refuse.
// Every input sits in a heap block of exactly its size, so ASan sees any
// read past its end.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "engine/wsd/builder.h"
#include "engine/wsd/constants.h"
#include "engine/wsd/scanner.h"
#include "engine/wsd/scanner_simd.h"
#include "tests/wsd/scan_dump.h"
#include "tests/wsd/storm_variants.h"

namespace onvif::wsd {
namespace {

namespace fs = std::filesystem;
using ::onvif::testing::DumpScan;

struct CorpusFile {
  std::string name;
  std::string bytes;
};

std::vector<CorpusFile> ValidCorpus() {
  std::vector<CorpusFile> files;
  for (const auto& entry : fs::directory_iterator(fs::path(ONVIF_CORPUS_DIR) / "valid")) {
    std::ifstream in(entry.path(), std::ios::binary);
    files.push_back({entry.path().filename().string(), std::string(std::istreambuf_iterator<char>(in), {})});
  }
  std::sort(files.begin(), files.end(), [](const CorpusFile& a, const CorpusFile& b) { return a.name < b.name; });
  return files;
}

// The bytes the cache accepts in a slot (mirrors kSlotBytes in scanner.cc).
bool SlotByte(char c) {
  if (c == '\t' || c == '\n') return true;
  if (c < 0x20 || c > 0x7E) return false;
  return c != '<' && c != '>' && c != '&' && c != '"' && c != '\'';
}

bool PlainSlot(std::string_view s) { return std::all_of(s.begin(), s.end(), SlotByte); }

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string Replace(std::string_view s, std::size_t at, std::size_t size, std::string_view with) {
  std::string out(s.substr(0, at));
  out.append(with);
  out.append(s.substr(at + size));
  return out;
}

// A place in A where a slot's value sits: [at, at + size) is the trimmed
// value, [content_at, content_at + content_size) everything between the tags
// or quotes. expect_slot: the cache must treat it as a slot (it is an
// extracted field the cold scan says needed no decoding, with plain bytes).
struct Place {
  std::string what;
  std::size_t at;
  std::size_t size;
  std::size_t content_at;
  std::size_t content_size;
  bool expect_slot;
  bool number;
};

Place MakePlace(std::string what, std::string_view a, std::size_t at, std::size_t size, bool expect_slot, bool number) {
  std::size_t b = at;
  std::size_t e = at + size;
  while (b > 0 && IsWs(a[b - 1])) --b;
  while (e < a.size() && IsWs(a[e])) ++e;
  const bool plain = PlainSlot(a.substr(b, e - b));
  return Place{std::move(what), at, size, b, e - b, expect_slot && plain, number};
}

// Places of A's slot candidates: the Texts the cold scan extracted without
// decoding (known slots), and the AppSequence number attributes and
// MetadataVersion contents found by searching the bytes (perhaps not the
// extracted ones, so nothing is expected of them but equal results).
std::vector<Place> Places(std::string_view a) {
  std::vector<Place> places;
  Scanner cold(ScannerOptions{.shape_cache = false});
  if (!cold.Scan(a).ok()) return places;
  const Envelope& e = cold.envelope();
  const auto text = [&](std::string what, const Text& t) {
    if (!t.present || t.needs_decoding || t.raw.empty()) return;
    places.push_back(MakePlace(std::move(what), a, static_cast<std::size_t>(t.raw.data() - a.data()), t.raw.size(),
                               true, false));
  };
  text("action", e.action);
  text("message_id", e.message_id);
  text("relates_to", e.relates_to);
  text("to", e.to);
  if (e.app_sequence) text("sequence_id", e.app_sequence->sequence_id);
  for (const Entry& entry : e.entries()) {
    text("endpoint", entry.endpoint);
    text("scopes", entry.scopes);
    text("xaddrs", entry.xaddrs);
  }
  for (const std::string_view name : {"InstanceId", "MessageNumber", "SequenceId"}) {
    for (std::size_t at = a.find(name); at != std::string_view::npos; at = a.find(name, at + 1)) {
      std::size_t p = at + name.size();
      while (p < a.size() && IsWs(a[p])) ++p;
      if (p == a.size() || a[p] != '=') continue;
      ++p;
      while (p < a.size() && IsWs(a[p])) ++p;
      if (p == a.size() || (a[p] != '"' && a[p] != '\'')) continue;
      const std::size_t close = a.find(a[p], p + 1);
      if (close == std::string_view::npos) continue;
      places.push_back(MakePlace(std::string(name), a, p + 1, close - p - 1, false, name != "SequenceId"));
    }
  }
  for (std::size_t at = a.find("MetadataVersion>"); at != std::string_view::npos;
       at = a.find("MetadataVersion>", at + 1)) {
    const std::size_t lt = a.rfind('<', at);
    if (lt == std::string_view::npos || a[lt + 1] == '/') continue;
    const std::size_t begin = at + 16;
    const std::size_t end = a.find('<', begin);
    if (end == std::string_view::npos) continue;
    places.push_back(MakePlace("metadata_version", a, begin, end - begin, false, true));
  }
  return places;
}

// Every case runs with both copies of the SIMD loops (the slot search has
// an AVX2 copy too).
class ShapeCacheTest : public ::testing::TestWithParam<ScannerSimd> {
 protected:
  void SetUp() override { SetScannerSimdForTesting(GetParam()); }
  void TearDown() override { SetScannerSimdForTesting(ScannerSimd::kAuto); }

  // Scans xml (in a heap block of exactly its size) with both scanners and
  // expects the same result; returns whether the cached scanner hit.
  bool ScanBoth(std::string_view xml, const std::string& what) {
    std::unique_ptr<char[]> block(new char[xml.empty() ? 1 : xml.size()]);
    if (!xml.empty()) std::memcpy(block.get(), xml.data(), xml.size());
    const std::string_view input(block.get(), xml.size());
    const std::uint64_t hits = cached_.shape_hits();
    const std::uint64_t misses = cached_.shape_misses();
    const ScanResult got = cached_.Scan(input);
    const std::string got_dump = DumpScan(cached_, got, input);
    const ScanResult want = cold_.Scan(input);
    const std::string want_dump = DumpScan(cold_, want, input);
    EXPECT_EQ(got_dump, want_dump) << what;
    const bool hit = cached_.shape_hits() != hits;
    EXPECT_EQ(hits + misses + 1, cached_.shape_hits() + cached_.shape_misses());
    if (hit) {
      EXPECT_TRUE(got.ok()) << what;
    }
    return hit;
  }

  // Scans xml until the cached scanner has its shape (a rebuild waits for
  // misses in a row, see kShapeRebuildMisses): true once it hits.
  bool Prime(std::string_view xml, const std::string& what) {
    for (std::uint32_t i = 0; i <= kMaxShapeRebuildMisses + 1; ++i) {
      if (ScanBoth(xml, what)) return true;
    }
    return false;
  }

  Scanner cached_;
  Scanner cold_{ScannerOptions{.shape_cache = false}};
};

std::string Uuid(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 36; ++i) out += (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : kHex[rng() % 16];
  return out;
}

// A storm of one model: distinct ids, scopes and xaddrs of different
// lengths, metadata versions and AppSequence values, one shape.
TEST_P(ShapeCacheTest, StormOfOneModelHitsAndMatchesColdScans) {
  std::mt19937_64 rng(7);
  constexpr int kCount = 400;
  for (int i = 0; i < kCount; ++i) {
    DeviceDescription device;
    device.endpoint = "urn:uuid:" + Uuid(rng);
    device.types = {{std::string(kNsOnvifNetwork), std::string(kTypeNetworkVideoTransmitter)},
                    {std::string(kNsOnvifDevice), std::string(kTypeDevice)}};
    device.scopes = {"onvif://www.onvif.org/type/video_encoder", "onvif://www.onvif.org/name/Camera-" + std::to_string(i),
                     "onvif://www.onvif.org/location/room/" + std::string(i % 17, 'r')};
    for (int k = 0; k < i % 4; ++k) device.scopes.push_back("onvif://www.onvif.org/extra/" + std::to_string(k * i));
    device.xaddrs = {"http://10." + std::to_string(i % 7) + "." + std::to_string(i / 3) + "." + std::to_string(i % 250 + 1) +
                     "/onvif/device_service"};
    if (i % 5 == 0) device.xaddrs.push_back("http://[fe80::" + std::to_string(i) + "]/onvif/device_service");
    device.metadata_version = i % 11 == 0 ? UINT64_MAX : static_cast<std::uint64_t>(i) * 977;
    const AppSequenceSpec sequence{.instance_id = 1000u + static_cast<std::uint64_t>(i) * i,
                                   .sequence_id = "urn:uuid:" + Uuid(rng),
                                   .message_number = static_cast<std::uint64_t>(i)};
    const std::string message_id = "urn:uuid:" + Uuid(rng);
    const std::string relates_to = "uuid:" + Uuid(rng).substr(0, 8 + i % 20);
    const std::string xml = BuildProbeMatches(message_id, relates_to, sequence, std::span<const DeviceDescription>(&device, 1));
    ScanBoth(xml, "camera " + std::to_string(i) + ":\n" + xml);
  }
  EXPECT_GE(cached_.shape_hits(), static_cast<std::uint64_t>(kCount - 1));
  EXPECT_EQ(cached_.shape_hits() + cached_.shape_misses(), static_cast<std::uint64_t>(kCount));
}

TEST_P(ShapeCacheTest, StormVariantsOfTheVendorCaptures) {
  for (const std::string name : {"onvif_probematch", "axis_probematch", "hikvision_probematch"}) {
    std::ifstream in(fs::path(ONVIF_CORPUS_DIR) / "valid" / (name + ".xml"), std::ios::binary);
    const std::string bytes(std::istreambuf_iterator<char>(in), {});
    const std::vector<std::string> variants = onvif::testing::StormVariants(bytes, 64);
    ASSERT_NE(variants[0], variants[1]) << name;
    const std::uint64_t before = cached_.shape_hits();
    for (const std::string& v : variants) ScanBoth(v, name + ":\n" + v);
    // A new model takes over after kShapeRebuildMisses misses in a row.
    EXPECT_GE(cached_.shape_hits() - before, variants.size() - kShapeRebuildMisses) << name;
  }
}

TEST_P(ShapeCacheTest, CorpusVariantsMatchColdScans) {
  std::size_t expected_hits = 0;
  std::size_t other_hits = 0;
  for (const CorpusFile& file : ValidCorpus()) {
    const std::string& a = file.bytes;
    const std::string name = file.name;
    // (a) the same bytes again, from another buffer, until the shape is
    // this file's.
    const bool shaped = Prime(a, name + " copy");
    EXPECT_TRUE(shaped) << name;

    // (b) a constant byte changed: the first letter of tag names.
    for (std::size_t at = a.find('<'), n = 0; at != std::string::npos && n < 12; at = a.find('<', at + 1)) {
      std::size_t p = at + 1 + (a[at + 1] == '/' ? 1 : 0);
      if (p >= a.size() || !std::isalpha(static_cast<unsigned char>(a[p]))) continue;
      ++n;
      ScanBoth(a, name);
      EXPECT_FALSE(ScanBoth(Replace(a, p, 1, a[p] == 'Q' ? "q" : "Q"), name + " byte " + std::to_string(p))) << name;
    }

    const std::vector<Place> places = Places(a);
    for (const Place& place : places) {
      const std::string where = name + " " + place.what + " at " + std::to_string(place.at);
      const auto variant = [&](std::string_view value, const std::string& how, bool expect_hit) {
        ScanBoth(a, name);
        const std::string v = Replace(a, place.at, place.size, value);
        const bool hit = ScanBoth(v, where + " " + how + ":\n" + v);
        if (shaped && expect_hit && place.expect_slot) {
          EXPECT_TRUE(hit) << where << " " << how;
          ++expected_hits;
        } else if (hit) {
          ++other_hits;
        }
        if (!expect_hit) {
          EXPECT_FALSE(hit) << where << " " << how;
        }
      };
      const std::string_view value = std::string_view(a).substr(place.at, place.size);
      const std::size_t half = place.size / 2;
      // (c) longer and shorter.
      variant(std::string(value.substr(0, half)) + "Zz9-." + std::string(value.substr(half)), "longer", true);
      if (!value.empty()) {
        variant(std::string(value.substr(0, half)) + std::string(value.substr(half + 1)), "shorter", true);
      }
      variant(std::string(kMaxSlotBytes - 10, 'x'), "long", place.content_size - place.size + kMaxSlotBytes - 10 <= kMaxSlotBytes);
      variant(std::string(kMaxSlotBytes + 1, 'x'), "too long", false);
      // (d) content the cache must refuse.
      for (const std::string_view bad :
           {"a&amp;b", "<![CDATA[x]]>", "a<!-- c -->b", "<x/>", "a\rb", "caf\xC3\xA9", "a]]>b", "a&#x41;", "a\"b",
            "a'b", "a\0b", "<", "&", "a>b", "\x01"}) {
        variant(std::string(bad.data(), bad == "a\0b" ? 3 : bad.size()), "bad " + std::string(bad), false);
      }
      // (f) whitespace-only and empty contents (of the whole content).
      for (const std::string_view ws : {"", " ", " \t\n ", "\n  x  \t", "\t"}) {
        ScanBoth(a, name);
        const std::string v = Replace(a, place.content_at, place.content_size, ws);
        const bool hit = ScanBoth(v, where + " whitespace '" + std::string(ws) + "':\n" + v);
        if (shaped && place.expect_slot) {
          EXPECT_TRUE(hit) << where << " whitespace";
        }
      }
      // (g) numbers that overflow or are not numbers.
      if (place.number || place.what == "message_id") {
        for (const std::string_view n :
             {"0", "007", "18446744073709551615", "18446744073709551616", "99999999999999999999999", "12a", "-1",
              "+1", " 7 ", "1 2", "0x10", "", "\t42\n"}) {
          variant(n, "number " + std::string(n), true);
        }
      }
    }

    // (e) every truncation of a variant (the first slot made longer).
    std::string v = a;
    if (!places.empty()) v = Replace(a, places[0].at, 0, "Zz9-");
    for (std::size_t size = 0; size < v.size(); ++size) {
      ScanBoth(a, name);
      EXPECT_FALSE(ScanBoth(std::string_view(v).substr(0, size), name + " truncated at " + std::to_string(size)));
    }
    ScanBoth(a, name);
    EXPECT_EQ(ScanBoth(v, name + " untruncated"), shaped && (places.empty() || places[0].expect_slot)) << name;
  }
  EXPECT_GT(expected_hits, 200u);
  std::printf("shape cache: %zu expected hits, %zu other hits\n", expected_hits, other_hits);
}

// Changing shapes back and forth: every corpus file after every other one.
TEST_P(ShapeCacheTest, EveryCorpusPairMatchesColdScans) {
  const std::vector<CorpusFile> files = ValidCorpus();
  for (const CorpusFile& a : files) {
    for (const CorpusFile& b : files) {
      const bool shaped = Prime(a.bytes, a.name);
      const bool hit = ScanBoth(b.bytes, a.name + " then " + b.name);
      EXPECT_EQ(hit, shaped && a.bytes == b.bytes) << a.name << " then " << b.name;
    }
  }
}

const std::string kSoapDiscoveryHead =
    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
    "xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\">";

// A result with a view into decoded text (here a Types namespace with a
// reference) keeps a copy of it in the shape: the full scans in between,
// which reuse the decode arena, do not disturb a hit.
TEST_P(ShapeCacheTest, DecodedNamespaceIsKeptInTheShape) {
  const std::string a = kSoapDiscoveryHead + "<s:Body><d:Hello xmlns:t=\"urn:first&amp;one\"><d:Types>t:A</d:Types>"
                               "<d:XAddrs>http://1</d:XAddrs></d:Hello></s:Body></s:Envelope>";
  const std::string broken = kSoapDiscoveryHead + "<s:Body><d:Hello xmlns:t=\"urn:OTHER&amp;two\"><d:Types>t:A</d:Types></d:Bad>";
  const std::string other = kSoapDiscoveryHead + "<s:Body><d:Hello xmlns:t=\"urn:OTHER&amp;two\"><d:Types>t:B</d:Types>"
                                   "</d:Hello></s:Body></s:Envelope>";
  EXPECT_FALSE(ScanBoth(a, "a"));
  EXPECT_TRUE(ScanBoth(a, "a again"));
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(ScanBoth(broken, "broken"));
    EXPECT_TRUE(ScanBoth(Replace(a, a.find("http://1"), 8, "http://2" + std::to_string(i)), "a after broken"));
    EXPECT_FALSE(ScanBoth(other, "other"));
    EXPECT_TRUE(ScanBoth(a, "a after other"));
  }
  EXPECT_EQ(cached_.envelope().types(cached_.envelope().entries()[0])[0].ns, "urn:first&one");
}

// A failed scan (or any miss) leaves the shape in place: the next datagram
// of the cached shape still hits, with the exact result.
TEST_P(ShapeCacheTest, MissesKeepTheShape) {
  const std::string a = kSoapDiscoveryHead + "<s:Body><d:Hello xmlns:t=\"urn:first\"><d:Types>t:A</d:Types>"
                               "<d:XAddrs>http://1</d:XAddrs></d:Hello></s:Body></s:Envelope>";
  const std::string broken = kSoapDiscoveryHead + "<s:Body><d:Hello xmlns:t=\"urn:OTHER\"><d:Types>t:A</d:Types></d:Bad>";
  const std::string other = kSoapDiscoveryHead + "<s:Body><d:Bye xmlns:t=\"urn:first\"><d:Types>t:A</d:Types>"
                                   "</d:Bye></s:Body></s:Envelope>";
  EXPECT_FALSE(ScanBoth(a, "a"));
  EXPECT_TRUE(ScanBoth(a, "a again"));
  EXPECT_FALSE(ScanBoth(broken, "broken"));
  EXPECT_TRUE(ScanBoth(a, "a after broken"));
  EXPECT_FALSE(ScanBoth(other, "another message"));
  EXPECT_TRUE(ScanBoth(Replace(a, a.find("http://1"), 8, "http://22"), "a, other xaddrs"));
  EXPECT_EQ(cached_.shape_builds(), 1u);
}

// The rebuild policy: a new model that keeps coming takes over after
// kShapeRebuildMisses misses in a row; two models interleaved keep one shape
// (half the traffic hits); a mix that never repeats rebuilds ever more
// rarely. Results stay exact throughout (ScanBoth).
TEST_P(ShapeCacheTest, RebuildPolicy) {
  std::mt19937_64 rng(7);
  const auto message = [&](int model) {
    // Models differ in a constant byte: the Bye's own namespace prefix.
    const std::string prefix = std::string(1, static_cast<char>('a' + model));
    return "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:" + prefix +
           "=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" xmlns:w=\"http://schemas.xmlsoap.org/ws/2004/08/"
           "addressing\"><s:Body><" + prefix + ":Bye><w:EndpointReference><w:Address>urn:uuid:" + Uuid(rng) +
           "</w:Address></w:EndpointReference></" + prefix + ":Bye></s:Body></s:Envelope>";
  };
  // One model, then another that keeps coming.
  for (int i = 0; i < 10; ++i) ScanBoth(message(0), "model 0");
  EXPECT_EQ(cached_.shape_builds(), 1u);
  EXPECT_FALSE(ScanBoth(message(1), "model 1, first"));
  EXPECT_FALSE(ScanBoth(message(1), "model 1, second: rebuilt"));
  EXPECT_TRUE(ScanBoth(message(1), "model 1, third"));
  EXPECT_EQ(cached_.shape_builds(), 2u);
  // Two models interleaved: one keeps the shape.
  int hits = 0;
  for (int i = 0; i < 200; ++i) hits += ScanBoth(message(i % 2), "interleaved");
  EXPECT_GE(hits, 95);
  EXPECT_LE(cached_.shape_builds(), 3u);
  // Eight models at random: rebuilds back off.
  const std::uint64_t builds_before = cached_.shape_builds();
  for (int i = 0; i < 800; ++i) ScanBoth(message(static_cast<int>(rng() % 8)), "mixed");
  EXPECT_LT(cached_.shape_builds() - builds_before, 60u);
}

INSTANTIATE_TEST_SUITE_P(Simd, ShapeCacheTest, ::testing::Values(ScannerSimd::kAuto, ScannerSimd::kSse2),
                         [](const ::testing::TestParamInfo<ScannerSimd>& info) {
                           return info.param == ScannerSimd::kAuto ? std::string("Auto") : std::string("Sse2");
                         });

TEST(ShapeCacheControlTest, OffNeverHitsOrCounts) {
  const std::string xml = BuildBye("urn:uuid:1", AppSequenceSpec{.instance_id = 1, .message_number = 2}, "urn:uuid:2");
  Scanner off(ScannerOptions{.shape_cache = false});
  Scanner on;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(off.Scan(xml).ok());
    EXPECT_TRUE(on.Scan(xml).ok());
  }
  EXPECT_EQ(off.shape_hits(), 0u);
  EXPECT_EQ(off.shape_misses(), 0u);
  EXPECT_EQ(on.shape_hits(), 2u);
  EXPECT_EQ(on.shape_misses(), 1u);
}

}  // namespace
}  // namespace onvif::wsd
