// Round trips: every message the builders produce is scanned back with the
// zero-copy Scanner and must yield exactly the fields that went in.

#include "engine/wsd/builder.h"

#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_join.h"
#include "engine/base/strings.h"
#include "engine/wsd/constants.h"
#include "engine/wsd/scanner.h"
#include "gtest/gtest.h"

namespace onvif::wsd {
namespace {

using ::onvif::base::StrCat;

// ---- Owned, comparable view of a scanned envelope -------------------------

struct EntryValues {
  std::optional<std::string> endpoint;
  std::optional<std::vector<QNameSpec>> types;
  std::optional<std::vector<std::string>> scopes;
  std::optional<std::string> match_by;
  std::optional<std::vector<std::string>> xaddrs;
  std::optional<std::uint64_t> metadata_version;
  bool operator==(const EntryValues&) const = default;
};

struct AppSequenceValues {
  std::uint64_t instance_id = 0;
  std::optional<std::string> sequence_id;
  std::uint64_t message_number = 0;
  bool operator==(const AppSequenceValues&) const = default;
};

struct MessageValues {
  SoapVersion soap = SoapVersion::k12;
  DiscoveryVersion discovery = DiscoveryVersion::kNone;
  MessageKind kind = MessageKind::kNone;
  std::optional<std::string> action;
  std::optional<std::string> message_id;
  std::optional<std::string> relates_to;
  std::optional<std::string> to;
  std::optional<AppSequenceValues> app_sequence;
  std::vector<EntryValues> entries;
  bool operator==(const MessageValues&) const = default;
};

std::string Describe(const std::optional<std::string>& value) {
  return value ? StrCat("\"", *value, "\"") : "absent";
}

std::string Describe(const std::optional<std::vector<std::string>>& values) {
  return values ? StrCat("[", absl::StrJoin(*values, ", "), "]") : "absent";
}

void PrintTo(const MessageValues& m, std::ostream* os) {
  *os << "\n  soap=" << static_cast<int>(m.soap) << " discovery=" << static_cast<int>(m.discovery)
      << " kind=" << static_cast<int>(m.kind) << "\n  action=" << Describe(m.action)
      << "\n  message_id=" << Describe(m.message_id) << "\n  relates_to=" << Describe(m.relates_to)
      << "\n  to=" << Describe(m.to) << "\n  app_sequence=";
  if (m.app_sequence) {
    *os << m.app_sequence->instance_id << "/" << Describe(m.app_sequence->sequence_id) << "/"
        << m.app_sequence->message_number;
  } else {
    *os << "absent";
  }
  for (const EntryValues& e : m.entries) {
    *os << "\n  entry endpoint=" << Describe(e.endpoint) << " types=";
    if (e.types) {
      for (const QNameSpec& q : *e.types) *os << "{" << q.ns << "}" << q.local << " ";
    } else {
      *os << "absent";
    }
    *os << " scopes=" << Describe(e.scopes) << " match_by=" << Describe(e.match_by)
        << " xaddrs=" << Describe(e.xaddrs) << " metadata_version="
        << (e.metadata_version ? StrCat(*e.metadata_version) : "absent");
  }
}

std::optional<std::string> Decode(const Text& text) {
  if (!text.present) return std::nullopt;
  std::string scratch(text.raw.size(), '\0');
  return std::string(text.Get(scratch));
}

std::optional<std::vector<std::string>> DecodeList(const Text& text) {
  std::optional<std::string> value = Decode(text);
  if (!value) return std::nullopt;
  std::vector<std::string> items;
  for (std::string_view item : ListItems(*value)) items.emplace_back(item);
  return items;
}

// Scans bytes; records a test failure (with the bytes around the error) and
// returns nullopt when the scanner rejects them.
std::optional<MessageValues> ScanBack(const std::string& bytes) {
  Scanner scanner;
  const ScanResult result = scanner.Scan(std::string_view(bytes));
  if (!result.ok()) {
    const std::size_t from = result.offset > 40 ? result.offset - 40 : 0;
    ADD_FAILURE() << "scan failed: " << ScanErrorName(result.error) << " at " << result.offset
                  << " near \"" << bytes.substr(from, 80) << "\"\nin: " << bytes;
    return std::nullopt;
  }
  const Envelope& envelope = scanner.envelope();
  MessageValues m;
  m.soap = envelope.soap;
  m.discovery = envelope.discovery;
  m.kind = envelope.kind;
  m.action = Decode(envelope.action);
  m.message_id = Decode(envelope.message_id);
  m.relates_to = Decode(envelope.relates_to);
  m.to = Decode(envelope.to);
  if (envelope.app_sequence) {
    m.app_sequence = AppSequenceValues{envelope.app_sequence->instance_id,
                                       Decode(envelope.app_sequence->sequence_id),
                                       envelope.app_sequence->message_number};
  }
  for (const Entry& entry : envelope.entries()) {
    EntryValues e;
    e.endpoint = Decode(entry.endpoint);
    if (entry.has_types) {
      e.types.emplace();
      for (const QName& q : envelope.types(entry)) {
        e.types->push_back(QNameSpec{std::string(q.ns), std::string(q.local)});
      }
    }
    e.scopes = DecodeList(entry.scopes);
    e.match_by = Decode(entry.match_by);
    e.xaddrs = DecodeList(entry.xaddrs);
    e.metadata_version = entry.metadata_version;
    m.entries.push_back(std::move(e));
  }
  return m;
}

// ---- What the builders were asked to write --------------------------------

template <typename T>
std::optional<std::vector<T>> UnlessEmpty(const std::vector<T>& values) {
  if (values.empty()) return std::nullopt;
  return values;
}

std::optional<std::string> UnlessEmpty(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return value;
}

AppSequenceValues Expected(const AppSequenceSpec& seq) {
  return {seq.instance_id, UnlessEmpty(seq.sequence_id), seq.message_number};
}

EntryValues Expected(const DeviceDescription& device) {
  EntryValues e;
  e.endpoint = device.endpoint;
  e.types = UnlessEmpty(device.types);
  e.scopes = UnlessEmpty(device.scopes);
  e.xaddrs = UnlessEmpty(device.xaddrs);
  e.metadata_version = device.metadata_version;
  return e;
}

MessageValues ExpectedHeader(MessageKind kind, std::string_view action, std::string_view message_id,
                             std::string_view to) {
  MessageValues m;
  m.soap = SoapVersion::k12;
  m.discovery = DiscoveryVersion::k2005;
  m.kind = kind;
  m.action = std::string(action);
  m.message_id = std::string(message_id);
  m.to = std::string(to);
  return m;
}

// ---- Fixtures -------------------------------------------------------------

const QNameSpec kNvt{std::string(kNsOnvifNetwork), std::string(kTypeNetworkVideoTransmitter)};
const QNameSpec kDevice{std::string(kNsOnvifDevice), std::string(kTypeDevice)};

DeviceDescription TypicalCamera(int index = 0) {
  DeviceDescription d;
  d.endpoint = StrCat("urn:uuid:4f1c2b7a-0c3d-4e5f-8a9b-0000000000", 10 + index);
  d.types = {kNvt, kDevice};
  d.scopes = {
      "onvif://www.onvif.org/type/video_encoder",
      "onvif://www.onvif.org/type/audio_encoder",
      "onvif://www.onvif.org/type/ptz",
      "onvif://www.onvif.org/Profile/Streaming",
      "onvif://www.onvif.org/Profile/G",
      "onvif://www.onvif.org/Profile/T",
      "onvif://www.onvif.org/hardware/DS-2CD2143G2-I",
      "onvif://www.onvif.org/name/Front%20Door%20Camera",
      "onvif://www.onvif.org/location/country/germany",
      "onvif://www.onvif.org/location/city/berlin",
      "onvif://www.onvif.org/location/building/warehouse-7",
  };
  d.xaddrs = {StrCat("http://192.168.1.", 64 + index, "/onvif/device_service"),
              StrCat("https://192.168.1.", 64 + index, "/onvif/device_service"),
              "http://169.254.17.4/onvif/device_service",
              "http://[fe80::4a2c:aff:fe01:2345]/onvif/device_service"};
  d.metadata_version = 7 + static_cast<std::uint64_t>(index);
  return d;
}

constexpr std::string_view kProbeId = "urn:uuid:00000000-0000-4000-8000-000000000001";
constexpr std::string_view kReplyId = "urn:uuid:00000000-0000-4000-8000-000000000002";

// ---- Probe ----------------------------------------------------------------

TEST(BuilderTest, ProbeIsCompactAndExact) {
  const std::string probe = BuildProbe(kProbeId, ProbeSpec{.types = {kNvt}});
  EXPECT_EQ(probe,
            R"(<?xml version="1.0" encoding="UTF-8"?>)"
            R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope")"
            R"( xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing")"
            R"( xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery")"
            R"( xmlns:dn="http://www.onvif.org/ver10/network/wsdl">)"
            R"(<s:Header>)"
            R"(<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>)"
            R"(<a:MessageID>urn:uuid:00000000-0000-4000-8000-000000000001</a:MessageID>)"
            R"(<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>)"
            R"(</s:Header><s:Body>)"
            R"(<d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe>)"
            R"(</s:Body></s:Envelope>)");
}

TEST(BuilderTest, ProbeRoundTrips) {
  ProbeSpec spec;
  spec.types = {kNvt, kDevice, QNameSpec{"urn:example:vendor", "Recorder"}, kNvt};
  spec.scopes = {"onvif://www.onvif.org/Profile/Streaming", "onvif://www.onvif.org/name/A%20B"};
  spec.match_by = std::string(kMatchByStrcmp0);
  const std::string probe = BuildProbe(kProbeId, spec);
  // One declaration per distinct namespace: s, a, d, dn, tds, t1.
  std::size_t declarations = 0;
  for (std::size_t p = probe.find("xmlns:"); p != std::string::npos; p = probe.find("xmlns:", p + 1)) {
    ++declarations;
  }
  EXPECT_EQ(declarations, 6u) << probe;
  EXPECT_NE(probe.find(R"(xmlns:t1="urn:example:vendor")"), std::string::npos) << probe;

  MessageValues expected = ExpectedHeader(MessageKind::kProbe, kActionProbe, kProbeId, kToDiscovery);
  EntryValues entry;
  entry.types = spec.types;
  entry.scopes = spec.scopes;
  entry.match_by = spec.match_by;
  expected.entries = {entry};
  EXPECT_EQ(ScanBack(probe), expected) << probe;
}

TEST(BuilderTest, ProbeWithoutTypesOrScopes) {
  const std::string probe = BuildProbe(kProbeId, ProbeSpec{});
  EXPECT_EQ(probe.find("d:Types"), std::string::npos);
  EXPECT_EQ(probe.find("d:Scopes"), std::string::npos);
  MessageValues expected = ExpectedHeader(MessageKind::kProbe, kActionProbe, kProbeId, kToDiscovery);
  expected.entries = {EntryValues{}};
  EXPECT_EQ(ScanBack(probe), expected) << probe;
}

TEST(BuilderTest, ProbeMatchByWithoutScopes) {
  const std::string probe =
      BuildProbe(kProbeId, ProbeSpec{.match_by = std::string(kMatchByRfc3986)});
  MessageValues expected = ExpectedHeader(MessageKind::kProbe, kActionProbe, kProbeId, kToDiscovery);
  EntryValues entry;
  entry.scopes = std::vector<std::string>{};
  entry.match_by = std::string(kMatchByRfc3986);
  expected.entries = {entry};
  EXPECT_EQ(ScanBack(probe), expected) << probe;
}

TEST(BuilderTest, TypeWithoutNamespaceIsUnprefixed) {
  const std::string probe =
      BuildProbe(kProbeId, ProbeSpec{.types = {QNameSpec{"", "Local"}, kDevice}});
  EXPECT_NE(probe.find("<d:Types>Local tds:Device</d:Types>"), std::string::npos) << probe;
  MessageValues expected = ExpectedHeader(MessageKind::kProbe, kActionProbe, kProbeId, kToDiscovery);
  EntryValues entry;
  entry.types = std::vector<QNameSpec>{QNameSpec{"", "Local"}, kDevice};
  expected.entries = {entry};
  EXPECT_EQ(ScanBack(probe), expected) << probe;
}

// ---- ProbeMatches ---------------------------------------------------------

TEST(BuilderTest, ProbeMatchesOneMatchRoundTrips) {
  const AppSequenceSpec seq{.instance_id = 1700000000, .message_number = 3};
  const std::vector<DeviceDescription> matches = {TypicalCamera()};
  const std::string reply = BuildProbeMatches(kReplyId, kProbeId, seq, matches);
  MessageValues expected =
      ExpectedHeader(MessageKind::kProbeMatches, kActionProbeMatches, kReplyId, kToAnonymous);
  expected.relates_to = std::string(kProbeId);
  expected.app_sequence = Expected(seq);
  expected.entries = {Expected(matches[0])};
  EXPECT_EQ(ScanBack(reply), expected) << reply;
}

TEST(BuilderTest, ProbeMatchesManyMatchesRoundTrip) {
  const AppSequenceSpec seq{.instance_id = 9, .sequence_id = "urn:uuid:seq-1", .message_number = 44};
  std::vector<DeviceDescription> matches;
  for (int i = 0; i < 5; ++i) matches.push_back(TypicalCamera(i));
  matches[1].types.push_back(QNameSpec{"urn:example:nvr", "Recorder"});
  matches[2].types = {QNameSpec{"urn:example:other", "Thing"}};
  matches[3].scopes.clear();
  matches[3].xaddrs.clear();
  matches[4].types.clear();
  const std::string reply = BuildProbeMatches(kReplyId, kProbeId, seq, matches);
  // Namespaces are declared once on the Envelope, not per match.
  EXPECT_EQ(reply.find("xmlns:", reply.find("<s:Header>")), std::string::npos) << reply;
  MessageValues expected =
      ExpectedHeader(MessageKind::kProbeMatches, kActionProbeMatches, kReplyId, kToAnonymous);
  expected.relates_to = std::string(kProbeId);
  expected.app_sequence = Expected(seq);
  for (const DeviceDescription& match : matches) expected.entries.push_back(Expected(match));
  EXPECT_EQ(ScanBack(reply), expected) << reply;
}

TEST(BuilderTest, ProbeMatchesWithoutMatches) {
  const AppSequenceSpec seq{.instance_id = 1, .message_number = 1};
  const std::string reply = BuildProbeMatches(kReplyId, kProbeId, seq, {});
  MessageValues expected =
      ExpectedHeader(MessageKind::kProbeMatches, kActionProbeMatches, kReplyId, kToAnonymous);
  expected.relates_to = std::string(kProbeId);
  expected.app_sequence = Expected(seq);
  EXPECT_EQ(ScanBack(reply), expected) << reply;
}

TEST(BuilderTest, TypicalProbeMatchesFitsDpwsLimit) {
  // DPWS Appendix B: UDP envelopes should stay under 4096 bytes.
  const std::vector<DeviceDescription> matches = {TypicalCamera()};
  const std::string reply = BuildProbeMatches(
      NewMessageId(), NewMessageId(),
      AppSequenceSpec{.instance_id = UINT64_MAX, .sequence_id = NewMessageId(),
                      .message_number = UINT64_MAX},
      matches);
  EXPECT_LT(reply.size(), 4096u);
  EXPECT_LT(reply.size(), 2048u) << "grew unexpectedly: " << reply.size();
  EXPECT_EQ(reply.find('\n'), std::string::npos);
  EXPECT_EQ(reply.find("> <"), std::string::npos);
}

// ---- Hello, Bye, Resolve, ResolveMatches ----------------------------------

TEST(BuilderTest, HelloRoundTrips) {
  const AppSequenceSpec seq{.instance_id = 77, .sequence_id = "urn:uuid:abc", .message_number = 1};
  const DeviceDescription device = TypicalCamera();
  const std::string hello = BuildHello(kReplyId, seq, device);
  MessageValues expected = ExpectedHeader(MessageKind::kHello, kActionHello, kReplyId, kToDiscovery);
  expected.app_sequence = Expected(seq);
  expected.entries = {Expected(device)};
  EXPECT_EQ(ScanBack(hello), expected) << hello;
}

TEST(BuilderTest, HelloWithoutXAddrs) {
  // WS-Discovery 2005/04, 4.1: XAddrs may be omitted; receivers then Resolve.
  const AppSequenceSpec seq{.instance_id = 77, .message_number = 2};
  DeviceDescription device = TypicalCamera();
  device.xaddrs.clear();
  device.metadata_version = 0;
  const std::string hello = BuildHello(kReplyId, seq, device);
  EXPECT_EQ(hello.find("XAddrs"), std::string::npos);
  EXPECT_EQ(hello.find("SequenceId"), std::string::npos);
  MessageValues expected = ExpectedHeader(MessageKind::kHello, kActionHello, kReplyId, kToDiscovery);
  expected.app_sequence = Expected(seq);
  expected.entries = {Expected(device)};
  EXPECT_EQ(ScanBack(hello), expected) << hello;
}

TEST(BuilderTest, ByeRoundTrips) {
  const AppSequenceSpec seq{.instance_id = 77, .message_number = 9};
  const std::string bye = BuildBye(kReplyId, seq, "urn:uuid:device-1");
  MessageValues expected = ExpectedHeader(MessageKind::kBye, kActionBye, kReplyId, kToDiscovery);
  expected.app_sequence = Expected(seq);
  EntryValues entry;
  entry.endpoint = "urn:uuid:device-1";
  expected.entries = {entry};
  EXPECT_EQ(ScanBack(bye), expected) << bye;
}

TEST(BuilderTest, ResolveRoundTrips) {
  const std::string resolve = BuildResolve(kProbeId, "urn:uuid:device-2");
  MessageValues expected =
      ExpectedHeader(MessageKind::kResolve, kActionResolve, kProbeId, kToDiscovery);
  EntryValues entry;
  entry.endpoint = "urn:uuid:device-2";
  expected.entries = {entry};
  EXPECT_EQ(ScanBack(resolve), expected) << resolve;
}

TEST(BuilderTest, ResolveMatchesRoundTrips) {
  const AppSequenceSpec seq{.instance_id = 5, .message_number = 6};
  const DeviceDescription device = TypicalCamera(3);
  const std::string reply = BuildResolveMatches(kReplyId, kProbeId, seq, device);
  MessageValues expected =
      ExpectedHeader(MessageKind::kResolveMatches, kActionResolveMatches, kReplyId, kToAnonymous);
  expected.relates_to = std::string(kProbeId);
  expected.app_sequence = Expected(seq);
  expected.entries = {Expected(device)};
  EXPECT_EQ(ScanBack(reply), expected) << reply;
}

// ---- Escaping -------------------------------------------------------------

TEST(BuilderTest, AppendXmlEscaped) {
  std::string out;
  AppendXmlEscaped("a&b<c>d\"e'f\rg\th\ni", &out);
  EXPECT_EQ(out, "a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;g\th\ni");
  out.clear();
  AppendXmlEscaped(std::string_view("x\0y\x1f", 4), &out);
  EXPECT_EQ(out, "x\xEF\xBF\xBDy\xEF\xBF\xBD");
  out.clear();
  AppendXmlEscaped("caf\xC3\xA9", &out);
  EXPECT_EQ(out, "caf\xC3\xA9");
}

TEST(BuilderTest, EscapedValuesRoundTrip) {
  const std::string nasty = R"(a&b<c>d"e'f&amp;)";
  const AppSequenceSpec seq{.instance_id = 1, .sequence_id = "seq" + nasty, .message_number = 2};
  DeviceDescription device;
  device.endpoint = "urn:" + nasty;
  device.types = {QNameSpec{"urn:example:t", "T"}};
  device.scopes = {"onvif://www.onvif.org/name/" + nasty, "x<y"};
  device.xaddrs = {"http://10.0.0.1/?a=1&b='2'"};
  device.metadata_version = 3;
  const std::string message_id = "id" + nasty;
  const std::string relates_to = "rel" + nasty;
  const std::vector<DeviceDescription> matches = {device};
  const std::string reply = BuildProbeMatches(message_id, relates_to, seq, matches);
  MessageValues expected =
      ExpectedHeader(MessageKind::kProbeMatches, kActionProbeMatches, message_id, kToAnonymous);
  expected.relates_to = relates_to;
  expected.app_sequence = Expected(seq);
  expected.entries = {Expected(device)};
  EXPECT_EQ(ScanBack(reply), expected) << reply;

  ProbeSpec probe;
  probe.scopes = {"s&<>\"'"};
  probe.match_by = "urn:rule?a&b";
  const std::string probe_bytes = BuildProbe(message_id, probe);
  MessageValues expected_probe =
      ExpectedHeader(MessageKind::kProbe, kActionProbe, message_id, kToDiscovery);
  EntryValues entry;
  entry.scopes = probe.scopes;
  entry.match_by = probe.match_by;
  expected_probe.entries = {entry};
  EXPECT_EQ(ScanBack(probe_bytes), expected_probe) << probe_bytes;
}

TEST(BuilderTest, ForbiddenControlCharactersStayWellFormed) {
  const std::string endpoint = std::string("urn:a\0b\x01", 8);
  const std::string bye = BuildBye(kReplyId, AppSequenceSpec{.instance_id = 1, .message_number = 1},
                                   endpoint);
  const std::optional<MessageValues> scanned = ScanBack(bye);
  ASSERT_TRUE(scanned.has_value());
  ASSERT_EQ(scanned->entries.size(), 1u);
  EXPECT_EQ(scanned->entries[0].endpoint, "urn:a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
}

// ---- MessageIDs -----------------------------------------------------------

bool IsUuidV4Urn(std::string_view id) {
  constexpr std::string_view kPrefix = "urn:uuid:";
  if (id.size() != kMessageIdSize || id.substr(0, kPrefix.size()) != kPrefix) return false;
  const std::string_view uuid = id.substr(kPrefix.size());
  for (std::size_t i = 0; i < uuid.size(); ++i) {
    const char c = uuid[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  const char variant = uuid[19];
  return uuid[14] == '4' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

TEST(MessageIdTest, IsUuidV4AndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = NewMessageId();
    ASSERT_TRUE(IsUuidV4Urn(id)) << id;
    ASSERT_TRUE(seen.insert(id).second) << "duplicate " << id;
  }
}

TEST(MessageIdTest, SeededGeneratorIsDeterministic) {
  std::mt19937_64 a(42);
  std::mt19937_64 b(42);
  const std::string first = NewMessageId(a);
  EXPECT_TRUE(IsUuidV4Urn(first)) << first;
  EXPECT_EQ(first, NewMessageId(b));
  EXPECT_NE(NewMessageId(a), first);
}

TEST(MessageIdTest, AllVariantBitsAppear) {
  // The fixed bits are set, the rest vary: over many ids every hex digit shows
  // up in a random position and 8, 9, a, b in the variant position.
  std::mt19937_64 gen(7);
  std::set<char> variants;
  std::set<char> digits;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewMessageId(gen);
    variants.insert(id[9 + 19]);
    digits.insert(id[9]);
  }
  EXPECT_EQ(variants, (std::set<char>{'8', '9', 'a', 'b'}));
  EXPECT_EQ(digits.size(), 16u);
}

TEST(MessageIdTest, EmptyIdIsReplacedByFreshOne) {
  const std::string probe_a = BuildProbe("", ProbeSpec{});
  const std::string probe_b = BuildProbe("", ProbeSpec{});
  const std::optional<MessageValues> a = ScanBack(probe_a);
  const std::optional<MessageValues> b = ScanBack(probe_b);
  ASSERT_TRUE(a && b && a->message_id && b->message_id);
  EXPECT_TRUE(IsUuidV4Urn(*a->message_id)) << *a->message_id;
  EXPECT_NE(a->message_id, b->message_id);
}

// ---- Rendered replies -----------------------------------------------------

TEST(RenderedMessageTest, OffsetsPointAtTheValues) {
  const std::vector<DeviceDescription> matches = {TypicalCamera()};
  const AppSequenceSpec seq{.instance_id = 1, .message_number = 1};
  const std::string message_id = NewMessageId();
  const RenderedMessage rendered = RenderProbeMatches(message_id, "uuid:x&y", seq, matches);
  EXPECT_EQ(rendered.bytes, BuildProbeMatches(message_id, "uuid:x&y", seq, matches));
  EXPECT_EQ(rendered.message_id_size, kMessageIdSize);
  EXPECT_EQ(rendered.bytes.substr(rendered.message_id_offset, rendered.message_id_size), message_id);
  EXPECT_LT(rendered.message_id_offset, rendered.relates_to_offset);
  EXPECT_EQ(rendered.bytes.substr(rendered.relates_to_offset, rendered.relates_to_size),
            "uuid:x&amp;y");

  // A fresh id has the same width and can be copied over in place.
  RenderedMessage copy = rendered;
  const std::string fresh = NewMessageId();
  copy.bytes.replace(copy.message_id_offset, copy.message_id_size, fresh);
  const std::optional<MessageValues> scanned = ScanBack(copy.bytes);
  ASSERT_TRUE(scanned.has_value());
  EXPECT_EQ(scanned->message_id, fresh);
  EXPECT_EQ(scanned->relates_to, "uuid:x&y");
}

TEST(RenderedMessageTest, PatchReplyReplacesBothValues) {
  const std::vector<DeviceDescription> matches = {TypicalCamera(), TypicalCamera(1)};
  const AppSequenceSpec seq{.instance_id = 3, .message_number = 4};
  const RenderedMessage rendered =
      RenderProbeMatches(NewMessageId(), std::string(kMessageIdSize, 'x'), seq, matches);
  std::string out = "stale contents";
  // Shorter, longer and escaped values all work.
  for (const std::string& relates_to :
       {std::string("uuid:1"), std::string(kProbeId) + "-with-a-longer-tail", std::string("a<b&c")}) {
    const std::string message_id = NewMessageId();
    PatchReply(rendered, message_id, relates_to, &out);
    EXPECT_EQ(out, BuildProbeMatches(message_id, relates_to, seq, matches));
    MessageValues expected =
        ExpectedHeader(MessageKind::kProbeMatches, kActionProbeMatches, message_id, kToAnonymous);
    expected.relates_to = relates_to;
    expected.app_sequence = Expected(seq);
    for (const DeviceDescription& match : matches) expected.entries.push_back(Expected(match));
    EXPECT_EQ(ScanBack(out), expected) << out;
  }

  const RenderedMessage resolve = RenderResolveMatches(kReplyId, kProbeId, seq, matches[0]);
  PatchReply(resolve, kProbeId, kReplyId, &out);
  EXPECT_EQ(out, BuildResolveMatches(kProbeId, kReplyId, seq, matches[0]));
}

}  // namespace
}  // namespace onvif::wsd
