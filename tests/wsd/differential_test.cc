// Differential tests: the zero-copy scanner (engine/wsd/scanner.h) against
// the pugixml reference (tests/reference/reference.h) over tests/corpus.
//
//   valid/      the reference accepts and finds what the file obviously holds
//               (kind, versions, entry count: the table below); the scanner
//               accepts and FieldsFromScanner == ReferenceScan; every proper
//               prefix that ends before the root's end tag is rejected.
//   malformed/  "<error_name>--<what>.xml": the scanner fails with exactly
//               that ScanErrorName.
//   regress/    inputs the fuzzer once tripped on: no crash; when the scanner
//               accepts, the reference accepts with the same fields.
//
// Every input is copied into a heap buffer of exactly its size, so an ASan
// build catches any read past the end of the datagram.
//
// Every test name starts with "differential" (the plain suite, or the
// instantiation prefix of the parameterised ones) so that
// `ctest -R differential` selects exactly this file's tests.

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/wsd/constants.h"
#include "engine/wsd/scanner.h"
#include "gtest/gtest.h"
#include "tests/reference/reference.h"

namespace onvif::testing {
namespace {

namespace fs = std::filesystem;
using ::onvif::wsd::ScanError;
using ::onvif::wsd::ScanErrorName;
using ::onvif::wsd::Scanner;
using ::onvif::wsd::ScanResult;

// A copy of some bytes in a heap block of exactly that size.
class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view bytes)
      : size_(bytes.size()), data_(new char[std::max<std::size_t>(bytes.size(), 1)]) {
    if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
  }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  std::size_t size_;
  std::unique_ptr<char[]> data_;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

fs::path CorpusDir(std::string_view group) { return fs::path(ONVIF_CORPUS_DIR) / group; }

// Sorted *.xml file names of one corpus group (empty when the group is absent).
std::vector<std::string> CorpusFiles(std::string_view group) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(CorpusDir(group), ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".xml") {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// What each valid file obviously holds, read off the file by hand. A new
// valid file needs a row here (ValidTableRowsHaveFilesAndThereAreEnough), so an empty
// or wrong reference cannot pass unnoticed.
struct Expected {
  const char* kind;
  const char* soap;
  const char* discovery;
  std::size_t entries;
};

const std::map<std::string, Expected>& ExpectedTable() {
  static const auto* table = new std::map<std::string, Expected>{
      {"axis_probematch.xml", {"probe_matches", "1.2", "2005", 1}},
      {"bom_decl_crlf.xml", {"probe_matches", "1.2", "2005", 1}},
      {"bosch_probematch_default_ns.xml", {"probe_matches", "1.2", "2005", 1}},
      {"cdata_fields.xml", {"probe_matches", "1.2", "2005", 1}},
      {"comments_odd_places.xml", {"probe_matches", "1.2", "2005", 1}},
      {"dahua_probematch.xml", {"probe_matches", "1.2", "2005", 1}},
      {"default_ns_everywhere.xml", {"hello", "1.2", "2009", 1}},
      {"duplicate_fields_first_wins.xml", {"probe_matches", "1.2", "2005", 1}},
      {"empty_body.xml", {"none", "1.2", "", 0}},
      {"empty_fields_hello_2009.xml", {"hello", "1.2", "2009", 1}},
      {"escaped_fields.xml", {"probe_matches", "1.2", "2005", 1}},
      {"fault_matching_rule.xml", {"fault", "1.2", "", 0}},
      {"gsoap_hello_2005.xml", {"hello", "1.2", "2005", 1}},
      {"hanwha_probematch_ipv6.xml", {"probe_matches", "1.2", "2005", 1}},
      {"hello_no_xaddrs.xml", {"hello", "1.2", "2005", 1}},
      {"hikvision_probematch.xml", {"probe_matches", "1.2", "2005", 1}},
      {"long_scopes.xml", {"probe_matches", "1.2", "2005", 1}},
      {"numbers_edge_cases.xml", {"probe_matches", "1.2", "2005", 10}},
      {"oasis2009_probematches.xml", {"probe_matches", "1.2", "2009", 1}},
      {"odtt_probe_matchby.xml", {"probe", "1.2", "2005", 1}},
      {"onvif_probematch.xml", {"probe_matches", "1.2", "2005", 1}},
      {"other_body_onvif_response.xml", {"other", "1.2", "", 0}},
      {"prefix_rebound.xml", {"probe_matches", "1.2", "2005", 2}},
      {"probe_default_ns_onvif_client.xml", {"probe", "1.2", "2005", 1}},
      {"probe_empty_python_wsd.xml", {"probe", "1.2", "2005", 1}},
      {"probe_strcmp0_two_types.xml", {"probe", "1.2", "2005", 1}},
      {"relates_to_echo_2009_soap11.xml", {"probe_matches", "1.1", "2009", 1}},
      {"resolve.xml", {"resolve", "1.2", "2005", 1}},
      {"resolve_matches.xml", {"resolve_matches", "1.2", "2005", 1}},
      {"soap11_probematch.xml", {"probe_matches", "1.1", "2005", 1}},
      {"two_matches_nvr.xml", {"probe_matches", "1.2", "2005", 2}},
      {"types_unbound_and_default.xml", {"probe_matches", "1.2", "2005", 3}},
      {"uniview_probematch_ns1.xml", {"probe_matches", "1.2", "2005", 1}},
      {"vendor_extensions.xml", {"probe_matches", "1.2", "2005", 1}},
      {"whitespace_heavy_bye.xml", {"bye", "1.2", "2005", 1}},
      {"wsdapi_bye.xml", {"bye", "1.2", "2005", 1}},
      {"wsdapi_hello.xml", {"hello", "1.2", "2005", 1}},
      {"wsdapi_probe.xml", {"probe", "1.2", "2005", 1}},
  };
  return *table;
}

// Scans `bytes` (copied to an exact buffer) and returns the result and, on
// success, the fields.
struct ScannerOutcome {
  ScanResult result;
  std::optional<Fields> fields;
};

ScannerOutcome RunScanner(Scanner& scanner, std::string_view bytes) {
  ExactBuffer buffer(bytes);
  ScannerOutcome outcome{.result = scanner.Scan(buffer.view()), .fields = std::nullopt};
  if (outcome.result.ok()) outcome.fields = FieldsFromScanner(scanner.envelope());
  return outcome;
}

std::string Describe(const ScanResult& result) {
  return std::string(ScanErrorName(result.error)) + " at offset " + std::to_string(result.offset);
}

// The end of the root element's end tag: one past its '>'. Prefixes shorter
// than this are missing part of the document and must be rejected.
std::size_t RootEndTagEnd(std::string_view xml, std::string_view root_name) {
  const std::string end_tag = "</" + std::string(root_name);
  const std::size_t start = xml.rfind(end_tag);
  if (start == std::string_view::npos) return std::string_view::npos;
  const std::size_t close = xml.find('>', start);
  return close == std::string_view::npos ? std::string_view::npos : close + 1;
}

// The root element's qualified name, read off the text: the first '<' that
// does not open a declaration, comment, PI or DOCTYPE.
std::string RootName(std::string_view xml) {
  std::size_t pos = 0;
  while ((pos = xml.find('<', pos)) != std::string_view::npos) {
    if (pos + 1 < xml.size() && xml[pos + 1] != '?' && xml[pos + 1] != '!') {
      std::size_t end = pos + 1;
      while (end < xml.size() && xml[end] != '>' && xml[end] != '/' && xml[end] != ' ' && xml[end] != '\t' &&
             xml[end] != '\r' && xml[end] != '\n') {
        ++end;
      }
      return std::string(xml.substr(pos + 1, end - pos - 1));
    }
    ++pos;
  }
  return "";
}

// ---------------------------------------------------------------------------
// valid/

class ValidCorpusTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string Xml() const { return ReadFile(CorpusDir("valid") / GetParam()); }
};

TEST_P(ValidCorpusTest, ReferenceFindsWhatTheFileHolds) {
  const std::string xml = Xml();
  ASSERT_FALSE(xml.empty());
  const absl::StatusOr<Fields> reference = ReferenceScan(xml);
  ASSERT_TRUE(reference.ok()) << reference.status();
  // Not an empty extraction: every valid file has a header field or an entry.
  EXPECT_TRUE(reference->action.has_value() || reference->message_id.has_value() || !reference->entries.empty())
      << DebugString(*reference);
  const auto it = ExpectedTable().find(GetParam());
  ASSERT_NE(it, ExpectedTable().end()) << "add " << GetParam() << " to ExpectedTable()";
  EXPECT_EQ(reference->kind, it->second.kind) << DebugString(*reference);
  EXPECT_EQ(reference->soap, it->second.soap);
  EXPECT_EQ(reference->discovery, it->second.discovery);
  EXPECT_EQ(reference->entries.size(), it->second.entries) << DebugString(*reference);
  // Only a Probe may be empty (no Types, no Scopes: it matches everything).
  for (const EntryFields& entry : reference->entries) {
    EXPECT_TRUE(reference->kind == "probe" || entry.endpoint.has_value() || entry.types.has_value() ||
                entry.scopes.has_value())
        << "entry with nothing in it\n"
        << DebugString(*reference);
  }
}

TEST_P(ValidCorpusTest, ScannerMatchesReference) {
  const std::string xml = Xml();
  const absl::StatusOr<Fields> reference = ReferenceScan(xml);
  ASSERT_TRUE(reference.ok()) << reference.status();
  Scanner scanner;
  const ScannerOutcome outcome = RunScanner(scanner, xml);
  ASSERT_TRUE(outcome.result.ok()) << Describe(outcome.result);
  EXPECT_EQ(*outcome.fields, *reference) << "scanner:\n"
                                         << DebugString(*outcome.fields) << "reference:\n"
                                         << DebugString(*reference);
}

TEST_P(ValidCorpusTest, EveryProperPrefixIsRejected) {
  const std::string xml = Xml();
  const std::string root = RootName(xml);
  ASSERT_FALSE(root.empty());
  const std::size_t end = RootEndTagEnd(xml, root);
  ASSERT_NE(end, std::string::npos) << "no </" << root << "> in " << GetParam();
  Scanner scanner;  // reused across prefixes, as a receive thread would
  int accepted = 0;
  for (std::size_t length = 0; length < end; ++length) {
    const ScannerOutcome outcome = RunScanner(scanner, std::string_view(xml).substr(0, length));
    if (outcome.result.ok() && ++accepted <= 5) {
      ADD_FAILURE() << "scanner accepted the first " << length << " of " << xml.size() << " bytes: ..."
                    << std::string_view(xml).substr(length >= 40 ? length - 40 : 0, std::min<std::size_t>(length, 40));
    }
  }
  EXPECT_EQ(accepted, 0);
  // After all those failures the same Scanner still reads the whole file.
  const absl::StatusOr<Fields> reference = ReferenceScan(xml);
  ASSERT_TRUE(reference.ok()) << reference.status();
  const ScannerOutcome whole = RunScanner(scanner, xml);
  ASSERT_TRUE(whole.result.ok()) << Describe(whole.result);
  EXPECT_EQ(*whole.fields, *reference);
}

INSTANTIATE_TEST_SUITE_P(differential, ValidCorpusTest, ::testing::ValuesIn(CorpusFiles("valid")), TestName);

TEST(differential, ValidTableRowsHaveFilesAndThereAreEnough) {
  const std::vector<std::string> files = CorpusFiles("valid");
  EXPECT_GE(files.size(), 30u);
  for (const auto& [name, expected] : ExpectedTable()) {
    EXPECT_TRUE(std::find(files.begin(), files.end(), name) != files.end()) << name << " is missing";
  }
}

TEST(differential, ScannerCarriesNoStateBetweenEnvelopes) {
  // Scan every valid file in turn with one Scanner, in both orders.
  std::vector<std::string> files = CorpusFiles("valid");
  for (int round = 0; round < 2; ++round) {
    Scanner scanner;
    for (const std::string& name : files) {
      const std::string xml = ReadFile(CorpusDir("valid") / name);
      const absl::StatusOr<Fields> reference = ReferenceScan(xml);
      ASSERT_TRUE(reference.ok()) << name << ": " << reference.status();
      const ScannerOutcome outcome = RunScanner(scanner, xml);
      ASSERT_TRUE(outcome.result.ok()) << name << ": " << Describe(outcome.result);
      EXPECT_EQ(*outcome.fields, *reference) << name;
    }
    std::reverse(files.begin(), files.end());
  }
}

// ---------------------------------------------------------------------------
// malformed/

class MalformedCorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MalformedCorpusTest, FailsWithTheNamedError) {
  const std::string& name = GetParam();
  const std::size_t dashes = name.find("--");
  ASSERT_NE(dashes, std::string::npos) << name << " is not <error_name>--<what>.xml";
  const std::string expected = name.substr(0, dashes);
  const std::string xml = ReadFile(CorpusDir("malformed") / name);
  Scanner scanner;
  const ScannerOutcome outcome = RunScanner(scanner, xml);
  EXPECT_EQ(ScanErrorName(outcome.result.error), expected) << Describe(outcome.result);
  EXPECT_LE(outcome.result.offset, xml.size());
}

INSTANTIATE_TEST_SUITE_P(differential, MalformedCorpusTest, ::testing::ValuesIn(CorpusFiles("malformed")), TestName);

// The reference rejects every malformed file except the bad_reference ones:
// pugixml keeps unknown or invalid references as literal text (and truncates
// at &#0;), so only the scanner sees those.
TEST(differential, ReferenceRejectsMalformedFilesItCanSee) {
  int checked = 0;
  for (const std::string& name : CorpusFiles("malformed")) {
    if (name.starts_with("bad_reference--")) continue;
    const absl::StatusOr<Fields> reference = ReferenceScan(ReadFile(CorpusDir("malformed") / name));
    EXPECT_FALSE(reference.ok()) << name << " accepted:\n" << DebugString(*reference);
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(differential, AtLeastFifteenMalformedFiles) { EXPECT_GE(CorpusFiles("malformed").size(), 15u); }

// Generated-size cases, not stored in the corpus.
std::string PaddedEnvelope(std::size_t total_size) {
  const std::string head =
      "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
      "xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" "
      "xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\"><s:Body><d:Hello>"
      "<a:EndpointReference><a:Address>urn:uuid:padded</a:Address></a:EndpointReference></d:Hello>";
  const std::string tail = "</s:Body></s:Envelope>";
  std::string xml = head;
  xml.append(total_size - head.size() - tail.size(), ' ');
  xml += tail;
  return xml;
}

TEST(differential, LargestEnvelopeIsAcceptedAndOneMoreByteIsTooLarge) {
  Scanner scanner;
  const std::string largest = PaddedEnvelope(wsd::kMaxEnvelopeBytes);
  const absl::StatusOr<Fields> reference = ReferenceScan(largest);
  ASSERT_TRUE(reference.ok()) << reference.status();
  const ScannerOutcome ok = RunScanner(scanner, largest);
  ASSERT_TRUE(ok.result.ok()) << Describe(ok.result);
  EXPECT_EQ(*ok.fields, *reference);

  const std::string too_large = PaddedEnvelope(wsd::kMaxEnvelopeBytes + 1);
  EXPECT_EQ(ScanErrorName(RunScanner(scanner, too_large).result.error), "too_large");
  EXPECT_FALSE(ReferenceScan(too_large).ok());
}

TEST(differential, DepthLimitIsExact) {
  // Envelope, Header and then vendor elements up to a total depth of N.
  auto nested = [](int depth) {
    std::string xml =
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:v=\"urn:v\"><s:Header>";
    for (int i = 2; i < depth; ++i) xml += "<v:n>";
    for (int i = 2; i < depth; ++i) xml += "</v:n>";
    return xml + "</s:Header></s:Envelope>";
  };
  Scanner scanner;
  const std::string at_limit = nested(wsd::kMaxDepth);
  EXPECT_TRUE(ReferenceScan(at_limit).ok());
  const ScannerOutcome ok = RunScanner(scanner, at_limit);
  EXPECT_TRUE(ok.result.ok()) << Describe(ok.result);
  const std::string over = nested(wsd::kMaxDepth + 1);
  EXPECT_FALSE(ReferenceScan(over).ok());
  EXPECT_EQ(ScanErrorName(RunScanner(scanner, over).result.error), "too_deep");
}

TEST(differential, EntryLimitIsExact) {
  auto hellos = [](std::size_t count) {
    std::string xml =
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
        "xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\"><s:Body><d:ProbeMatches>";
    for (std::size_t i = 0; i < count; ++i) xml += "<d:ProbeMatch/>";
    return xml + "</d:ProbeMatches></s:Body></s:Envelope>";
  };
  Scanner scanner;
  const std::string at_limit = hellos(wsd::kMaxEntries);
  const absl::StatusOr<Fields> reference = ReferenceScan(at_limit);
  ASSERT_TRUE(reference.ok()) << reference.status();
  const ScannerOutcome ok = RunScanner(scanner, at_limit);
  ASSERT_TRUE(ok.result.ok()) << Describe(ok.result);
  EXPECT_EQ(*ok.fields, *reference);
  EXPECT_EQ(ok.fields->entries.size(), wsd::kMaxEntries);
  EXPECT_EQ(ScanErrorName(RunScanner(scanner, hellos(wsd::kMaxEntries + 1)).result.error), "too_many_entries");
}

TEST(differential, FieldLengthLimitIsExact) {
  auto with_scopes = [](std::size_t length) {
    return "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
           "xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\"><s:Body><d:Probe><d:Scopes>" +
           std::string(length, 'x') + "</d:Scopes></d:Probe></s:Body></s:Envelope>";
  };
  Scanner scanner;
  const std::string at_limit = with_scopes(wsd::kMaxFieldBytes);
  const absl::StatusOr<Fields> reference = ReferenceScan(at_limit);
  ASSERT_TRUE(reference.ok()) << reference.status();
  const ScannerOutcome ok = RunScanner(scanner, at_limit);
  ASSERT_TRUE(ok.result.ok()) << Describe(ok.result);
  EXPECT_EQ(*ok.fields, *reference);
  const std::string over = with_scopes(wsd::kMaxFieldBytes + 1);
  EXPECT_FALSE(ReferenceScan(over).ok());
  EXPECT_EQ(ScanErrorName(RunScanner(scanner, over).result.error), "field_too_long");
}

// Small hand-made envelopes for corners that mutation rarely reaches. Each
// must be accepted by both sides with equal fields.
TEST(differential, InlineCornerCasesAgree) {
  const std::string open =
      "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
      "xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" "
      "xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\">";
  const std::string close = "</s:Envelope>";
  const std::vector<std::string> bodies = {
      // A namespace URI spelled with a character reference is still D.
      "<s:Body><e:Hello xmlns:e=\"http://schemas.xmlsoap.org/ws/2005/04/disc&#x6F;very\">"
      "<e:Types>e:X</e:Types></e:Hello></s:Body>",
      // A namespace URI with CR LF inside is some other namespace (LF after decoding).
      "<s:Body><d:Probe><d:Types xmlns:q=\"urn:a\r\nb\">q:X</d:Types></d:Probe></s:Body>",
      // xmlns:p="" then p in Types: no namespace.
      "<s:Body><d:Probe xmlns:p=\"\"><d:Types>p:X</d:Types></d:Probe></s:Body>",
      // The xml prefix in Types; an empty local part; an empty prefix.
      "<s:Body><d:Probe><d:Types>xml:lang x: :y</d:Types></d:Probe></s:Body>",
      // A binding on a sibling is not in scope at Types.
      "<s:Body><d:Probe><x:v xmlns:x=\"urn:x\"/><d:Types>x:Y</d:Types></d:Probe></s:Body>",
      // &#13; is a CR that stays (only literal CR is normalised); literal CR LF is one LF.
      "<s:Body><d:Probe><d:Scopes>a&#13;b\r\nc\rd</d:Scopes></d:Probe></s:Body>",
      // TAB and LF inside an attribute value stay (the Text rule; XML would make them spaces).
      "<s:Body><d:Probe><d:Scopes MatchBy=\" urn:a\tb\nc&#9; \">x</d:Scopes></d:Probe></s:Body>",
      // Self-closing and empty fields are present and empty.
      "<s:Header><a:Action/><a:To></a:To></s:Header><s:Body/>",
      // A later duplicate field is an ordinary element: its child elements are not an error.
      "<s:Header><a:Action>x</a:Action><a:Action><a:y/></a:Action></s:Header>",
      // A Header after the Body still counts; after an empty Body, the next Body sets the kind.
      "<s:Body/><s:Header><a:To>t</a:To></s:Header><s:Body><d:Bye/></s:Body>",
      // ProbeMatch directly under Body is not an entry; ProbeMatches of 2009 with 2005 matches are.
      "<s:Body><d:ProbeMatch/><m:ProbeMatches xmlns:m=\"http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01\">"
      "<d:ProbeMatch><d:XAddrs>h</d:XAddrs></d:ProbeMatch></m:ProbeMatches></s:Body>",
      // The body's first child is in D but unknown: kind other, discovery 2005.
      "<s:Body><d:Unknown/><d:Hello/></s:Body>",
      // PIs and comments inside a field are dropped.
      "<s:Body><d:Probe><d:Scopes>a<?pi x?>b<!-- c -->c</d:Scopes></d:Probe></s:Body>",
      // Non-ASCII UTF-8 everywhere, including element names of vendor elements.
      "<s:Body><d:Hello><v:Kamera\xC3\xA9 xmlns:v=\"urn:v\"/><d:Scopes>onvif://x/caf\xC3\xA9</d:Scopes></d:Hello></s:Body>",
      // AppSequence numbers with references and padding; SequenceId trimmed.
      "<s:Header><d:AppSequence InstanceId=\"&#x20;1&#x30;\" MessageNumber=\"\r\n2\" SequenceId=\" q \"/></s:Header>",
      // AppSequence with a number that does not parse: absent, and a later one is not used.
      "<s:Header><d:AppSequence InstanceId=\"1\" MessageNumber=\"x\"/>"
      "<d:AppSequence InstanceId=\"1\" MessageNumber=\"2\"/></s:Header>",
  };
  Scanner scanner;
  for (const std::string& body : bodies) {
    const std::string xml = open + body + close;
    const absl::StatusOr<Fields> reference = ReferenceScan(xml);
    ASSERT_TRUE(reference.ok()) << reference.status() << "\n" << xml;
    const ScannerOutcome outcome = RunScanner(scanner, xml);
    ASSERT_TRUE(outcome.result.ok()) << Describe(outcome.result) << "\n" << xml;
    EXPECT_EQ(*outcome.fields, *reference) << xml << "\nscanner:\n"
                                           << DebugString(*outcome.fields) << "reference:\n"
                                           << DebugString(*reference);
  }
}

// ---------------------------------------------------------------------------
// regress/

class RegressCorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RegressCorpusTest, NoCrashAndAgreementWhenAccepted) {
  const std::string xml = ReadFile(CorpusDir("regress") / GetParam());
  Scanner scanner;
  const ScannerOutcome outcome = RunScanner(scanner, xml);
  if (!outcome.result.ok()) return;
  const absl::StatusOr<Fields> reference = ReferenceScan(xml);
  ASSERT_TRUE(reference.ok()) << "scanner accepted, reference: " << reference.status() << "\nscanner:\n"
                              << DebugString(*outcome.fields);
  EXPECT_EQ(*outcome.fields, *reference) << "scanner:\n"
                                         << DebugString(*outcome.fields) << "reference:\n"
                                         << DebugString(*reference);
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RegressCorpusTest);
INSTANTIATE_TEST_SUITE_P(differential, RegressCorpusTest, ::testing::ValuesIn(CorpusFiles("regress")), TestName);

// ---------------------------------------------------------------------------
// The reference itself, against values worked out by hand.

constexpr std::string_view kNsDn = "http://www.onvif.org/ver10/network/wsdl";
constexpr std::string_view kNsTds = "http://www.onvif.org/ver10/device/wsdl";

std::string TypeName(std::string_view ns, std::string_view local) {
  return "{" + std::string(ns) + "}" + std::string(local);
}

TEST(differential, ReferenceHandCheckedProbeMatch) {
  constexpr std::string_view kXml =
      "<?xml version=\"1.0\"?>\r\n"
      "<!-- c --><e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"\r\n"
      " xmlns:w=\"http://www.w3.org/2005/08/addressing\" xmlns:x=\"urn:vendor\">"
      "<e:Header>"
      "<w:Action> http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/ProbeMatches </w:Action>"
      "<x:MessageID>vendor</x:MessageID>"
      "<w:MessageID>urn:uuid:1<!-- two -->2<![CDATA[3&]]>&amp;4</w:MessageID>"
      "<w:MessageID>urn:uuid:second</w:MessageID>"
      "<q:AppSequence xmlns:q=\"http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01\""
      " InstanceId=\" 7 \" SequenceId=\"urn:s&#x3a;1\" MessageNumber=\"&#56;\"/>"
      "</e:Header>"
      "<e:Body><m:ProbeMatches xmlns:m=\"http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01\""
      " xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\">"
      "<m:ProbeMatch><w:EndpointReference><x:Address>no</x:Address><w:Address>urn:uuid:ep\r\n</w:Address>"
      "</w:EndpointReference>"
      "<m:Types xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\">\tdn:NetworkVideoTransmitter\r\n"
      "tds:Device nope:Thing Bare</m:Types>"
      "<m:Scopes MatchBy=\"urn:rule\">a%20b\r\nc&#x20;d</m:Scopes>"
      "<m:XAddrs>http://[fe80::1]/x http://169.254.1.1/y</m:XAddrs>"
      "<m:MetadataVersion>0012</m:MetadataVersion></m:ProbeMatch>"
      "<m:ProbeMatch><w:EndpointReference><w:Address>urn:uuid:two</w:Address></w:EndpointReference>"
      "<m:MetadataVersion>x</m:MetadataVersion></m:ProbeMatch>"
      "</m:ProbeMatches></e:Body></e:Envelope>\n";
  const absl::StatusOr<Fields> got = ReferenceScan(kXml);
  ASSERT_TRUE(got.ok()) << got.status();

  Fields want;
  want.soap = "1.1";
  want.discovery = "2009";
  want.kind = "probe_matches";
  want.action = "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/ProbeMatches";
  want.message_id = "urn:uuid:123&&4";
  want.app_sequence = AppSequenceFields{.instance_id = 7, .message_number = 8, .sequence_id = "urn:s:1"};
  EntryFields first;
  first.endpoint = "urn:uuid:ep";
  first.types = std::vector<std::string>{TypeName(kNsDn, "NetworkVideoTransmitter"), TypeName(kNsTds, "Device"),
                                         TypeName("", "Thing"), TypeName("", "Bare")};
  first.scopes = "a%20b\nc d";
  first.match_by = "urn:rule";
  first.xaddrs = "http://[fe80::1]/x http://169.254.1.1/y";
  first.metadata_version = 12;
  EntryFields second;
  second.endpoint = "urn:uuid:two";
  want.entries = {first, second};
  EXPECT_EQ(*got, want) << "got:\n" << DebugString(*got) << "want:\n" << DebugString(want);
}

TEST(differential, ReferenceHandCheckedCorpusFiles) {
  {
    const absl::StatusOr<Fields> f = ReferenceScan(ReadFile(CorpusDir("valid") / "escaped_fields.xml"));
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->message_id, "uuid:77aa88bb-99cc-4ddd-8eee-ff0011223344");
    ASSERT_TRUE(f->app_sequence.has_value());
    EXPECT_EQ(f->app_sequence->instance_id, 12u);
    EXPECT_EQ(f->app_sequence->message_number, 34u);
    EXPECT_EQ(f->app_sequence->sequence_id, "urn:x?a=1&b=2");
    ASSERT_EQ(f->entries.size(), 1u);
    EXPECT_EQ(f->entries[0].scopes,
              "onvif://www.onvif.org/name/Lobby%20Cam onvif://www.onvif.org/location/R&D%20Lab "
              "onvif://www.onvif.org/hardware/<unknown> onvif://www.onvif.org/name/\"quoted\"\t"
              "onvif://www.onvif.org/owner/O'Brien onvif://www.onvif.org/name/caf\xC3\xA9\xE2\x98\x83");
    EXPECT_EQ(f->entries[0].xaddrs, "http://192.168.5.5/onvif/device_service?a=1&b=2");
    EXPECT_EQ(f->entries[0].metadata_version, 7u);
  }
  {
    const absl::StatusOr<Fields> f = ReferenceScan(ReadFile(CorpusDir("valid") / "cdata_fields.xml"));
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->message_id, "uuid:cdcdcdcd-0000-4000-8000-cdcdcdcdcdcd");
    ASSERT_EQ(f->entries.size(), 1u);
    EXPECT_EQ(f->entries[0].endpoint, "urn:uuid:cdcdcdcd-1111-4222-8333-444444444444");
    EXPECT_EQ(f->entries[0].scopes,
              "onvif://www.onvif.org/name/A&B <Cam> onvif://www.onvif.org/hardware/]]>x "
              "onvif://www.onvif.org/Profile/Streaming");
    EXPECT_EQ(f->entries[0].xaddrs, "http://192.168.9.9/onvif/device_service");
    EXPECT_EQ(f->entries[0].metadata_version, 5u);
  }
  {
    const absl::StatusOr<Fields> f = ReferenceScan(ReadFile(CorpusDir("valid") / "comments_odd_places.xml"));
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->action, "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches");
    EXPECT_EQ(f->message_id, "uuid:c0ffee00-1234-4abc-8def-0123456789ab");
    ASSERT_EQ(f->entries.size(), 1u);
    EXPECT_EQ(f->entries[0].endpoint, "urn:uuid:c0ffee00-aaaa-4bbb-8ccc-dddddddddddd");
    EXPECT_EQ(f->entries[0].scopes,
              "onvif://www.onvif.org/Profile/Streaming  onvif://www.onvif.org/name/Comment%20Cam");
    EXPECT_EQ(f->entries[0].metadata_version, 20u);
  }
  {
    const absl::StatusOr<Fields> f = ReferenceScan(ReadFile(CorpusDir("valid") / "bom_decl_crlf.xml"));
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->entries.size(), 1u);
    EXPECT_EQ(f->entries[0].endpoint, "urn:uuid:b0b0c0c0-0000-4000-8000-a1a1a1a1a1a1");
    EXPECT_EQ(f->entries[0].scopes,
              "onvif://www.onvif.org/Profile/Streaming\n"
              "          onvif://www.onvif.org/name/Windows%20Build%20Cam\n"
              "          onvif://www.onvif.org/hardware/WB-1");
    EXPECT_EQ(f->entries[0].xaddrs, "http://192.168.3.3/onvif/device_service\n http://169.254.3.3/onvif/device_service");
    EXPECT_EQ(f->entries[0].types,
              (std::vector<std::string>{TypeName(kNsDn, "NetworkVideoTransmitter"), TypeName(kNsTds, "Device")}));
    EXPECT_EQ(f->entries[0].metadata_version, 6u);
    ASSERT_TRUE(f->app_sequence.has_value());
    EXPECT_EQ(f->app_sequence->message_number, 41u);
  }
  {
    const absl::StatusOr<Fields> f = ReferenceScan(ReadFile(CorpusDir("valid") / "types_unbound_and_default.xml"));
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->entries.size(), 3u);
    EXPECT_EQ(f->entries[0].types,
              (std::vector<std::string>{TypeName("", "NetworkVideoTransmitter"), TypeName(kNsTds, "Device")}));
    EXPECT_EQ(f->entries[1].types,
              (std::vector<std::string>{TypeName(kNsDn, "NetworkVideoTransmitter"), TypeName(kNsTds, "Device")}));
    EXPECT_EQ(f->entries[2].types, (std::vector<std::string>{TypeName("", "NetworkVideoTransmitter")}));
  }
  {
    const absl::StatusOr<Fields> f = ReferenceScan(ReadFile(CorpusDir("valid") / "prefix_rebound.xml"));
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->action, std::nullopt);
    EXPECT_EQ(f->message_id, "uuid:0b0b0b0b-1c1c-4d2d-8e3e-4f4f4f4f4f4f");
    ASSERT_EQ(f->entries.size(), 2u);
    EXPECT_EQ(f->entries[0].types, (std::vector<std::string>{TypeName(kNsTds, "Device")}));
    EXPECT_EQ(f->entries[0].scopes, "onvif://www.onvif.org/Profile/Streaming");
    EXPECT_EQ(f->entries[1].endpoint, "urn:uuid:0b0b0b0b-3c3c-4d4d-8e5e-6f6f6f6f6f6f");
    EXPECT_EQ(f->entries[1].types, (std::vector<std::string>{TypeName(kNsDn, "NetworkVideoTransmitter")}));
  }
  {
    const absl::StatusOr<Fields> f = ReferenceScan(ReadFile(CorpusDir("valid") / "duplicate_fields_first_wins.xml"));
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->message_id, "uuid:11111111-1111-4111-8111-111111111111");
    EXPECT_EQ(f->action, "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches");
    EXPECT_EQ(f->relates_to, "");
    EXPECT_EQ(f->to, "urn:second-header-to");
    ASSERT_EQ(f->entries.size(), 1u);
    const EntryFields& e = f->entries[0];
    EXPECT_EQ(e.endpoint, "urn:uuid:first-address");
    EXPECT_EQ(e.types, (std::vector<std::string>{TypeName(kNsDn, "NetworkVideoTransmitter")}));
    EXPECT_EQ(e.scopes, "onvif://first/scope");
    EXPECT_EQ(e.match_by, "first-matchby");
    EXPECT_EQ(e.xaddrs, "http://10.0.0.1/first");
    EXPECT_EQ(e.metadata_version, std::nullopt);  // first one wins and is not a number
  }
  {
    const absl::StatusOr<Fields> f = ReferenceScan(ReadFile(CorpusDir("valid") / "numbers_edge_cases.xml"));
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->app_sequence, std::nullopt);  // the first AppSequence lacks MessageNumber
    const std::vector<std::optional<std::uint64_t>> want = {
        std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, 42, std::nullopt, 10,
        std::nullopt};
    ASSERT_EQ(f->entries.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(f->entries[i].metadata_version, want[i]) << i;
  }
  {
    const absl::StatusOr<Fields> f = ReferenceScan(ReadFile(CorpusDir("valid") / "vendor_extensions.xml"));
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->message_id, "uuid:e1e2e3e4-f5f6-4a7a-8b8b-c9c9d0d0e1e1");
    EXPECT_EQ(f->app_sequence, std::nullopt);
    ASSERT_EQ(f->entries.size(), 1u);
    EXPECT_EQ(f->entries[0].endpoint, "urn:uuid:e1e2e3e4-0000-4000-8000-0000000000e1");
    EXPECT_EQ(f->entries[0].scopes, "onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/name/VX-2000");
    EXPECT_EQ(f->entries[0].xaddrs, "http://10.1.2.3/onvif/device_service");
    EXPECT_EQ(f->entries[0].metadata_version, 8u);
  }
  {
    const absl::StatusOr<Fields> f = ReferenceScan(ReadFile(CorpusDir("valid") / "empty_fields_hello_2009.xml"));
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->message_id, "");
    EXPECT_EQ(f->to, "");
    ASSERT_EQ(f->entries.size(), 1u);
    EXPECT_EQ(f->entries[0].endpoint, "");
    EXPECT_EQ(f->entries[0].types, std::vector<std::string>{});
    EXPECT_EQ(f->entries[0].scopes, "");
    EXPECT_EQ(f->entries[0].match_by, "");
    EXPECT_EQ(f->entries[0].xaddrs, "");
    EXPECT_EQ(f->entries[0].metadata_version, std::nullopt);
  }
}

TEST(differential, ReferenceRejectsWhatTheScannerMustReject) {
  const std::string soap = "xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"";
  const std::string disc = "xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\"";
  const std::vector<std::string> inputs = {
      "",
      "<s:Envelope " + soap + ">",
      "<s:Envelope " + soap + "/><s:Envelope " + soap + "/>",
      "<s:Envelope " + soap + "/>text",
      "<!DOCTYPE s:Envelope><s:Envelope " + soap + "/>",
      "<s:Envelope " + soap + "><x:Header/></s:Envelope>",
      "<s:Envelope " + soap + " x:a=\"1\"/>",
      "<Envelope xmlns=\"urn:not-soap\"/>",
      "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a:b=\"urn:x\"/>",
      "<s:Envelope " + soap + " " + disc + "><s:Body><d:Probe><d:Scopes>a<d:b/></d:Scopes></d:Probe></s:Body>" +
          "</s:Envelope>",
  };
  for (const std::string& xml : inputs) EXPECT_FALSE(ReferenceScan(xml).ok()) << xml;
}

TEST(differential, FieldsFromScannerDecodesText) {
  // FieldsFromScanner on a hand-built Envelope: no scanner needed.
  wsd::Envelope envelope;
  envelope.soap = wsd::SoapVersion::k11;
  envelope.discovery = wsd::DiscoveryVersion::k2009;
  envelope.kind = wsd::MessageKind::kBye;
  envelope.action = wsd::Text{.raw = "urn:a", .present = true, .needs_decoding = false};
  envelope.app_sequence = wsd::AppSequence{.instance_id = 1, .message_number = 2, .sequence_id = {}};
  const Fields fields = FieldsFromScanner(envelope);
  EXPECT_EQ(fields.soap, "1.1");
  EXPECT_EQ(fields.discovery, "2009");
  EXPECT_EQ(fields.kind, "bye");
  EXPECT_EQ(fields.action, "urn:a");
  EXPECT_EQ(fields.message_id, std::nullopt);
  ASSERT_TRUE(fields.app_sequence.has_value());
  EXPECT_EQ(fields.app_sequence->sequence_id, std::nullopt);
  EXPECT_TRUE(fields.entries.empty());
  EXPECT_EQ(MessageKindName(wsd::MessageKind::kResolveMatches), "resolve_matches");
}

}  // namespace
}  // namespace onvif::testing
