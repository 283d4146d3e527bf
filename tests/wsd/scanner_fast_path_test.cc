// Tests of the scanner's fast paths (engine/wsd/scanner.cc): the run of
// namespace declarations on a root tag, plain attributes, Types split by one
// classification, the wide field-text search and the prolog search. Each
// fast path hands anything unusual to the general code, so these tests walk
// the edges: names and values of every length across the 16-, 32- and
// 64-byte steps, declarations near the end of the input, and spellings the
// fast paths must leave alone. Every test runs with both copies of the SIMD
// loops (AVX2 when the CPU has it, and SSE2), and every input sits in a heap
// block of exactly its size so that ASan sees any read past the end.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/wsd/scanner.h"
#include "engine/wsd/scanner_simd.h"

namespace onvif::wsd {
namespace {

using namespace std::string_literals;

namespace fs = std::filesystem;

constexpr std::string_view kS12 = "http://www.w3.org/2003/05/soap-envelope";
constexpr std::string_view kA04 = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
constexpr std::string_view kD05 = "http://schemas.xmlsoap.org/ws/2005/04/discovery";

// The root's usual declarations (s, a, d), one space apart as the fast path
// expects.
std::string UsualDecls() {
  return " xmlns:s=\"" + std::string(kS12) + "\" xmlns:a=\"" + std::string(kA04) + "\" xmlns:d=\"" +
         std::string(kD05) + "\"";
}

// An envelope whose root carries root_attrs (after the usual declarations).
std::string Env(std::string_view root_attrs, std::string_view header, std::string_view body) {
  return "<s:Envelope" + UsualDecls() + std::string(root_attrs) + "><s:Header>" + std::string(header) +
         "</s:Header><s:Body>" + std::string(body) + "</s:Body></s:Envelope>";
}

std::string Match(std::string_view inner) {
  return "<d:ProbeMatches><d:ProbeMatch>" + std::string(inner) + "</d:ProbeMatch></d:ProbeMatches>";
}

// Concatenation by append (GCC 12 at -O3 warns, wrongly, about operator+
// chains on strings: -Wrestrict).
void Append(std::string& out, std::initializer_list<std::string_view> parts) {
  for (const std::string_view part : parts) out.append(part.data(), part.size());
}

std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  Append(out, parts);
  return out;
}

std::string Value(const Text& text) {
  std::string scratch(text.raw.size(), '\0');
  return std::string(text.Get(scratch));
}

// A valid NCName of n bytes using every kind of name character.
std::string Prefix(std::size_t n) {
  static constexpr std::string_view kChars = "pQ_9-.zA7bY";
  std::string out = "p";
  while (out.size() < n) out += kChars[out.size() % kChars.size()];
  return out;
}

// Everything a scan yields, as text, so that two scans compare with ==.
std::string Dump(const Scanner& scanner, const ScanResult& r, std::string_view input) {
  std::string out = std::string(ScanErrorName(r.error)) + "@" + std::to_string(r.offset);
  if (!r.ok()) return out;
  const Envelope& e = scanner.envelope();
  const auto text = [&](const Text& t) {
    if (!t.present) return std::string("-");
    return "[" + std::to_string(t.raw.data() - input.data()) + "+" + std::to_string(t.raw.size()) +
           (t.needs_decoding ? "d]" : "]") + Value(t);
  };
  out += "|" + std::to_string(static_cast<int>(e.soap)) + std::to_string(static_cast<int>(e.discovery)) +
         std::to_string(static_cast<int>(e.kind)) + "|" + text(e.action) + "|" + text(e.message_id) + "|" +
         text(e.relates_to) + "|" + text(e.to);
  if (e.app_sequence) {
    out += "|seq" + std::to_string(e.app_sequence->instance_id) + "," +
           std::to_string(e.app_sequence->message_number) + text(e.app_sequence->sequence_id);
  }
  for (const Entry& entry : e.entries()) {
    out += "|E" + text(entry.endpoint) + text(entry.scopes) + text(entry.match_by) + text(entry.xaddrs) +
           (entry.metadata_version ? std::to_string(*entry.metadata_version) : "-") + (entry.has_types ? "T" : "");
    for (const QName& q : e.types(entry)) {
      Append(out, {"(", q.prefix, "|", q.ns, "|", q.local, ")"});
    }
  }
  return out;
}

class FastPathTest : public ::testing::TestWithParam<ScannerSimd> {
 protected:
  void SetUp() override { SetScannerSimdForTesting(GetParam()); }
  void TearDown() override { SetScannerSimdForTesting(ScannerSimd::kAuto); }

  // Scans a copy of xml in a block of exactly its size (kept until the next
  // Scan, as the views need).
  ScanResult Scan(std::string_view xml) {
    buffer_.reset(new char[xml.empty() ? 1 : xml.size()]);
    if (!xml.empty()) std::memcpy(buffer_.get(), xml.data(), xml.size());
    input_ = std::string_view(buffer_.get(), xml.size());
    return scanner_.Scan(input_);
  }
  const Envelope& env() const { return scanner_.envelope(); }
  std::vector<std::string> Types() const {
    std::vector<std::string> out;
    for (const QName& q : env().types(env().entries()[0])) {
      out.push_back(Cat({"{", q.ns, "}", q.local}));
    }
    return out;
  }
  void ExpectError(std::string_view xml, ScanError error, std::size_t offset) {
    const ScanResult r = Scan(xml);
    EXPECT_EQ(ScanErrorName(r.error), ScanErrorName(error)) << xml;
    EXPECT_EQ(r.offset, offset) << xml;
  }

  Scanner scanner_;
  std::unique_ptr<char[]> buffer_;
  std::string_view input_;
};

// ---------------------------------------------------------------------------
// Namespace declarations on the root.

TEST_P(FastPathTest, DeclarationPrefixesOfEveryLength) {
  for (std::size_t n = 1; n <= 40; ++n) {
    const std::string p = Prefix(n);
    const std::string uri = "urn:example:" + std::to_string(n);
    const std::string xml =
        Env(" xmlns:" + p + "=\"" + uri + "\"", "", Match("<d:Types>" + p + ":Thing d:Other</d:Types>"));
    ASSERT_TRUE(Scan(xml).ok()) << xml;
    EXPECT_EQ(Types(), (std::vector<std::string>{"{" + uri + "}Thing", "{" + std::string(kD05) + "}Other"})) << n;
  }
}

TEST_P(FastPathTest, ManyDeclarationsInOneRun) {
  std::string decls;
  std::string types;
  std::vector<std::string> expected;
  for (std::size_t n = 1; n <= 30; ++n) {
    const std::string p = Prefix(n);
    const std::string uri = "urn:x:" + std::string(n * 3 % 61, 'u');
    decls += " xmlns:" + p + "=\"" + uri + "\"";
    types += " " + p + ":T" + std::to_string(n);
    expected.push_back("{" + uri + "}T" + std::to_string(n));
  }
  // Declared first, before the usual ones, so that the run starts with them.
  const std::string xml = "<s:Envelope" + decls + UsualDecls() + "><s:Body>" +
                          Match("<d:Types>" + types + "</d:Types>") + "</s:Body></s:Envelope>";
  const ScanResult r = Scan(xml);
  ASSERT_TRUE(r.ok()) << ScanErrorName(r.error);
  EXPECT_EQ(Types(), expected);
}

TEST_P(FastPathTest, DeclarationValuesAroundTheWindow) {
  // The run finds the closing quote within 64 bytes of the prefix; longer
  // URIs go to the general path. Lengths on both sides, with prefixes of 1
  // and 8 bytes.
  for (const std::string p : {"q", "qqqqqqqq"}) {
    for (std::size_t n = 0; n <= 100; ++n) {
      const std::string uri = Cat({"u:", std::string(n, 'x')}).substr(0, n);
      const std::string xml = Env(Cat({" xmlns:", p, "=\"", uri, "\" xmlns:z=\"urn:z\""}), "",
                                  Match(Cat({"<d:Types>", p, ":A z:B</d:Types>"})));
      ASSERT_TRUE(Scan(xml).ok()) << xml;
      // An empty URI un-declares the prefix: the QName gets no namespace.
      EXPECT_EQ(Types(), (std::vector<std::string>{Cat({"{", uri, "}A"}), "{urn:z}B"})) << n;
    }
  }
}

TEST_P(FastPathTest, DefaultNamespaceDeclarations) {
  const std::string xml = "<Envelope xmlns=\"" + std::string(kS12) + "\" xmlns:d=\"" + std::string(kD05) +
                          "\"><Body>" + Match("<d:Types>X</d:Types>") + "</Body></Envelope>";
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(Types(), (std::vector<std::string>{"{" + std::string(kS12) + "}X"}));
  ExpectError("<Envelope xmlns=\"" + std::string(kS12) + "\" xmlns=\"x\"><Body/></Envelope>", ScanError::kSyntax,
              58);
}

TEST_P(FastPathTest, SpellingsLeftToTheGeneralPath) {
  const auto types_of = [&](std::string_view decl) -> std::vector<std::string> {
    const std::string xml = Env(decl, "", Match("<d:Types>q:A</d:Types>"));
    const ScanResult r = Scan(xml);
    if (!r.ok()) return {std::string(ScanErrorName(r.error))};
    return Types();
  };
  EXPECT_EQ(types_of("  xmlns:q=\"urn:q\""), std::vector<std::string>{"{urn:q}A"});
  EXPECT_EQ(types_of("\txmlns:q=\"urn:q\""), std::vector<std::string>{"{urn:q}A"});
  EXPECT_EQ(types_of(" xmlns:q = \"urn:q\""), std::vector<std::string>{"{urn:q}A"});
  EXPECT_EQ(types_of(" xmlns:q='urn:q'"), std::vector<std::string>{"{urn:q}A"});
  EXPECT_EQ(types_of(" xmlns:q='urn:\"q\"'"), std::vector<std::string>{"{urn:\"q\"}A"});
  EXPECT_EQ(types_of(" xmlns:q=\"urn:a&amp;b\""), std::vector<std::string>{"{urn:a&b}A"});
  EXPECT_EQ(types_of(" xmlns:q=\"urn:a&#x41;b\""), std::vector<std::string>{"{urn:aAb}A"});
  EXPECT_EQ(types_of(" xmlns:q=\"urn: q\""), std::vector<std::string>{"{urn: q}A"});
  // Long URIs: the closing quote is past the window.
  const std::string long_uri = "urn:" + std::string(200, 'l');
  EXPECT_EQ(types_of(" xmlns:q=\"" + long_uri + "\" xmlns:r=\"urn:r\""),
            std::vector<std::string>{"{" + long_uri + "}A"});
}

TEST_P(FastPathTest, DeclarationErrors) {
  const std::string head = "<s:Envelope" + UsualDecls();
  const std::size_t at = head.size();  // the space before the next attribute
  ExpectError(head + " xmlns:q=\"a<b\"><s:Body/></s:Envelope>", ScanError::kSyntax, at + 11);
  ExpectError(head + " xmlns:q=\"ab\0c\"><s:Body/></s:Envelope>"s, ScanError::kSyntax, at + 12);
  ExpectError(head + " xmlns:q=\"a&bogus;\"><s:Body/></s:Envelope>", ScanError::kBadReference, at + 11);
  ExpectError(head + " xmlns:q/r=\"x\"><s:Body/></s:Envelope>", ScanError::kSyntax, at + 8);
  ExpectError(head + " xmlns:q:r=\"x\"><s:Body/></s:Envelope>", ScanError::kSyntax, at + 6);
  ExpectError(head + " xmlns:=\"x\"><s:Body/></s:Envelope>", ScanError::kSyntax, at + 6);
  ExpectError(head + " xmlns:-q=\"x\"><s:Body/></s:Envelope>", ScanError::kSyntax, at + 6);
  // Duplicates inside the run, at its start and against the usual ones.
  ExpectError(head + " xmlns:q=\"x\" xmlns:r=\"y\" xmlns:q=\"z\"><s:Body/></s:Envelope>", ScanError::kSyntax,
              at + 25);
  ExpectError(head + " xmlns:a=\"x\"><s:Body/></s:Envelope>", ScanError::kSyntax, at + 1);
  ExpectError(head + " xmlns:qqqqqqqqq1=\"x\" xmlns:qqqqqqqqq1=\"y\"><s:Body/></s:Envelope>", ScanError::kSyntax,
              at + 22);
  EXPECT_TRUE(Scan(head + " xmlns:qqqqqqqqq1=\"x\" xmlns:qqqqqqqqq2=\"y\"><s:Body/></s:Envelope>").ok());
  // Too many bindings, all in one run.
  std::string many = "<s:Envelope xmlns:s=\"" + std::string(kS12) + "\"";
  std::size_t bad = 0;
  for (int i = 1; i <= 130; ++i) {
    if (i == 128) bad = many.size() + 1;  // the 129th binding (s is the first)
    many += " xmlns:n" + std::to_string(i) + "=\"urn:n\"";
  }
  ExpectError(many + "><s:Body/></s:Envelope>", ScanError::kTooManyNamespaces, bad);
}

TEST_P(FastPathTest, DeclarationsNearTheEndOfTheInput) {
  // Fewer than 71 bytes after a declaration's space: the general path reads
  // the rest. Every cut inside the root tag is a truncation at the cut.
  const std::string doc = "<s:Envelope" + UsualDecls() + " xmlns:q=\"urn:q\"><s:Body/></s:Envelope>";
  ASSERT_TRUE(Scan(doc).ok());
  const std::size_t tag_end = doc.find('>');
  for (std::size_t n = 1; n <= tag_end; ++n) {
    const ScanResult r = Scan(doc.substr(0, n));
    EXPECT_EQ(ScanErrorName(r.error), "truncated") << n;
    EXPECT_EQ(r.offset, n) << n;
  }
  // Short documents, declarations only a few bytes from the end.
  EXPECT_TRUE(Scan("<s:Envelope xmlns:s=\"" + std::string(kS12) + "\" xmlns:q=\"q\"/>").ok());
  EXPECT_TRUE(Scan("<s:Envelope xmlns:s=\"" + std::string(kS12) + "\" xmlns:q=\"q\" />").ok());
}

// ---------------------------------------------------------------------------
// Plain attributes.

TEST_P(FastPathTest, PlainAttributeNamesOfEveryLength) {
  for (std::size_t n = 1; n <= 48; ++n) {
    const std::string name = Prefix(n);
    ASSERT_TRUE(Scan(Env("", "<a:To " + name + "=\"v\">x</a:To>", "")).ok()) << n;
    EXPECT_EQ(Value(env().to), "x");
    ASSERT_TRUE(Scan(Env("", "<a:To s:" + name + "=\"v\" " + name + "='w'>x</a:To>", "")).ok()) << n;
    const std::string unbound = "<a:To zz:" + name + "=\"v\">x</a:To>";
    const std::string xml = Env("", unbound, "");
    ExpectError(xml, ScanError::kUnboundPrefix, xml.find("zz:"));
  }
}

TEST_P(FastPathTest, PlainAttributeEdges) {
  std::string xml = Env("", "<a:To x=\"1\" y=\"2\" x=\"3\">t</a:To>", "");
  ExpectError(xml, ScanError::kSyntax, xml.find("x=\"3\""));
  xml = Env("", "<a:To s:x=\"1\" s:x=\"3\">t</a:To>", "");
  ExpectError(xml, ScanError::kSyntax, xml.rfind("s:x"));
  // More attributes than are kept, self-closing tags, values with references.
  ASSERT_TRUE(Scan(Env("", "<a:To a1=\"1\" a2=\"2\" a3=\"3\" a4=\"4\" a5=\"5\">t</a:To>", "")).ok());
  EXPECT_EQ(Value(env().to), "t");
  ASSERT_TRUE(Scan(Env("", "<a:To x=\"1\"/>", "")).ok());
  EXPECT_TRUE(env().to.present);
  EXPECT_EQ(Value(env().to), "");
  ASSERT_TRUE(Scan(Env("", "<d:AppSequence InstanceId=\"7\" SequenceId=\"urn:s\" MessageNumber=\"9\"/>", "")).ok());
  ASSERT_TRUE(env().app_sequence.has_value());
  EXPECT_EQ(env().app_sequence->instance_id, 7u);
  EXPECT_EQ(env().app_sequence->message_number, 9u);
  EXPECT_EQ(Value(env().app_sequence->sequence_id), "urn:s");
  const std::string probe = "<d:Probe><d:Scopes MatchBy=\"urn:m&amp;x\">a b</d:Scopes></d:Probe>";
  ASSERT_TRUE(Scan(Env("", "", probe)).ok());
  EXPECT_EQ(Value(env().entries()[0].match_by), "urn:m&x");
  ASSERT_TRUE(Scan(Env("", "", "<d:Probe><d:Scopes MatchBy='m'>a</d:Scopes></d:Probe>")).ok());
  EXPECT_EQ(Value(env().entries()[0].match_by), "m");
  xml = Env("", "<a:To x=\"1\"y=\"2\">t</a:To>", "");
  ExpectError(xml, ScanError::kSyntax, xml.find("y=\"2\""));
  xml = Env("", "<a:To x=\"a<b\">t</a:To>", "");
  ExpectError(xml, ScanError::kSyntax, xml.find("<b\""));
  xml = Env("", "<a:To xml:lang=\"en\" x=\"1\">t</a:To>", "");
  EXPECT_TRUE(Scan(xml).ok());
}

// ---------------------------------------------------------------------------
// Types.

TEST_P(FastPathTest, TypesAcrossTheClassification) {
  // Contents of every length up to 80 bytes: the QNames are split here the
  // plain way and compared.
  const std::map<std::string, std::string> ns = {{"d", std::string(kD05)}, {"a", std::string(kA04)}, {"", ""}};
  for (std::size_t total = 1; total <= 80; ++total) {
    for (const char* sep : {" ", "\t", "\n ", "  "}) {
      std::string content;
      std::vector<std::string> expected;
      for (int i = 0; content.size() < total; ++i) {
        const std::string prefix = i % 3 == 0 ? "d" : i % 3 == 1 ? "a" : "";
        // Later colons belong to the local name (the first one splits).
        const std::string local = Cat({"L", std::string(static_cast<std::size_t>(i % 7), 'x'),
                                       i % 5 == 0 && !prefix.empty() ? ":c" : ""});
        const std::string item = prefix.empty() ? local : Cat({prefix, ":", local});
        if (!content.empty()) content += sep;
        content += item;
        // No prefix: the default namespace, none here.
        expected.push_back(Cat({"{", ns.at(prefix), "}", local}));
      }
      const std::string xml = Env("", "", Match("<d:Types>" + std::string(sep) + content + "</d:Types>"));
      ASSERT_TRUE(Scan(xml).ok()) << xml;
      EXPECT_EQ(Types(), expected) << content;
    }
  }
}

// ---------------------------------------------------------------------------
// Field text and the prolog.

TEST_P(FastPathTest, FieldTextOfEveryLength) {
  for (std::size_t n = 0; n <= 200; ++n) {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) text += static_cast<char>('a' + i % 26);
    ASSERT_TRUE(Scan(Env("", "", Match("<d:Scopes>" + text + "</d:Scopes>"))).ok()) << n;
    EXPECT_EQ(Value(env().entries()[0].scopes), text);
    EXPECT_FALSE(env().entries()[0].scopes.needs_decoding);
    // A reference at every position, and a CR.
    if (n > 0) {
      const std::string_view view = text;
      const std::string with_ref = Cat({view.substr(0, n / 2), "&amp;", view.substr(n / 2)});
      ASSERT_TRUE(Scan(Env("", "", Match("<d:Scopes>" + with_ref + "</d:Scopes>"))).ok()) << n;
      EXPECT_EQ(Value(env().entries()[0].scopes), Cat({view.substr(0, n / 2), "&", view.substr(n / 2)}));
      const std::string with_cr = Cat({view.substr(0, n - 1), "\r", view.substr(n - 1)});
      ASSERT_TRUE(Scan(Env("", "", Match("<d:Scopes>" + with_cr + "</d:Scopes>"))).ok()) << n;
      EXPECT_TRUE(env().entries()[0].scopes.needs_decoding);
    }
  }
  // A NUL far into long text, a child element after a long run.
  std::string xml = Env("", "", Match("<d:Scopes>" + std::string(150, 'x') + '\0' + "</d:Scopes>"));
  ExpectError(xml, ScanError::kSyntax, xml.find('\0'));
  xml = Env("", "", Match("<d:Scopes>" + std::string(150, 'x') + "<d:X/></d:Scopes>"));
  ExpectError(xml, ScanError::kUnexpectedElement, xml.find("<d:X"));
}

TEST_P(FastPathTest, PrologSearch) {
  const std::string body = "<s:Envelope" + UsualDecls() + "><s:Body/></s:Envelope>";
  EXPECT_TRUE(Scan("<?xml version=\"1.0\"?>" + body).ok());
  EXPECT_TRUE(Scan("<?xml version=\"1.0\" encoding=\"a>b\"?>" + body).ok());
  EXPECT_TRUE(Scan("<!-- a > b -- > c -->" + body).ok());
  EXPECT_TRUE(Scan("<!---->" + body).ok());
  // A NUL before the terminator, the terminator missing, "<!-->" (not a
  // complete comment).
  std::string xml = "<?xml version=\"1.0\0\"?>"s + body;
  ExpectError(xml, ScanError::kSyntax, xml.find('\0'));
  xml = "<!-- a \0 -->"s + body;
  ExpectError(xml, ScanError::kSyntax, xml.find('\0'));
  ExpectError("<?xml version=\"1.0\"" + body, ScanError::kTruncated, 19 + body.size());
  ExpectError("<!-->" + body, ScanError::kUnterminatedComment, 0);
  ExpectError("<?x>" + body, ScanError::kTruncated, 4 + body.size());
}

// ---------------------------------------------------------------------------
// The two SIMD copies agree on the whole corpus and on every cut of it.

std::vector<std::string> CorpusInputs() {
  std::vector<std::string> out;
  for (const char* group : {"valid", "malformed", "regress"}) {
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(fs::path(ONVIF_CORPUS_DIR) / group, ec)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream bytes;
      bytes << in.rdbuf();
      out.push_back(bytes.str());
    }
  }
  return out;
}

TEST(FastPathSimdTest, CopiesAgreeOnTheCorpusAndEveryCut) {
  if (!ScannerUsesAvx2()) GTEST_SKIP() << "no AVX2 on this CPU: only the SSE2 copy exists here";
  const std::vector<std::string> inputs = CorpusInputs();
  ASSERT_GT(inputs.size(), 40u);
  Scanner scanner;
  const auto run = [&](std::string_view bytes, ScannerSimd simd) {
    SetScannerSimdForTesting(simd);
    std::unique_ptr<char[]> buffer(new char[bytes.empty() ? 1 : bytes.size()]);
    if (!bytes.empty()) std::memcpy(buffer.get(), bytes.data(), bytes.size());
    const std::string_view view(buffer.get(), bytes.size());
    return Dump(scanner, scanner.Scan(view), view);
  };
  for (const std::string& input : inputs) {
    const std::size_t step = input.size() > 4000 ? 7 : 1;
    for (std::size_t n = 0; n <= input.size(); n += step) {
      const std::string_view cut(input.data(), n);
      ASSERT_EQ(run(cut, ScannerSimd::kAuto), run(cut, ScannerSimd::kSse2)) << cut;
    }
  }
  SetScannerSimdForTesting(ScannerSimd::kAuto);
}

INSTANTIATE_TEST_SUITE_P(Simd, FastPathTest, ::testing::Values(ScannerSimd::kAuto, ScannerSimd::kSse2),
                         [](const ::testing::TestParamInfo<ScannerSimd>& info) {
                           return info.param == ScannerSimd::kAuto ? std::string("Auto") : std::string("Sse2");
                         });

}  // namespace
}  // namespace onvif::wsd
