// Unit tests for the zero-copy scanner (engine/wsd/scanner.h).

#include "engine/wsd/scanner.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/wsd/constants.h"

namespace onvif::wsd {
namespace {

using namespace std::string_literals;

constexpr std::string_view kS12 = "http://www.w3.org/2003/05/soap-envelope";
constexpr std::string_view kS11 = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr std::string_view kA04 = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
constexpr std::string_view kA05 = "http://www.w3.org/2005/08/addressing";
constexpr std::string_view kD05 = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
constexpr std::string_view kD09 = "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01";
constexpr std::string_view kDn = "http://www.onvif.org/ver10/network/wsdl";
constexpr std::string_view kTds = "http://www.onvif.org/ver10/device/wsdl";

// The decoded value of a field (empty when absent).
std::string Value(const Text& text) {
  std::string scratch(text.raw.size(), '\0');
  return std::string(text.Get(scratch));
}

// An envelope with the usual prefixes s, a, d declared on the root.
std::string Env(std::string_view header, std::string_view body, std::string_view extra_ns = "") {
  std::string out = "<s:Envelope xmlns:s=\"" + std::string(kS12) + "\" xmlns:a=\"" + std::string(kA04) +
                    "\" xmlns:d=\"" + std::string(kD05) + "\"";
  if (!extra_ns.empty()) out += " " + std::string(extra_ns);
  out += ">";
  if (!header.empty()) out += "<s:Header>" + std::string(header) + "</s:Header>";
  out += "<s:Body>" + std::string(body) + "</s:Body></s:Envelope>";
  return out;
}

std::string Match(std::string_view inner) { return "<d:ProbeMatches><d:ProbeMatch>" + std::string(inner) + "</d:ProbeMatch></d:ProbeMatches>"; }

const std::string kProbeMatches = R"(<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:SOAP-ENC="http://www.w3.org/2003/05/soap-encoding" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsdd="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"><SOAP-ENV:Header><wsa:MessageID>urn:uuid:4b8e2f3a-9c1d-4e5f-8a7b-0c1d2e3f4a5b</wsa:MessageID><wsa:RelatesTo>uuid:0a6dc791-2e96-4a6c-8f3f-5d2b9e1c7a44</wsa:RelatesTo><wsa:To SOAP-ENV:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To><wsa:Action SOAP-ENV:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action><wsdd:AppSequence InstanceId="1700000123" SequenceId="urn:uuid:seq" MessageNumber="42"/></SOAP-ENV:Header><SOAP-ENV:Body><wsdd:ProbeMatches><wsdd:ProbeMatch><wsa:EndpointReference><wsa:Address>urn:uuid:c5a7e3b0-1f2d-11ec-8000-a0b1c2d3e4f5</wsa:Address></wsa:EndpointReference><wsdd:Types>dn:NetworkVideoTransmitter tds:Device</wsdd:Types><wsdd:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/name/HIKVISION%20DS-2CD2143G2-I onvif://www.onvif.org/location/city/hangzhou</wsdd:Scopes><wsdd:XAddrs>http://192.168.1.64/onvif/device_service http://[fe80::a2b1:c2ff:fed3:e4f5]/onvif/device_service</wsdd:XAddrs><wsdd:MetadataVersion>10</wsdd:MetadataVersion></wsdd:ProbeMatch></wsdd:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>)";

class ScannerTest : public ::testing::Test {
 protected:
  ScanResult Scan(std::string_view xml) {
    input_ = std::string(xml);
    return scanner_.Scan(input_);
  }
  const Envelope& env() const { return scanner_.envelope(); }
  const Entry& entry(std::size_t i = 0) const { return env().entries()[i]; }
  std::vector<std::string> Types(const Entry& e) const {
    std::vector<std::string> out;
    for (const QName& q : env().types(e)) out.push_back("{" + std::string(q.ns) + "}" + std::string(q.local));
    return out;
  }
  // Expects error `error` at byte `offset`.
  void ExpectError(std::string_view xml, ScanError error, std::size_t offset) {
    const ScanResult r = Scan(xml);
    EXPECT_EQ(ScanErrorName(r.error), ScanErrorName(error)) << xml.substr(0, 300);
    EXPECT_EQ(r.offset, offset) << xml.substr(0, 300);
  }

  Scanner scanner_;
  std::string input_;
};

// ---------------------------------------------------------------------------
// A realistic ProbeMatches.

TEST_F(ScannerTest, RealisticProbeMatches) {
  ASSERT_TRUE(Scan(kProbeMatches).ok());
  EXPECT_EQ(env().soap, SoapVersion::k12);
  EXPECT_EQ(env().discovery, DiscoveryVersion::k2005);
  EXPECT_EQ(env().kind, MessageKind::kProbeMatches);
  EXPECT_EQ(env().action.raw, kActionProbeMatches);
  EXPECT_FALSE(env().action.needs_decoding);
  EXPECT_EQ(env().message_id.raw, "urn:uuid:4b8e2f3a-9c1d-4e5f-8a7b-0c1d2e3f4a5b");
  EXPECT_EQ(env().relates_to.raw, "uuid:0a6dc791-2e96-4a6c-8f3f-5d2b9e1c7a44");
  EXPECT_EQ(env().to.raw, kToAnonymous);
  ASSERT_TRUE(env().app_sequence.has_value());
  EXPECT_EQ(env().app_sequence->instance_id, 1700000123u);
  EXPECT_EQ(env().app_sequence->message_number, 42u);
  EXPECT_EQ(Value(env().app_sequence->sequence_id), "urn:uuid:seq");
  ASSERT_EQ(env().entries().size(), 1u);
  EXPECT_EQ(entry().endpoint.raw, "urn:uuid:c5a7e3b0-1f2d-11ec-8000-a0b1c2d3e4f5");
  EXPECT_TRUE(entry().has_types);
  EXPECT_EQ(Types(entry()), (std::vector<std::string>{"{" + std::string(kDn) + "}NetworkVideoTransmitter",
                                                      "{" + std::string(kTds) + "}Device"}));
  EXPECT_EQ(env().types(entry())[0].prefix, "dn");
  std::vector<std::string> scopes;
  for (std::string_view s : ListItems(entry().scopes.raw)) scopes.emplace_back(s);
  EXPECT_EQ(scopes.size(), 4u);
  EXPECT_EQ(scopes[2], "onvif://www.onvif.org/name/HIKVISION%20DS-2CD2143G2-I");
  std::vector<std::string> xaddrs;
  for (std::string_view s : ListItems(entry().xaddrs.raw)) xaddrs.emplace_back(s);
  EXPECT_EQ(xaddrs, (std::vector<std::string>{"http://192.168.1.64/onvif/device_service",
                                              "http://[fe80::a2b1:c2ff:fed3:e4f5]/onvif/device_service"}));
  EXPECT_EQ(entry().metadata_version, 10u);
  EXPECT_FALSE(entry().match_by.present);
}

TEST_F(ScannerTest, ViewsPointIntoTheInput) {
  ASSERT_TRUE(Scan(kProbeMatches).ok());
  const char* begin = input_.data();
  const char* end = begin + input_.size();
  EXPECT_GE(entry().xaddrs.raw.data(), begin);
  EXPECT_LE(entry().xaddrs.raw.data() + entry().xaddrs.raw.size(), end);
  EXPECT_GE(env().types(entry())[1].ns.data(), begin);
}

TEST_F(ScannerTest, ScannerIsReusable) {
  ASSERT_TRUE(Scan(kProbeMatches).ok());
  ASSERT_TRUE(Scan(Env("", "<d:Hello/>")).ok());
  EXPECT_EQ(env().kind, MessageKind::kHello);
  EXPECT_FALSE(env().action.present);
  EXPECT_FALSE(env().app_sequence.has_value());
  ASSERT_EQ(env().entries().size(), 1u);
  EXPECT_FALSE(entry().endpoint.present);
  EXPECT_FALSE(entry().has_types);
  EXPECT_FALSE(entry().metadata_version.has_value());
}

// ---------------------------------------------------------------------------
// Error names and every error code with its offset.

TEST(ScanErrorNameTest, AllNames) {
  const std::vector<std::pair<ScanError, std::string_view>> names = {
      {ScanError::kOk, "ok"},
      {ScanError::kTooLarge, "too_large"},
      {ScanError::kTruncated, "truncated"},
      {ScanError::kSyntax, "syntax"},
      {ScanError::kMismatchedTag, "mismatched_tag"},
      {ScanError::kUnterminatedComment, "unterminated_comment"},
      {ScanError::kUnterminatedCdata, "unterminated_cdata"},
      {ScanError::kUnboundPrefix, "unbound_prefix"},
      {ScanError::kDoctype, "doctype"},
      {ScanError::kTooDeep, "too_deep"},
      {ScanError::kTooManyEntries, "too_many_entries"},
      {ScanError::kTooManyTypes, "too_many_types"},
      {ScanError::kTooManyNamespaces, "too_many_namespaces"},
      {ScanError::kFieldTooLong, "field_too_long"},
      {ScanError::kBadReference, "bad_reference"},
      {ScanError::kUnexpectedElement, "unexpected_element"},
      {ScanError::kNotSoapEnvelope, "not_soap_envelope"},
  };
  for (const auto& [error, name] : names) EXPECT_EQ(ScanErrorName(error), name);
}

TEST_F(ScannerTest, TooLarge) {
  std::string xml = Env("", "");
  std::string big = xml + std::string(kMaxEnvelopeBytes - xml.size(), ' ');
  EXPECT_TRUE(Scan(big).ok());  // exactly 64 KiB, trailing whitespace is fine
  big += ' ';
  ExpectError(big, ScanError::kTooLarge, kMaxEnvelopeBytes);
}

TEST_F(ScannerTest, Truncated) {
  ExpectError("", ScanError::kTruncated, 0);
  ExpectError("   ", ScanError::kTruncated, 3);
  const std::string open = "<s:Envelope xmlns:s=\"" + std::string(kS12) + "\">";
  ExpectError(open, ScanError::kTruncated, open.size());
  ExpectError(open + "<s:Body>text", ScanError::kTruncated, open.size() + 12);
  ExpectError("<s:Envelope xmlns:s=\"" + std::string(kS12), ScanError::kTruncated, 21 + kS12.size());
}

TEST_F(ScannerTest, Syntax) {
  const std::string head = "<s:Envelope xmlns:s=\"" + std::string(kS12) + "\"><s:Body>";
  ExpectError(head + "< x/></s:Body></s:Envelope>", ScanError::kSyntax, head.size() + 1);
  ExpectError(head + "<x a=\"<\"/></s:Body></s:Envelope>", ScanError::kSyntax, head.size() + 6);
  ExpectError(head + "<x a=b/></s:Body></s:Envelope>", ScanError::kSyntax, head.size() + 5);
  ExpectError(head + "<x a=\"1\"b=\"2\"/></s:Body></s:Envelope>", ScanError::kSyntax, head.size() + 8);
  ExpectError(head + "<x:y:z/></s:Body></s:Envelope>", ScanError::kSyntax, head.size() + 2);  // at the first ':' 
  ExpectError("junk" + Env("", ""), ScanError::kSyntax, 0);
  const std::string env = Env("", "");
  ExpectError(env + "junk", ScanError::kSyntax, env.size());
  ExpectError(env + "<again/>", ScanError::kSyntax, env.size());
  // NUL inside a field and inside markup.
  const std::string a = Env("<a:Action>ab", "");
  std::string with_nul = Env("<a:Action>ab\0c</a:Action>"s, "");
  ExpectError(with_nul, ScanError::kSyntax, a.find("ab") + 2);
  std::string nul_in_name = head + "<x\0y/></s:Body></s:Envelope>"s;
  ExpectError(nul_in_name, ScanError::kSyntax, head.size() + 2);
  // NUL in skipped text and comments too; a '<' that starts nothing in a field.
  ExpectError(head + "ab\0c</s:Body></s:Envelope>"s, ScanError::kSyntax, head.size() + 2);
  ExpectError(head + "<!-- \0 --></s:Body></s:Envelope>"s, ScanError::kSyntax, head.size() + 5);
  const std::string lt_in_field = Env("<a:To>a < b</a:To>", "");
  ExpectError(lt_in_field, ScanError::kSyntax, lt_in_field.find("< b"));
  // Duplicate attributes, few or many (the hashed path).
  const std::string dup = Env("<d:AppSequence InstanceId=\"1\" InstanceId=\"2\" MessageNumber=\"3\"/>", "");
  ExpectError(dup, ScanError::kSyntax, dup.find("InstanceId=\"2\""));
  const std::string dup_ns = Env("", "", "xmlns:d=\"urn:again\"");
  ExpectError(dup_ns, ScanError::kSyntax, dup_ns.find("xmlns:d=\"urn:again\""));
  std::string many;
  for (int i = 0; i < 5000; ++i) many += " a" + std::to_string(i) + "=\"\"";
  EXPECT_TRUE(Scan(Env("", "<v" + many + "/>")).ok());
  const std::string many_dup = Env("", "<v" + many + " a4321=\"\"/>");
  ExpectError(many_dup, ScanError::kSyntax, many_dup.rfind("a4321"));
  // CDATA outside the root.
  ExpectError("<![CDATA[x]]>" + Env("", ""), ScanError::kSyntax, 0);
}

TEST_F(ScannerTest, MismatchedTag) {
  const std::string head = "<s:Envelope xmlns:s=\"" + std::string(kS12) + "\"><s:Body>";
  ExpectError(head + "</s:Bdy></s:Envelope>", ScanError::kMismatchedTag, head.size());
  ExpectError(head + "</s:Body2></s:Envelope>", ScanError::kMismatchedTag, head.size());
  ExpectError(head + "<x></y></s:Body></s:Envelope>", ScanError::kMismatchedTag, head.size() + 3);
  // Same local name, different prefix spelling: matching is by raw qname.
  ExpectError(head + "</Body></s:Envelope>", ScanError::kMismatchedTag, head.size());
}

TEST_F(ScannerTest, UnterminatedCommentAndCdata) {
  const std::string head = "<s:Envelope xmlns:s=\"" + std::string(kS12) + "\"><s:Body>";
  ExpectError(head + "<!-- never closed </s:Body></s:Envelope>", ScanError::kUnterminatedComment, head.size());
  ExpectError("<!-- x" + Env("", ""), ScanError::kUnterminatedComment, 0);
  ExpectError(head + "<![CDATA[ never closed </s:Body></s:Envelope>", ScanError::kUnterminatedCdata, head.size());
  const std::string field = Env("<a:To><![CDATA[x", "");
  ExpectError(field + "</a:To>", ScanError::kUnterminatedCdata, field.find("<![CDATA["));
  // "<!-->" does not close the comment it opens.
  ExpectError(head + "<!--></s:Body></s:Envelope>", ScanError::kUnterminatedComment, head.size());
}

TEST_F(ScannerTest, UnboundPrefix) {
  const std::string head = Env("", "").substr(0, Env("", "").find("<s:Body>") + 8);
  ExpectError(head + "<x:Foo/></s:Body></s:Envelope>", ScanError::kUnboundPrefix, head.size());
  ExpectError(head + "<d:Hello x:attr=\"1\"/></s:Body></s:Envelope>", ScanError::kUnboundPrefix, head.size() + 9);
  ExpectError("<s:Envelope><s:Body/></s:Envelope>", ScanError::kUnboundPrefix, 0);
  // xmlns:p="" leaves p unbound, also for a prefix an ancestor bound.
  ExpectError(head + "<a:X xmlns:a=\"\"/></s:Body></s:Envelope>", ScanError::kUnboundPrefix, head.size());
  ExpectError(head + "<p:X xmlns:p=\"\"/></s:Body></s:Envelope>", ScanError::kUnboundPrefix, head.size());
  // Prefixed attributes use the declarations of their own element.
  EXPECT_TRUE(Scan(head + "<d:Hello x:attr=\"1\" xmlns:x=\"urn:x\"/></s:Body></s:Envelope>").ok());
  // xml: is predefined.
  EXPECT_TRUE(Scan(head + "<d:Hello xml:lang=\"en\"><xml:foo/></d:Hello></s:Body></s:Envelope>").ok());
  // A binding goes out of scope with its element.
  ExpectError(head + "<x:A xmlns:x=\"urn:x\"/><x:B/></s:Body></s:Envelope>", ScanError::kUnboundPrefix,
              head.size() + 22);
}

TEST_F(ScannerTest, Doctype) {
  ExpectError("<!DOCTYPE foo [<!ENTITY x \"y\">]>" + Env("", ""), ScanError::kDoctype, 0);
  ExpectError("<?xml version=\"1.0\"?>\n<!DOCTYPE s:Envelope>" + Env("", ""), ScanError::kDoctype, 22);
  const std::string head = "<s:Envelope xmlns:s=\"" + std::string(kS12) + "\">";
  ExpectError(head + "<!DOCTYPE x></s:Envelope>", ScanError::kDoctype, head.size());
  ExpectError("<!ELEMENT x>" + Env("", ""), ScanError::kSyntax, 0);
}

TEST_F(ScannerTest, Depth) {
  const auto nested = [](int extra) {
    // Envelope + Body + extra levels.
    std::string open = "<s:Envelope xmlns:s=\"" + std::string(kS12) + "\"><s:Body>";
    std::string close = "</s:Body></s:Envelope>";
    for (int i = 0; i < extra; ++i) {
      open += "<v>";
      close = "</v>" + close;
    }
    return std::make_pair(open, open + close);
  };
  EXPECT_TRUE(Scan(nested(kMaxDepth - 2).second).ok());  // depth 32
  const auto [open, xml] = nested(kMaxDepth - 1);      // depth 33
  ExpectError(xml, ScanError::kTooDeep, open.size() - 3);
}

TEST_F(ScannerTest, Entries) {
  std::string body = "<d:ProbeMatches>";
  for (std::size_t i = 0; i < kMaxEntries; ++i) body += "<d:ProbeMatch/>";
  EXPECT_TRUE(Scan(Env("", body + "</d:ProbeMatches>")).ok());
  EXPECT_EQ(env().entries().size(), kMaxEntries);
  const std::string xml = Env("", body + "<d:ProbeMatch/></d:ProbeMatches>");
  ExpectError(xml, ScanError::kTooManyEntries, xml.find("<d:ProbeMatch/></d:ProbeMatches>"));
}

TEST_F(ScannerTest, TypesLimit) {
  std::string types;
  for (std::size_t i = 0; i < kMaxTypesPerEnvelope; ++i) types += "d:T" + std::to_string(i) + " ";
  ASSERT_TRUE(Scan(Env("", Match("<d:Types>" + types + "</d:Types>"))).ok());
  EXPECT_EQ(env().types(entry()).size(), kMaxTypesPerEnvelope);
  // The limit is per envelope: 256 in one entry plus one in another is 257.
  const std::string two = Env("", "<d:ProbeMatches><d:ProbeMatch><d:Types>" + types +
                                       "</d:Types></d:ProbeMatch><d:ProbeMatch><d:Types>d:X</d:Types>"
                                       "</d:ProbeMatch></d:ProbeMatches>");
  ExpectError(two, ScanError::kTooManyTypes, two.find("d:X"));
  const std::string one = Env("", Match("<d:Types>" + types + "d:Extra</d:Types>"));
  ExpectError(one, ScanError::kTooManyTypes, one.find("d:T0"));
}

TEST_F(ScannerTest, NamespaceLimit) {
  std::string decls;
  for (std::size_t i = 0; i < kMaxNamespaceBindings - 3; ++i) decls += " xmlns:n" + std::to_string(i) + "=\"urn:" + std::to_string(i) + "\"";
  EXPECT_TRUE(Scan(Env("", "<d:Hello/>", decls)).ok());  // 128 in scope
  const std::string xml = Env("", "<d:Hello xmlns:one=\"urn:more\"/>", decls);
  ExpectError(xml, ScanError::kTooManyNamespaces, xml.find("xmlns:one"));
  // Bindings out of scope do not count: 127 on the root, one more on each
  // of many siblings.
  const std::string fewer = decls.substr(0, decls.rfind(" xmlns:"));
  std::string siblings;
  for (int i = 0; i < 200; ++i) siblings += "<v xmlns:q=\"urn:q\"/>";
  EXPECT_TRUE(Scan(Env("", siblings, fewer)).ok());
}

TEST_F(ScannerTest, FieldLimit) {
  const std::string ok_value(kMaxFieldBytes, 'x');
  ASSERT_TRUE(Scan(Env("", Match("<d:XAddrs>" + ok_value + "</d:XAddrs>"))).ok());
  EXPECT_EQ(entry().xaddrs.raw.size(), kMaxFieldBytes);
  const std::string xml = Env("", Match("<d:XAddrs>" + ok_value + "x</d:XAddrs>"));
  ExpectError(xml, ScanError::kFieldTooLong, xml.find("<d:XAddrs>") + 10);
  // A long vendor element is not a field.
  EXPECT_TRUE(Scan(Env("", Match("<v:Big xmlns:v=\"urn:v\">" + ok_value + "x</v:Big>"))).ok());
}

TEST_F(ScannerTest, BadReference) {
  for (const std::string ref : {"&foo;", "&#0;", "&#xD800;", "&#xDFFF;", "&#x110000;", "&#;", "&#x;", "&amp",
                                "&#12a;", "&#X41;", "&;", "&ampamp;", "&#99999999999999999999;"}) {
    const std::string xml = Env("<a:Action>ab" + ref + "</a:Action>", "");
    ExpectError(xml, ScanError::kBadReference, xml.find("ab") + 2);
  }
  // In attribute values too.
  const std::string attr = Env("<d:AppSequence InstanceId=\"&bogus;\" MessageNumber=\"1\"/>", "");
  ExpectError(attr, ScanError::kBadReference, attr.find("&bogus;"));
  const std::string ns = "<s:Envelope xmlns:s=\"http:&#0;\"/>";
  ExpectError(ns, ScanError::kBadReference, ns.find("&#0;"));
}

TEST_F(ScannerTest, UnexpectedElement) {
  const std::string xml = Env("", Match("<a:EndpointReference><a:Address>urn:x<b/>y</a:Address></a:EndpointReference>"));
  ExpectError(xml, ScanError::kUnexpectedElement, xml.find("<b/>"));
  const std::string header = Env("<a:Action><a:Action>x</a:Action></a:Action>", "");
  ExpectError(header, ScanError::kUnexpectedElement, header.find("<a:Action>") + 10);
}

TEST_F(ScannerTest, NotSoapEnvelope) {
  ExpectError("<Envelope/>", ScanError::kNotSoapEnvelope, 0);
  ExpectError("<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"urn:not-soap\"><s:Body/></s:Envelope>",
              ScanError::kNotSoapEnvelope, 21);
  ExpectError("<s:Envelop xmlns:s=\"" + std::string(kS12) + "\"/>", ScanError::kNotSoapEnvelope, 0);
  // Malformed documents report the syntax error, not the wrong root.
  ExpectError("<x><y></x>", ScanError::kMismatchedTag, 6);
}

// ---------------------------------------------------------------------------
// Prolog, epilog, markup.

TEST_F(ScannerTest, PrologAndEpilog) {
  const std::string xml = "\xEF\xBB\xBF<?xml version=\"1.0\"?>\r\n<!-- c --><?pi x?>\n" + Env("", "<d:Bye/>") +
                          "\n<!-- after --><?pi?>\n";
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(env().kind, MessageKind::kBye);
}

TEST_F(ScannerTest, AttributeSyntaxVariants) {
  const std::string xml = "<s:Envelope xmlns:s = '" + std::string(kS12) + "'\n xmlns:d\t=\"" + std::string(kD05) +
                          "\" ><s:Header><d:AppSequence InstanceId = '5' MessageNumber=\"6\" /></s:Header>"
                          "<s:Body ></s:Body ></s:Envelope >";
  ASSERT_TRUE(Scan(xml).ok());
  ASSERT_TRUE(env().app_sequence.has_value());
  EXPECT_EQ(env().app_sequence->instance_id, 5u);
  EXPECT_EQ(env().app_sequence->message_number, 6u);
  // A quote of the other kind inside a value is just a character.
  ASSERT_TRUE(Scan(Env("", "<d:Probe><d:Scopes MatchBy='a\"b'>x</d:Scopes></d:Probe>")).ok());
  EXPECT_EQ(entry().match_by.raw, "a\"b");
}

TEST_F(ScannerTest, CommentsAndCdataInStructure) {
  const std::string xml = Env("<!-- <a:Action>not this</a:Action> --><![CDATA[<a:Action>nor this</a:Action>]]>"
                              "<a:Action>this</a:Action>",
                              "<!-- c --><d:Hello/>");
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(env().action.raw, "this");
  EXPECT_EQ(env().kind, MessageKind::kHello);
}

// ---------------------------------------------------------------------------
// Namespaces.

TEST_F(ScannerTest, DefaultNamespaces) {
  const std::string xml = "<Envelope xmlns=\"" + std::string(kS12) + "\"><Header><Action xmlns=\"" +
                          std::string(kA04) + "\">act</Action></Header><Body><ProbeMatches xmlns=\"" +
                          std::string(kD05) + "\" xmlns:dn=\"" + std::string(kDn) +
                          "\"><ProbeMatch><Types>dn:NetworkVideoTransmitter Device</Types>"
                          "<EndpointReference xmlns=\"" + std::string(kA04) + "\"><Address>urn:ep</Address>"
                          "</EndpointReference></ProbeMatch></ProbeMatches></Body></Envelope>";
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(env().action.raw, "act");
  EXPECT_EQ(env().kind, MessageKind::kProbeMatches);
  ASSERT_EQ(env().entries().size(), 1u);
  EXPECT_EQ(entry().endpoint.raw, "urn:ep");
  // The unprefixed QName in Types takes the default namespace at Types.
  EXPECT_EQ(Types(entry()), (std::vector<std::string>{"{" + std::string(kDn) + "}NetworkVideoTransmitter",
                                                      "{" + std::string(kD05) + "}Device"}));
  EXPECT_EQ(env().types(entry())[1].prefix, "");
}

TEST_F(ScannerTest, EmptyDefaultNamespaceUndeclares) {
  // Inside xmlns="" an unprefixed Action is in no namespace: not a field.
  const std::string xml = "<Envelope xmlns=\"" + std::string(kS12) + "\"><Header xmlns:a=\"" + std::string(kA04) +
                          "\"><a:Action>yes</a:Action><x xmlns=\"\"><Action>no</Action></x></Header><Body/></Envelope>";
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(env().action.raw, "yes");
  const std::string xml2 = "<Envelope xmlns=\"" + std::string(kS12) + "\"><Header xmlns=\"\"/><Body xmlns=\"\"><Hello/></Body></Envelope>";
  ASSERT_TRUE(Scan(xml2).ok());
  EXPECT_EQ(env().kind, MessageKind::kNone);  // that Body is in no namespace
  // Types without a prefix under xmlns="" have an empty namespace.
  const std::string xml3 = Env("", "<d:Probe><d:Types xmlns=\"\">Plain</d:Types></d:Probe>", "xmlns=\"urn:dflt\"");
  ASSERT_TRUE(Scan(xml3).ok());
  EXPECT_EQ(Types(entry()), (std::vector<std::string>{"{}Plain"}));
}

TEST_F(ScannerTest, DeclarationOnTheElementItself) {
  const std::string xml = "<e:Envelope xmlns:e=\"" + std::string(kS12) + "\"><e:Body><q:Hello xmlns:q=\"" +
                          std::string(kD05) + "\"><q:Types xmlns:q=\"" + std::string(kD09) +
                          "\">q:Thing</q:Types></q:Hello></e:Body></e:Envelope>";
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(env().kind, MessageKind::kHello);
  EXPECT_EQ(env().discovery, DiscoveryVersion::k2005);
  // Types' own declaration re-binds q for its content.
  EXPECT_EQ(Types(entry()), (std::vector<std::string>{"{" + std::string(kD09) + "}Thing"}));
}

TEST_F(ScannerTest, PrefixRedeclaredDeeper) {
  // d is rebound to a vendor namespace inside the match: those are not fields.
  const std::string xml = Env("", Match("<d:XAddrs>http://real</d:XAddrs>"
                                        "<v:Wrap xmlns:v=\"urn:v\" xmlns:d=\"urn:vendor\"><d:Scopes>fake</d:Scopes></v:Wrap>"
                                        "<x xmlns:d=\"urn:vendor\"/><d:Scopes>real</d:Scopes>"));
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(entry().xaddrs.raw, "http://real");
  EXPECT_EQ(entry().scopes.raw, "real");
  // And the other way round: a vendor prefix rebound to the real namespace.
  const std::string xml2 = Env("<v:Action xmlns:v=\"urn:v\">no</v:Action><v:Action xmlns:v=\"" + std::string(kA04) +
                                   "\">yes</v:Action>",
                               "");
  ASSERT_TRUE(Scan(xml2).ok());
  EXPECT_EQ(env().action.raw, "yes");
}

TEST_F(ScannerTest, VendorElementsWithSameLocalNamesAreIgnored) {
  const std::string xml = Env("<v:MessageID>vendor</v:MessageID><a:MessageID>real</a:MessageID>",
                              "<d:ProbeMatches><v:ProbeMatch><d:XAddrs>inside-vendor</d:XAddrs></v:ProbeMatch>"
                              "<d:ProbeMatch><v:Types>v:X</v:Types><v:EndpointReference><a:Address>no</a:Address>"
                              "</v:EndpointReference><a:EndpointReference><v:Address>no</v:Address>"
                              "<a:Address>yes</a:Address></a:EndpointReference></d:ProbeMatch></d:ProbeMatches>",
                              "xmlns:v=\"urn:vendor\"");
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(env().message_id.raw, "real");
  ASSERT_EQ(env().entries().size(), 1u);
  EXPECT_FALSE(entry().has_types);
  EXPECT_FALSE(entry().xaddrs.present);
  EXPECT_EQ(entry().endpoint.raw, "yes");
}

TEST_F(ScannerTest, FieldsOnlyAtTheirPaths) {
  // Discovery fields directly in the Body, an Address outside an EPR, Header
  // fields in the Body: none count.
  const std::string xml = Env("<d:ProbeMatch/>", "<a:Action>no</a:Action><d:Hello><a:Address>no</a:Address>"
                                                  "<d:ProbeMatch/></d:Hello>");
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_FALSE(env().action.present);
  ASSERT_EQ(env().entries().size(), 1u);
  EXPECT_FALSE(entry().endpoint.present);
  // ResolveMatch inside ProbeMatches is not an entry.
  ASSERT_TRUE(Scan(Env("", "<d:ProbeMatches><d:ResolveMatch/></d:ProbeMatches>")).ok());
  EXPECT_TRUE(env().entries().empty());
}

TEST_F(ScannerTest, Soap11) {
  const std::string xml = "<soap:Envelope xmlns:soap=\"" + std::string(kS11) + "\" xmlns:w=\"" + std::string(kA04) +
                          "\" xmlns:d=\"" + std::string(kD05) +
                          "\"><soap:Header><w:Action>act</w:Action></soap:Header><soap:Body><d:Probe/></soap:Body>"
                          "</soap:Envelope>";
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(env().soap, SoapVersion::k11);
  EXPECT_EQ(env().action.raw, "act");
  EXPECT_EQ(env().kind, MessageKind::kProbe);
  // Header/Body must be in the Envelope's SOAP version.
  const std::string mixed = "<soap:Envelope xmlns:soap=\"" + std::string(kS11) + "\" xmlns:s12=\"" + std::string(kS12) +
                            "\" xmlns:d=\"" + std::string(kD05) + "\"><s12:Body><d:Probe/></s12:Body></soap:Envelope>";
  ASSERT_TRUE(Scan(mixed).ok());
  EXPECT_EQ(env().kind, MessageKind::kNone);
}

TEST_F(ScannerTest, Discovery2009AndAddressing2005) {
  const std::string xml = "<s:Envelope xmlns:s=\"" + std::string(kS12) + "\" xmlns:wsa=\"" + std::string(kA05) +
                          "\" xmlns:wsd=\"" + std::string(kD09) +
                          "\"><s:Header><wsa:Action>act</wsa:Action><wsa:RelatesTo>rel</wsa:RelatesTo>"
                          "<wsd:AppSequence InstanceId=\"3\" MessageNumber=\"4\"/></s:Header><s:Body>"
                          "<wsd:ResolveMatches><wsd:ResolveMatch><wsa:EndpointReference><wsa:Address>urn:e"
                          "</wsa:Address></wsa:EndpointReference><wsd:XAddrs>http://x</wsd:XAddrs>"
                          "<wsd:MetadataVersion>2</wsd:MetadataVersion></wsd:ResolveMatch></wsd:ResolveMatches>"
                          "</s:Body></s:Envelope>";
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(env().discovery, DiscoveryVersion::k2009);
  EXPECT_EQ(env().kind, MessageKind::kResolveMatches);
  EXPECT_EQ(env().action.raw, "act");
  EXPECT_EQ(env().relates_to.raw, "rel");
  ASSERT_TRUE(env().app_sequence.has_value());
  EXPECT_EQ(env().app_sequence->instance_id, 3u);
  ASSERT_EQ(env().entries().size(), 1u);
  EXPECT_EQ(entry().endpoint.raw, "urn:e");
  EXPECT_EQ(entry().xaddrs.raw, "http://x");
  EXPECT_EQ(entry().metadata_version, 2u);
}

TEST_F(ScannerTest, NamespaceUriWithReferences) {
  // "http://..." spelled with references is the same namespace.
  const std::string xml = "<s:Envelope xmlns:s=\"http:&#x2F;/www.w3.org/2003/05/soap-envelope\" xmlns:d=\"" +
                          std::string(kD05) + "\" xmlns:t=\"urn:a&amp;b\"><s:Body><d:Probe><d:Types>t:X</d:Types>"
                          "</d:Probe></s:Body></s:Envelope>";
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(env().kind, MessageKind::kProbe);
  EXPECT_EQ(Types(entry()), (std::vector<std::string>{"{urn:a&b}X"}));
}

TEST_F(ScannerTest, MessageKinds) {
  const std::vector<std::pair<std::string, MessageKind>> cases = {
      {"", MessageKind::kNone},
      {"<d:Probe/>", MessageKind::kProbe},
      {"<d:ProbeMatches/>", MessageKind::kProbeMatches},
      {"<d:Resolve/>", MessageKind::kResolve},
      {"<d:ResolveMatches/>", MessageKind::kResolveMatches},
      {"<d:Hello/>", MessageKind::kHello},
      {"<d:Bye/>", MessageKind::kBye},
      {"<s:Fault/>", MessageKind::kFault},
      {"<d:Unknown/>", MessageKind::kOther},
      {"<v:Hello xmlns:v=\"urn:v\"/>", MessageKind::kOther},
      {"text only", MessageKind::kNone},
      {"<!-- c --><d:Bye/><d:Hello/>", MessageKind::kBye},
  };
  for (const auto& [body, kind] : cases) {
    ASSERT_TRUE(Scan(Env("", body)).ok()) << body;
    EXPECT_EQ(env().kind, kind) << body;
  }
  ASSERT_TRUE(Scan(Env("", "<v:X xmlns:v=\"urn:v\"/>")).ok());
  EXPECT_EQ(env().discovery, DiscoveryVersion::kNone);
}

TEST_F(ScannerTest, ProbeWithScopesMatchBy) {
  ASSERT_TRUE(Scan(Env("", "<d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes MatchBy=\" " +
                               std::string(kMatchByStrcmp0) + " \" other=\"1\">onvif://www.onvif.org/Profile/S"
                               "</d:Scopes></d:Probe>",
                           "xmlns:dn=\"" + std::string(kDn) + "\""))
                  .ok());
  EXPECT_EQ(env().kind, MessageKind::kProbe);
  ASSERT_EQ(env().entries().size(), 1u);
  EXPECT_EQ(entry().match_by.raw, kMatchByStrcmp0);
  EXPECT_EQ(entry().scopes.raw, "onvif://www.onvif.org/Profile/S");
  EXPECT_EQ(Types(entry()), (std::vector<std::string>{"{" + std::string(kDn) + "}NetworkVideoTransmitter"}));
}

TEST_F(ScannerTest, ManyAttributesOnAnInterestingElement) {
  // More attributes than the first pass keeps: they are read again.
  ASSERT_TRUE(Scan(Env("<d:AppSequence a=\"1\" b=\"2\" c=\"3\" d=\"4\" e=\"5\" v:f=\"6\" InstanceId=\"7\" "
                       "MessageNumber=\"8\"/>",
                       "", "xmlns:v=\"urn:v\""))
                  .ok());
  ASSERT_TRUE(env().app_sequence.has_value());
  EXPECT_EQ(env().app_sequence->instance_id, 7u);
  EXPECT_EQ(env().app_sequence->message_number, 8u);
  const std::string bad = Env("<d:AppSequence a=\"1\" b=\"2\" c=\"3\" d=\"4\" e=\"5\" w:f=\"6\"/>", "");
  ExpectError(bad, ScanError::kUnboundPrefix, bad.find("w:f"));
}

TEST_F(ScannerTest, DeclarationAfterFourPlainAttributes) {
  // Regression: a declaration after exactly four plain attributes once
  // overwrote the fourth saved attribute and failed as unbound_prefix.
  ASSERT_TRUE(Scan(Env("", "<v a=\"1\" b=\"2\" c=\"3\" d=\"4\" xmlns:q=\"urn:q\"/>")).ok());
  EXPECT_EQ(env().kind, MessageKind::kOther);
  ASSERT_TRUE(Scan(Env("", "<v a=\"1\" b=\"2\" c=\"3\" d=\"4\" xmlns:q=\"urn:q\" q:e=\"5\"/>")).ok());
  const std::string bad = Env("", "<v a=\"1\" b=\"2\" c=\"3\" d=\"4\" xmlns:q=\"urn:q\" r:e=\"5\"/>");
  ExpectError(bad, ScanError::kUnboundPrefix, bad.find("r:e"));
}

// ---------------------------------------------------------------------------
// Text decoding.

TEST_F(ScannerTest, PlainTextIsTrimmedWithoutDecoding) {
  ASSERT_TRUE(Scan(Env("<a:To> \t\n urn:x \n</a:To>", "")).ok());
  EXPECT_FALSE(env().to.needs_decoding);
  EXPECT_EQ(env().to.raw, "urn:x");
  EXPECT_EQ(Value(env().to), "urn:x");
  ASSERT_TRUE(Scan(Env("<a:To/><a:Action></a:Action><a:MessageID>   </a:MessageID>", "")).ok());
  EXPECT_TRUE(env().to.present);
  EXPECT_EQ(env().to.raw, "");
  EXPECT_TRUE(env().action.present);
  EXPECT_EQ(env().action.raw, "");
  EXPECT_EQ(env().message_id.raw, "");
  EXPECT_FALSE(env().relates_to.present);
}

TEST_F(ScannerTest, Entities) {
  ASSERT_TRUE(Scan(Env("<a:To> a&lt;b&gt;c&amp;d&apos;e&quot;f </a:To>", "")).ok());
  EXPECT_TRUE(env().to.needs_decoding);
  EXPECT_EQ(env().to.raw, " a&lt;b&gt;c&amp;d&apos;e&quot;f ");
  EXPECT_EQ(Value(env().to), "a<b>c&d'e\"f");
}

TEST_F(ScannerTest, CharacterReferences) {
  ASSERT_TRUE(Scan(Env("<a:To>&#65;&#x42;&#xe9;&#8364;&#x1F600;&#x10FFFF;&#x20;x&#9;</a:To>", "")).ok());
  EXPECT_EQ(Value(env().to), "AB\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF x");
  // A leading reference to whitespace is trimmed after decoding.
  ASSERT_TRUE(Scan(Env("<a:To>&#x20;&#32;u&#10;</a:To>", "")).ok());
  EXPECT_EQ(Value(env().to), "u");
}

TEST_F(ScannerTest, CdataAndComments) {
  ASSERT_TRUE(Scan(Env("<a:To> a<!-- drop -->b<![CDATA[<c>&amp;]]>d <?pi x?>e</a:To>", "")).ok());
  EXPECT_TRUE(env().to.needs_decoding);
  EXPECT_EQ(Value(env().to), "ab<c>&amp;d e");
  ASSERT_TRUE(Scan(Env("<a:To><![CDATA[  spaced  ]]></a:To>", "")).ok());
  EXPECT_EQ(Value(env().to), "spaced");
}

TEST_F(ScannerTest, LineEnds) {
  ASSERT_TRUE(Scan(Env("<a:To>a\r\nb\rc\n\rd\r</a:To>", "")).ok());
  EXPECT_TRUE(env().to.needs_decoding);
  EXPECT_EQ(Value(env().to), "a\nb\nc\n\nd");
  ASSERT_TRUE(Scan(Env("<a:To><![CDATA[x\r\ny]]></a:To>", "")).ok());
  EXPECT_EQ(Value(env().to), "x\ny");
}

TEST_F(ScannerTest, AttributeDecoding) {
  ASSERT_TRUE(Scan(Env("<d:AppSequence InstanceId=\"&#x31;2\" MessageNumber=\" 7 \" SequenceId=\"a&amp;b\"/>", "")).ok());
  ASSERT_TRUE(env().app_sequence.has_value());
  EXPECT_EQ(env().app_sequence->instance_id, 12u);
  EXPECT_EQ(env().app_sequence->message_number, 7u);
  EXPECT_TRUE(env().app_sequence->sequence_id.needs_decoding);
  EXPECT_EQ(Value(env().app_sequence->sequence_id), "a&b");
}

TEST_F(ScannerTest, GetToleratesHandMadeText) {
  Text t;
  t.raw = "a&bogus;<b>&#0;<!-- x";
  t.present = true;
  t.needs_decoding = true;
  std::string scratch(t.raw.size(), '\0');
  EXPECT_EQ(t.Get(scratch), "a&bogus;<b>&#0;");
  // A too-small scratch is never overrun.
  char tiny[2];
  EXPECT_EQ(t.Get(std::span<char>(tiny, 2)), "a&");
}

// ---------------------------------------------------------------------------
// Types.

TEST_F(ScannerTest, TypesResolution) {
  const std::string xml = Env("", Match("<d:Types xmlns:tds=\"" + std::string(kTds) +
                                        "\">\n  dn:NetworkVideoTransmitter\ttds:Device  nope:Thing Plain xml:lang\n"
                                        "</d:Types>"),
                              "xmlns:dn=\"" + std::string(kDn) + "\"");
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(Types(entry()), (std::vector<std::string>{
                                "{" + std::string(kDn) + "}NetworkVideoTransmitter",
                                "{" + std::string(kTds) + "}Device",
                                "{}Thing",  // unbound prefix: tolerated, empty namespace
                                "{}Plain",  // no default namespace
                                "{http://www.w3.org/XML/1998/namespace}lang",
                            }));
  EXPECT_EQ(env().types(entry())[2].prefix, "nope");
}

TEST_F(ScannerTest, TypesNeedingDecoding) {
  const std::string xml = Env("", Match("<d:Types>dn:A<!-- c -->&#x20;dn:B <![CDATA[dn:C]]></d:Types>"),
                              "xmlns:dn=\"" + std::string(kDn) + "\"");
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(Types(entry()), (std::vector<std::string>{"{" + std::string(kDn) + "}A", "{" + std::string(kDn) + "}B",
                                                      "{" + std::string(kDn) + "}C"}));
}

TEST_F(ScannerTest, EmptyTypesArePresent) {
  ASSERT_TRUE(Scan(Env("", Match("<d:Types/>"))).ok());
  EXPECT_TRUE(entry().has_types);
  EXPECT_TRUE(env().types(entry()).empty());
  ASSERT_TRUE(Scan(Env("", Match("<d:Types>  </d:Types>"))).ok());
  EXPECT_TRUE(entry().has_types);
  EXPECT_TRUE(env().types(entry()).empty());
}

TEST_F(ScannerTest, TypesPerEntry) {
  const std::string xml = Env("", "<d:ProbeMatches><d:ProbeMatch><d:Types>d:A d:B</d:Types></d:ProbeMatch>"
                                  "<d:ProbeMatch/><d:ProbeMatch><d:Types>d:C</d:Types></d:ProbeMatch></d:ProbeMatches>");
  ASSERT_TRUE(Scan(xml).ok());
  ASSERT_EQ(env().entries().size(), 3u);
  EXPECT_EQ(Types(entry(0)).size(), 2u);
  EXPECT_FALSE(entry(1).has_types);
  EXPECT_EQ(Types(entry(2)), (std::vector<std::string>{"{" + std::string(kD05) + "}C"}));
}

// ---------------------------------------------------------------------------
// First occurrence wins.

TEST_F(ScannerTest, FirstOccurrenceWins) {
  const std::string xml = Env("<a:Action>first</a:Action><a:Action>second</a:Action>"
                              "<d:AppSequence InstanceId=\"1\"/><d:AppSequence InstanceId=\"2\" MessageNumber=\"3\"/>",
                              Match("<a:EndpointReference><a:Address>ep1</a:Address><a:Address>ep2</a:Address>"
                                    "</a:EndpointReference><a:EndpointReference><a:Address>ep3</a:Address>"
                                    "</a:EndpointReference><d:XAddrs>x1</d:XAddrs><d:XAddrs>x2</d:XAddrs>"
                                    "<d:Types>d:A</d:Types><d:Types>d:B</d:Types>"
                                    "<d:MetadataVersion>bad</d:MetadataVersion><d:MetadataVersion>5</d:MetadataVersion>"));
  ASSERT_TRUE(Scan(xml).ok());
  EXPECT_EQ(env().action.raw, "first");
  // The first AppSequence lacks MessageNumber, so there is none.
  EXPECT_FALSE(env().app_sequence.has_value());
  EXPECT_EQ(entry().endpoint.raw, "ep1");
  EXPECT_EQ(entry().xaddrs.raw, "x1");
  EXPECT_EQ(Types(entry()), (std::vector<std::string>{"{" + std::string(kD05) + "}A"}));
  EXPECT_FALSE(entry().metadata_version.has_value());
  // A later duplicate is not even looked at.
  ASSERT_TRUE(Scan(Env("<a:To>x</a:To><a:To>a<b/>&bogus;</a:To>", "")).ok());
  EXPECT_EQ(env().to.raw, "x");
}

// ---------------------------------------------------------------------------
// Numbers.

TEST_F(ScannerTest, Numbers) {
  const std::vector<std::pair<std::string, std::optional<std::uint64_t>>> cases = {
      {"0", 0},
      {"  42\n", 42},
      {"007", 7},
      {"18446744073709551615", UINT64_MAX},
      {"18446744073709551616", std::nullopt},
      {"99999999999999999999999", std::nullopt},
      {"", std::nullopt},
      {"abc", std::nullopt},
      {"-1", std::nullopt},
      {"+1", std::nullopt},
      {"1.0", std::nullopt},
      {"1 2", std::nullopt},
      {"&#x34;2", 42},
      {"<!-- c -->5", 5},
  };
  for (const auto& [text, expected] : cases) {
    ASSERT_TRUE(Scan(Env("", Match("<d:MetadataVersion>" + text + "</d:MetadataVersion>"))).ok()) << text;
    EXPECT_EQ(entry().metadata_version, expected) << text;
  }
}

TEST_F(ScannerTest, AppSequencePresence) {
  const auto seq = [this](const std::string& attrs) {
    EXPECT_TRUE(Scan(Env("<d:AppSequence " + attrs + "/>", "")).ok()) << attrs;
    return env().app_sequence;
  };
  EXPECT_TRUE(seq("InstanceId=\"1\" MessageNumber=\"2\"").has_value());
  EXPECT_FALSE(seq("InstanceId=\"1\" MessageNumber=\"2\"").value().sequence_id.present);
  EXPECT_FALSE(seq("InstanceId=\"1\"").has_value());
  EXPECT_FALSE(seq("MessageNumber=\"2\"").has_value());
  EXPECT_FALSE(seq("InstanceId=\"x\" MessageNumber=\"2\"").has_value());
  EXPECT_FALSE(seq("InstanceId=\"1\" MessageNumber=\"18446744073709551616\"").has_value());
  EXPECT_FALSE(seq("v:InstanceId=\"1\" MessageNumber=\"2\" xmlns:v=\"urn:v\"").has_value());
  const auto full = seq("SequenceId=\"urn:s\" MessageNumber=\"2\" InstanceId=\"1\"");
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->sequence_id.raw, "urn:s");
  // AppSequence in a vendor namespace, or outside the Header, does not count.
  ASSERT_TRUE(Scan(Env("<v:AppSequence InstanceId=\"1\" MessageNumber=\"2\" xmlns:v=\"urn:v\"/>",
                       "<d:AppSequence InstanceId=\"1\" MessageNumber=\"2\"/>"))
                  .ok());
  EXPECT_FALSE(env().app_sequence.has_value());
}

// ---------------------------------------------------------------------------
// ListItems.

std::vector<std::string> Items(std::string_view s) {
  std::vector<std::string> out;
  for (std::string_view item : ListItems(s)) out.emplace_back(item);
  return out;
}

TEST(ListItemsTest, EdgeCases) {
  EXPECT_TRUE(Items("").empty());
  EXPECT_TRUE(Items(std::string_view()).empty());
  EXPECT_TRUE(Items(" \t\r\n ").empty());
  EXPECT_EQ(Items("a"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Items("  a"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Items("a  "), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Items(" a \t\n b\r\nc  "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Items("http://x/a%20b http://y"), (std::vector<std::string>{"http://x/a%20b", "http://y"}));
  ListItems items("x y");
  auto it = items.begin();
  EXPECT_EQ(*it++, "x");
  EXPECT_EQ(*it, "y");
  ++it;
  EXPECT_TRUE(it == items.end());
}

// ---------------------------------------------------------------------------
// Truncation and hostile bytes.

TEST_F(ScannerTest, EveryProperPrefixIsRejected) {
  const std::vector<std::string> docs = {
      kProbeMatches,
      Env("<a:To>a&amp;b<![CDATA[x]]><!-- c --></a:To><d:AppSequence InstanceId='1' MessageNumber='2'/>",
          Match("<d:Types>d:A</d:Types>")),
  };
  for (const std::string& doc : docs) {
    ASSERT_TRUE(Scan(doc).ok());
    for (std::size_t n = 0; n < doc.size(); ++n) {
      // Copy into an exact-size buffer so ASan catches any read past the end.
      std::unique_ptr<char[]> buf(new char[n == 0 ? 1 : n]);
      std::memcpy(buf.get(), doc.data(), n);
      const ScanResult r = scanner_.Scan(std::string_view(buf.get(), n));
      EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
      EXPECT_LE(r.offset, n);
    }
  }
}

TEST_F(ScannerTest, EveryByteFlippedDoesNotCrash) {
  const std::string doc = kProbeMatches;
  int accepted = 0;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    for (const char c : {'\0', '<', '>', '&', '"', '/', ':', '\xFF'}) {
      std::string mutated = doc;
      mutated[i] = c;
      std::unique_ptr<char[]> buf(new char[mutated.size()]);
      std::memcpy(buf.get(), mutated.data(), mutated.size());
      const ScanResult r = scanner_.Scan(std::string_view(buf.get(), mutated.size()));
      if (r.ok()) {
        ++accepted;
      } else {
        EXPECT_LE(r.offset, mutated.size());
      }
    }
  }
  EXPECT_GT(accepted, 0);  // e.g. a changed character inside a URL
}

}  // namespace
}  // namespace onvif::wsd
