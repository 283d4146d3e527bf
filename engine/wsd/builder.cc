#include "engine/wsd/builder.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "engine/wsd/constants.h"

namespace onvif::wsd {
namespace {

// Devices and clients in the field start with the XML declaration; 38 bytes.
constexpr std::string_view kXmlDeclaration = R"(<?xml version="1.0" encoding="UTF-8"?>)";

// One xmlns declaration for the namespace of Types QNames.
struct Binding {
  std::string_view ns;
  std::string prefix;
};

using Bindings = std::vector<Binding>;

// absl::StrAppend does not take std::string_view here (Debian's abseil is
// built with its own absl::string_view), hence these two.
void Append(std::string* out, std::initializer_list<std::string_view> parts) {
  for (std::string_view part : parts) out->append(part);
}

void AppendUint(std::uint64_t value, std::string* out) {
  char buffer[20];  // UINT64_MAX has 20 digits
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

// Conventional prefixes make captures readable; anything else gets t1, t2, ...
std::string_view WellKnownPrefix(std::string_view ns) {
  if (ns == kNsOnvifNetwork) return "dn";
  if (ns == kNsOnvifDevice) return "tds";
  if (ns == kNsDevProf) return "wsdp";
  return {};
}

void AddBindings(std::span<const QNameSpec> types, Bindings* bindings, int* next_index) {
  for (const QNameSpec& type : types) {
    if (type.ns.empty()) continue;  // written unprefixed; see the design note
    bool known = false;
    for (const Binding& binding : *bindings) {
      if (binding.ns == type.ns) {
        known = true;
        break;
      }
    }
    if (known) continue;
    Binding binding{type.ns, std::string(WellKnownPrefix(type.ns))};
    if (binding.prefix.empty()) {
      binding.prefix.push_back('t');
      AppendUint(static_cast<std::uint64_t>((*next_index)++), &binding.prefix);
    }
    bindings->push_back(std::move(binding));
  }
}

std::string_view PrefixOf(const Bindings& bindings, std::string_view ns) {
  for (const Binding& binding : bindings) {
    if (binding.ns == ns) return binding.prefix;
  }
  return {};
}

void AppendEnvelopeStart(const Bindings& bindings, std::string* out) {
  Append(out, {kXmlDeclaration, R"(<s:Envelope xmlns:s=")", kNsSoap12, R"(" xmlns:a=")",
               kNsAddressing2004, R"(" xmlns:d=")", kNsDiscovery2005, "\""});
  for (const Binding& binding : bindings) {
    Append(out, {" xmlns:", binding.prefix, "=\""});
    AppendXmlEscaped(binding.ns, out);
    out->push_back('"');
  }
  out->append("><s:Header>");
}

// Where a value sits in the rendered bytes.
struct ValueSpan {
  std::size_t offset = 0;
  std::size_t size = 0;
};

// Writes <name>escaped value</name>; returns where the escaped value is.
ValueSpan AppendTextElement(std::string_view name, std::string_view value, std::string* out) {
  Append(out, {"<", name, ">"});
  ValueSpan span{.offset = out->size()};
  AppendXmlEscaped(value, out);
  span.size = out->size() - span.offset;
  Append(out, {"</", name, ">"});
  return span;
}

// The SOAP header (WS-Discovery 2005/04, section 3: Action, MessageID,
// RelatesTo for replies, To, and AppSequence from Target Services, section 7).
struct Header {
  std::string_view action;
  std::string_view message_id;  // empty: a fresh one
  std::optional<std::string_view> relates_to = std::nullopt;
  std::string_view to;
  const AppSequenceSpec* app_sequence = nullptr;  // null: no AppSequence
};

// Records where MessageID and RelatesTo went in *rendered when non-null.
void AppendHeader(const Header& header, std::string* out, RenderedMessage* rendered) {
  AppendTextElement("a:Action", header.action, out);
  const ValueSpan message_id = AppendTextElement(
      "a:MessageID", header.message_id.empty() ? NewMessageId() : header.message_id, out);
  ValueSpan relates_to;
  if (header.relates_to) relates_to = AppendTextElement("a:RelatesTo", *header.relates_to, out);
  if (rendered != nullptr) {
    rendered->message_id_offset = message_id.offset;
    rendered->message_id_size = message_id.size;
    rendered->relates_to_offset = relates_to.offset;
    rendered->relates_to_size = relates_to.size;
  }
  AppendTextElement("a:To", header.to, out);
  if (header.app_sequence != nullptr) {
    const AppSequenceSpec& seq = *header.app_sequence;
    out->append(R"(<d:AppSequence InstanceId=")");
    AppendUint(seq.instance_id, out);
    out->push_back('"');
    if (!seq.sequence_id.empty()) {
      out->append(" SequenceId=\"");
      AppendXmlEscaped(seq.sequence_id, out);
      out->push_back('"');
    }
    out->append(R"( MessageNumber=")");
    AppendUint(seq.message_number, out);
    out->append("\"/>");
  }
  out->append("</s:Header><s:Body>");
}

void AppendEndpointReference(std::string_view endpoint, std::string* out) {
  out->append("<a:EndpointReference>");
  AppendTextElement("a:Address", endpoint, out);
  out->append("</a:EndpointReference>");
}

void AppendTypes(const Bindings& bindings, std::span<const QNameSpec> types, std::string* out) {
  if (types.empty()) return;
  out->append("<d:Types>");
  bool first = true;
  for (const QNameSpec& type : types) {
    if (!first) out->push_back(' ');
    first = false;
    if (!type.ns.empty()) Append(out, {PrefixOf(bindings, type.ns), ":"});
    AppendXmlEscaped(type.local, out);
  }
  out->append("</d:Types>");
}

void AppendList(std::string_view name, std::span<const std::string> items,
                std::string_view match_by, std::string* out) {
  if (items.empty() && match_by.empty()) return;
  Append(out, {"<", name});
  if (!match_by.empty()) {
    out->append(" MatchBy=\"");
    AppendXmlEscaped(match_by, out);
    out->push_back('"');
  }
  out->push_back('>');
  bool first = true;
  for (const std::string& item : items) {
    if (!first) out->push_back(' ');
    first = false;
    AppendXmlEscaped(item, out);
  }
  Append(out, {"</", name, ">"});
}

// The content shared by Hello, ProbeMatch and ResolveMatch (sections 4.1,
// 5.3, 6.3): EndpointReference, Types?, Scopes?, XAddrs?, MetadataVersion.
void AppendDevice(const Bindings& bindings, const DeviceDescription& device, std::string* out) {
  AppendEndpointReference(device.endpoint, out);
  AppendTypes(bindings, device.types, out);
  AppendList("d:Scopes", device.scopes, {}, out);
  AppendList("d:XAddrs", device.xaddrs, {}, out);
  out->append("<d:MetadataVersion>");
  AppendUint(device.metadata_version, out);
  out->append("</d:MetadataVersion>");
}

constexpr std::string_view kEnvelopeEnd = "</s:Body></s:Envelope>";

}  // namespace

void AppendXmlEscaped(std::string_view value, std::string* out) {
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    std::string_view replacement;
    switch (c) {
      case '&': replacement = "&amp;"; break;
      case '<': replacement = "&lt;"; break;
      case '>': replacement = "&gt;"; break;
      case '"': replacement = "&quot;"; break;
      case '\'': replacement = "&apos;"; break;
      case '\r': replacement = "&#13;"; break;
      case '\t':
      case '\n': continue;
      default:
        if (c >= 0x20) continue;
        replacement = "\xEF\xBF\xBD";  // U+FFFD: XML 1.0 has no way to write it
    }
    out->append(value.data() + run_start, i - run_start);
    out->append(replacement);
    run_start = i + 1;
  }
  out->append(value.data() + run_start, value.size() - run_start);
}

std::string NewMessageId(absl::BitGenRef gen) {
  std::array<std::uint8_t, 16> bytes;
  for (std::size_t half = 0; half < 2; ++half) {
    std::uint64_t bits = absl::Uniform<std::uint64_t>(gen);
    for (std::size_t i = 0; i < 8; ++i) {
      bytes[half * 8 + i] = static_cast<std::uint8_t>(bits >> (8 * i));
    }
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);  // variant 10
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string id = "urn:uuid:";
  id.reserve(kMessageIdSize);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id.push_back('-');
    id.push_back(kHex[bytes[i] >> 4]);
    id.push_back(kHex[bytes[i] & 0x0F]);
  }
  return id;
}

std::string NewMessageId() {
  thread_local absl::BitGen gen;
  return NewMessageId(gen);
}

std::string BuildProbe(std::string_view message_id, const ProbeSpec& probe) {
  Bindings bindings;
  int next_index = 1;
  AddBindings(probe.types, &bindings, &next_index);
  std::string out;
  out.reserve(1024);
  AppendEnvelopeStart(bindings, &out);
  AppendHeader({.action = kActionProbe, .message_id = message_id, .to = kToDiscovery}, &out,
               nullptr);
  out.append("<d:Probe>");
  AppendTypes(bindings, probe.types, &out);
  AppendList("d:Scopes", probe.scopes, probe.match_by, &out);
  out.append("</d:Probe>");
  out.append(kEnvelopeEnd);
  return out;
}

std::string BuildResolve(std::string_view message_id, std::string_view endpoint) {
  std::string out;
  out.reserve(1024);
  AppendEnvelopeStart({}, &out);
  AppendHeader({.action = kActionResolve, .message_id = message_id, .to = kToDiscovery}, &out,
               nullptr);
  out.append("<d:Resolve>");
  AppendEndpointReference(endpoint, &out);
  out.append("</d:Resolve>");
  out.append(kEnvelopeEnd);
  return out;
}

std::string BuildHello(std::string_view message_id, const AppSequenceSpec& app_sequence,
                       const DeviceDescription& device) {
  Bindings bindings;
  int next_index = 1;
  AddBindings(device.types, &bindings, &next_index);
  std::string out;
  out.reserve(2048);
  AppendEnvelopeStart(bindings, &out);
  AppendHeader({.action = kActionHello,
                .message_id = message_id,
                .to = kToDiscovery,
                .app_sequence = &app_sequence},
               &out, nullptr);
  out.append("<d:Hello>");
  AppendDevice(bindings, device, &out);
  out.append("</d:Hello>");
  out.append(kEnvelopeEnd);
  return out;
}

std::string BuildBye(std::string_view message_id, const AppSequenceSpec& app_sequence,
                     std::string_view endpoint) {
  std::string out;
  out.reserve(1024);
  AppendEnvelopeStart({}, &out);
  AppendHeader({.action = kActionBye,
                .message_id = message_id,
                .to = kToDiscovery,
                .app_sequence = &app_sequence},
               &out, nullptr);
  out.append("<d:Bye>");
  AppendEndpointReference(endpoint, &out);
  out.append("</d:Bye>");
  out.append(kEnvelopeEnd);
  return out;
}

RenderedMessage RenderProbeMatches(std::string_view message_id, std::string_view relates_to,
                                   const AppSequenceSpec& app_sequence,
                                   std::span<const DeviceDescription> matches) {
  Bindings bindings;
  int next_index = 1;
  for (const DeviceDescription& match : matches) AddBindings(match.types, &bindings, &next_index);
  RenderedMessage rendered;
  std::string& out = rendered.bytes;
  out.reserve(2048);
  AppendEnvelopeStart(bindings, &out);
  AppendHeader({.action = kActionProbeMatches,
                .message_id = message_id,
                .relates_to = relates_to,
                .to = kToAnonymous,
                .app_sequence = &app_sequence},
               &out, &rendered);
  out.append("<d:ProbeMatches>");
  for (const DeviceDescription& match : matches) {
    out.append("<d:ProbeMatch>");
    AppendDevice(bindings, match, &out);
    out.append("</d:ProbeMatch>");
  }
  out.append("</d:ProbeMatches>");
  out.append(kEnvelopeEnd);
  return rendered;
}

std::string BuildProbeMatches(std::string_view message_id, std::string_view relates_to,
                              const AppSequenceSpec& app_sequence,
                              std::span<const DeviceDescription> matches) {
  return RenderProbeMatches(message_id, relates_to, app_sequence, matches).bytes;
}

RenderedMessage RenderResolveMatches(std::string_view message_id, std::string_view relates_to,
                                     const AppSequenceSpec& app_sequence,
                                     const DeviceDescription& match) {
  Bindings bindings;
  int next_index = 1;
  AddBindings(match.types, &bindings, &next_index);
  RenderedMessage rendered;
  std::string& out = rendered.bytes;
  out.reserve(2048);
  AppendEnvelopeStart(bindings, &out);
  AppendHeader({.action = kActionResolveMatches,
                .message_id = message_id,
                .relates_to = relates_to,
                .to = kToAnonymous,
                .app_sequence = &app_sequence},
               &out, &rendered);
  out.append("<d:ResolveMatches><d:ResolveMatch>");
  AppendDevice(bindings, match, &out);
  out.append("</d:ResolveMatch></d:ResolveMatches>");
  out.append(kEnvelopeEnd);
  return rendered;
}

std::string BuildResolveMatches(std::string_view message_id, std::string_view relates_to,
                                const AppSequenceSpec& app_sequence,
                                const DeviceDescription& match) {
  return RenderResolveMatches(message_id, relates_to, app_sequence, match).bytes;
}

void PatchReply(const RenderedMessage& rendered, std::string_view message_id,
                std::string_view relates_to, std::string* out) {
  const std::string_view bytes = rendered.bytes;
  const std::size_t message_id_end = rendered.message_id_offset + rendered.message_id_size;
  const std::size_t relates_to_end = rendered.relates_to_offset + rendered.relates_to_size;
  out->clear();
  out->append(bytes.substr(0, rendered.message_id_offset));
  AppendXmlEscaped(message_id, out);
  out->append(bytes.substr(message_id_end, rendered.relates_to_offset - message_id_end));
  AppendXmlEscaped(relates_to, out);
  out->append(bytes.substr(relates_to_end));
}

}  // namespace onvif::wsd
