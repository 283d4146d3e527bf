// The pugixml reference extractor. See reference.h.
//
// This is deliberately the slow, obvious way to do what engine/wsd/scanner.cc
// does in one pass: build a DOM, then walk it with namespace lookups written
// out by hand (each lookup climbs the ancestors' xmlns attributes). Every rule
// below is quoted from the design note in engine/wsd/scanner.h; where the
// note leaves a choice open, the comment says which reading is taken.
//
// Accept/reject. pugixml is more lenient than an XML 1.0 processor (it keeps
// text outside the root, several roots, unknown entities as literal text, ...)
// and knows nothing of namespaces or of the scanner's limits. The reference
// rejects what the scanner must reject and is cheap to see in a DOM: several
// roots or text outside the root, a DOCTYPE, unbound element or attribute
// prefixes, names that are not QNames, a repeated attribute, a root that is
// not a SOAP Envelope, a recorded field element with a child element, and the
// limits (size, depth, bindings in scope, entries, Types QNames, decoded
// length of the recorded fields). It stays conservative: it rejects only what
// the contract makes the scanner reject, so "scanner accepts, reference
// rejects" is always a finding. It does not validate references (pugixml
// keeps a bad one as text); the scanner rejects those alone.

#include "tests/reference/reference.h"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/wsd/constants.h"
#include "engine/wsd/scanner.h"
#include "pugixml.hpp"

namespace onvif::testing {
namespace {

constexpr std::string_view kNsXml = "http://www.w3.org/XML/1998/namespace";

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view TrimXmlSpace(std::string_view s) {
  while (!s.empty() && IsXmlSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsXmlSpace(s.back())) s.remove_suffix(1);
  return s;
}

// A Types QName as Fields holds it: "{namespace}Local". (absl::StrCat in the
// Debian abseil build takes absl::string_view, not std::string_view.)
std::string TypeKey(std::string_view ns, std::string_view local) {
  std::string key;
  key.reserve(ns.size() + local.size() + 2);
  key.append("{").append(ns).append("}").append(local);
  return key;
}

// The element children of a node, in document order.
std::vector<pugi::xml_node> Elements(pugi::xml_node node) {
  std::vector<pugi::xml_node> out;
  for (pugi::xml_node child : node.children()) {
    if (child.type() == pugi::node_element) out.push_back(child);
  }
  return out;
}

// A split QName ("p:local" or "local").
struct SplitName {
  std::string_view prefix;
  std::string_view local;
};

SplitName Split(std::string_view name) {
  const std::size_t colon = name.find(':');
  if (colon == std::string_view::npos) return {{}, name};
  return {name.substr(0, colon), name.substr(colon + 1)};
}

// Namespaces in XML 1.0: a QName has at most one colon, with a non-empty
// prefix and local part on either side of it.
bool IsQName(std::string_view name) {
  const std::size_t colon = name.find(':');
  if (colon == std::string_view::npos) return !name.empty();
  return colon != 0 && colon + 1 < name.size() &&
         name.find(':', colon + 1) == std::string_view::npos;
}

bool IsNamespaceDeclaration(std::string_view attribute_name) {
  return attribute_name == "xmlns" || attribute_name.starts_with("xmlns:");
}

// The namespace bound to `prefix` at `node` (an element): the nearest xmlns
// declaration on the element or an ancestor. The empty prefix is the default
// namespace ("" when none is declared); "xml" is predeclared. nullopt when a
// non-empty prefix is unbound.
std::optional<std::string_view> LookupPrefix(pugi::xml_node node, std::string_view prefix) {
  const std::string wanted = prefix.empty() ? std::string("xmlns") : absl::StrCat("xmlns:", std::string(prefix));
  for (pugi::xml_node n = node; n && n.type() == pugi::node_element; n = n.parent()) {
    for (pugi::xml_attribute a : n.attributes()) {
      if (wanted == a.name()) return std::string_view(a.value());
    }
  }
  if (prefix.empty()) return std::string_view();
  if (prefix == "xml") return kNsXml;
  return std::nullopt;
}

// The namespace URI of an element (already validated: its prefix is bound).
std::string_view ElementNamespace(pugi::xml_node node) {
  return LookupPrefix(node, Split(node.name()).prefix).value_or(std::string_view());
}

std::string_view LocalName(pugi::xml_node node) { return Split(node.name()).local; }

// The namespace classes of the design note.
bool IsAddressing(std::string_view ns) {
  return ns == wsd::kNsAddressing2004 || ns == wsd::kNsAddressing2005;
}
bool IsDiscovery(std::string_view ns) {
  return ns == wsd::kNsDiscovery2005 || ns == wsd::kNsDiscovery2009;
}

bool Is(pugi::xml_node node, bool (*ns_class)(std::string_view), std::string_view local) {
  return LocalName(node) == local && ns_class(ElementNamespace(node));
}

// Field text: the element's direct pcdata and cdata children concatenated
// (pugixml has already resolved references, dropped comments and PIs and
// turned CR LF / CR into LF), trimmed of XML whitespace. A child element is an
// error (the scanner's kUnexpectedElement).
absl::StatusOr<std::string> FieldText(pugi::xml_node field) {
  std::string text;
  for (pugi::xml_node child : field.children()) {
    switch (child.type()) {
      case pugi::node_pcdata:
      case pugi::node_cdata:
        text += child.value();
        break;
      case pugi::node_element:
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected_element: <", child.name(), "> inside field <", field.name(), ">"));
      default:
        break;
    }
  }
  return std::string(TrimXmlSpace(text));
}

// Decimal unsigned integer that fits in 64 bits, else nullopt (the note:
// such a number is absent, not an error).
std::optional<std::uint64_t> ParseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// An attribute value as Text: pugixml resolved references and CR LF; the
// value is then trimmed like any field.
std::optional<std::string> AttributeText(pugi::xml_node node, const char* name) {
  pugi::xml_attribute a = node.attribute(name);
  if (!a) return std::nullopt;
  return std::string(TrimXmlSpace(a.value()));
}

// Validation walk over every element: depth, namespace bindings in scope,
// QName syntax, bound prefixes.
absl::Status ValidateTree(pugi::xml_node element, int depth, std::size_t bindings_in_scope) {
  if (depth > wsd::kMaxDepth) {
    return absl::InvalidArgumentError(absl::StrCat("too_deep: <", element.name(), "> at depth ", depth));
  }
  if (!IsQName(element.name())) {
    return absl::InvalidArgumentError(absl::StrCat("syntax: element name '", element.name(), "' is not a QName"));
  }
  for (pugi::xml_attribute a : element.attributes()) {
    if (IsNamespaceDeclaration(a.name())) ++bindings_in_scope;
  }
  if (bindings_in_scope > wsd::kMaxNamespaceBindings) {
    return absl::InvalidArgumentError(
        absl::StrCat("too_many_namespaces: ", bindings_in_scope, " bindings at <", element.name(), ">"));
  }
  const std::string_view prefix = Split(element.name()).prefix;
  if (!prefix.empty() && !LookupPrefix(element, prefix).has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("unbound_prefix: element <", element.name(), ">"));
  }
  for (pugi::xml_attribute a : element.attributes()) {
    const std::string_view name = a.name();
    // XML 1.0 WFC "Unique Att Spec". pugixml keeps duplicates (attribute()
    // finds the first), while a scanner resolving prefixes through a binding
    // stack would see the last xmlns of a pair.
    for (pugi::xml_attribute b = a.next_attribute(); b; b = b.next_attribute()) {
      if (name == b.name()) {
        return absl::InvalidArgumentError(
            absl::StrCat("syntax: attribute ", a.name(), " twice on <", element.name(), ">"));
      }
    }
    if (!IsQName(name)) {
      return absl::InvalidArgumentError(absl::StrCat("syntax: attribute name '", a.name(), "' is not a QName"));
    }
    if (IsNamespaceDeclaration(name)) continue;
    const std::string_view attribute_prefix = Split(name).prefix;
    if (!attribute_prefix.empty() && !LookupPrefix(element, attribute_prefix).has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unbound_prefix: attribute ", a.name(), " on <", element.name(), ">"));
    }
  }
  for (pugi::xml_node child : Elements(element)) {
    absl::Status status = ValidateTree(child, depth + 1, bindings_in_scope);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// Extraction state: the output plus the counters behind the limits.
class Extractor {
 public:
  Extractor(Fields& out, std::string_view soap_ns) : out_(out), soap_ns_(soap_ns) {}

  absl::Status Envelope(pugi::xml_node envelope) {
    for (pugi::xml_node child : Elements(envelope)) {
      if (IsSoap(child, "Header")) {
        for (pugi::xml_node h : Elements(child)) {
          absl::Status status = HeaderChild(h);
          if (!status.ok()) return status;
        }
      } else if (IsSoap(child, "Body")) {
        for (pugi::xml_node b : Elements(child)) {
          absl::Status status = BodyChild(b);
          if (!status.ok()) return status;
        }
      }
    }
    if (out_.entries.size() > wsd::kMaxEntries) {
      return absl::InvalidArgumentError(absl::StrCat("too_many_entries: ", out_.entries.size()));
    }
    if (type_count_ > wsd::kMaxTypesPerEnvelope) {
      return absl::InvalidArgumentError(absl::StrCat("too_many_types: ", type_count_));
    }
    return absl::OkStatus();
  }

 private:
  bool IsSoap(pugi::xml_node node, std::string_view local) const {
    return LocalName(node) == local && ElementNamespace(node) == soap_ns_;
  }

  // Reads a field element's text. Only the first occurrence is a field
  // ("first occurrence wins"); a later one with the same name is an element
  // like any other, so only the first is checked for child elements and held
  // to kMaxFieldBytes.
  absl::Status Field(pugi::xml_node field, std::optional<std::string>& slot) {
    if (slot.has_value()) return absl::OkStatus();
    absl::StatusOr<std::string> text = FieldText(field);
    if (!text.ok()) return text.status();
    if (text->size() > wsd::kMaxFieldBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("field_too_long: <", field.name(), "> holds ", text->size(), " bytes"));
    }
    slot = *std::move(text);
    return absl::OkStatus();
  }

  absl::Status HeaderChild(pugi::xml_node h) {
    if (Is(h, IsAddressing, "Action")) return Field(h, out_.action);
    if (Is(h, IsAddressing, "MessageID")) return Field(h, out_.message_id);
    if (Is(h, IsAddressing, "RelatesTo")) return Field(h, out_.relates_to);
    if (Is(h, IsAddressing, "To")) return Field(h, out_.to);
    if (Is(h, IsDiscovery, "AppSequence") && !app_sequence_seen_) {
      // First AppSequence element wins, whether or not its numbers parse.
      app_sequence_seen_ = true;
      const std::optional<std::string> instance = AttributeText(h, "InstanceId");
      const std::optional<std::string> number = AttributeText(h, "MessageNumber");
      const std::optional<std::uint64_t> instance_id = instance ? ParseNumber(*instance) : std::nullopt;
      const std::optional<std::uint64_t> message_number = number ? ParseNumber(*number) : std::nullopt;
      if (instance_id && message_number) {
        out_.app_sequence = AppSequenceFields{
            .instance_id = *instance_id,
            .message_number = *message_number,
            .sequence_id = AttributeText(h, "SequenceId"),
        };
      }
    }
    return absl::OkStatus();
  }

  absl::Status BodyChild(pugi::xml_node b) {
    const std::string_view ns = ElementNamespace(b);
    const std::string_view local = LocalName(b);
    if (!kind_seen_) {
      kind_seen_ = true;
      out_.discovery = ns == wsd::kNsDiscovery2005 ? "2005" : ns == wsd::kNsDiscovery2009 ? "2009" : "";
      wsd::MessageKind kind = wsd::MessageKind::kOther;
      if (IsDiscovery(ns)) {
        if (local == "Probe") kind = wsd::MessageKind::kProbe;
        if (local == "ProbeMatches") kind = wsd::MessageKind::kProbeMatches;
        if (local == "Resolve") kind = wsd::MessageKind::kResolve;
        if (local == "ResolveMatches") kind = wsd::MessageKind::kResolveMatches;
        if (local == "Hello") kind = wsd::MessageKind::kHello;
        if (local == "Bye") kind = wsd::MessageKind::kBye;
      } else if (ns == soap_ns_ && local == "Fault") {
        kind = wsd::MessageKind::kFault;
      }
      out_.kind = std::string(MessageKindName(kind));
    }
    if (!IsDiscovery(ns)) return absl::OkStatus();
    if (local == "Hello" || local == "Bye" || local == "Probe" || local == "Resolve") return Entry(b);
    const std::string_view match = local == "ProbeMatches"     ? "ProbeMatch"
                                   : local == "ResolveMatches" ? "ResolveMatch"
                                                               : "";
    if (match.empty()) return absl::OkStatus();
    for (pugi::xml_node m : Elements(b)) {
      if (Is(m, IsDiscovery, match)) {
        absl::Status status = Entry(m);
        if (!status.ok()) return status;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Entry(pugi::xml_node e) {
    EntryFields entry;
    std::optional<std::string> types_text;
    pugi::xml_node types_element;
    std::optional<std::string> metadata_text;
    for (pugi::xml_node c : Elements(e)) {
      absl::Status status = absl::OkStatus();
      if (Is(c, IsAddressing, "EndpointReference")) {
        for (pugi::xml_node a : Elements(c)) {
          if (Is(a, IsAddressing, "Address")) {
            status = Field(a, entry.endpoint);
            if (!status.ok()) return status;
          }
        }
      } else if (Is(c, IsDiscovery, "Types")) {
        if (!types_text.has_value()) types_element = c;
        status = Field(c, types_text);
      } else if (Is(c, IsDiscovery, "Scopes")) {
        if (!entry.scopes.has_value()) entry.match_by = AttributeText(c, "MatchBy");
        status = Field(c, entry.scopes);
      } else if (Is(c, IsDiscovery, "XAddrs")) {
        status = Field(c, entry.xaddrs);
      } else if (Is(c, IsDiscovery, "MetadataVersion")) {
        status = Field(c, metadata_text);
      }
      if (!status.ok()) return status;
    }
    if (metadata_text.has_value()) entry.metadata_version = ParseNumber(*metadata_text);
    if (types_text.has_value()) {
      // Each QName's prefix is resolved in the scope of the Types element; no
      // prefix means the default namespace; an unbound prefix gives "".
      std::vector<std::string> types;
      std::string_view rest = *types_text;
      while (true) {
        while (!rest.empty() && IsXmlSpace(rest.front())) rest.remove_prefix(1);
        if (rest.empty()) break;
        std::size_t end = 0;
        while (end < rest.size() && !IsXmlSpace(rest[end])) ++end;
        const SplitName qname = Split(rest.substr(0, end));
        rest.remove_prefix(end);
        const std::string_view ns = LookupPrefix(types_element, qname.prefix).value_or(std::string_view());
        types.push_back(TypeKey(ns, qname.local));
      }
      type_count_ += types.size();
      entry.types = std::move(types);
    }
    out_.entries.push_back(std::move(entry));
    // Fail early on huge inputs; the final check is in Envelope().
    if (out_.entries.size() > wsd::kMaxEntries) {
      return absl::InvalidArgumentError(absl::StrCat("too_many_entries: ", out_.entries.size()));
    }
    return absl::OkStatus();
  }

  Fields& out_;
  std::string_view soap_ns_;
  bool kind_seen_ = false;
  bool app_sequence_seen_ = false;
  std::size_t type_count_ = 0;
};

void AppendText(std::string& out, std::string_view label, const std::optional<std::string>& text) {
  absl::StrAppend(&out, "  ", std::string(label), ": ");
  if (text.has_value()) {
    absl::StrAppend(&out, "\"", *text, "\"\n");
  } else {
    absl::StrAppend(&out, "(absent)\n");
  }
}

std::string ScannerText(const wsd::Text& text) {
  std::vector<char> scratch(text.raw.size() + 1);
  const std::string_view value = text.Get(std::span<char>(scratch.data(), text.raw.size()));
  return std::string(value);
}

std::optional<std::string> ScannerOptionalText(const wsd::Text& text) {
  if (!text.present) return std::nullopt;
  return ScannerText(text);
}

}  // namespace

absl::StatusOr<Fields> ReferenceScan(std::string_view xml) {
  if (xml.size() > wsd::kMaxEnvelopeBytes) {
    return absl::InvalidArgumentError(absl::StrCat("too_large: ", xml.size(), " bytes"));
  }
  // parse_fragment keeps what pugixml would otherwise drop silently (text
  // outside the root, several roots) so it can be rejected below;
  // parse_doctype keeps a DOCTYPE node so it can be rejected.
  // parse_wconv_attribute is left out: the design note defines one decoding
  // for every Text, attribute values (MatchBy, SequenceId, the AppSequence
  // numbers) included, and it turns CR LF / CR into LF but leaves TAB and LF
  // alone, where XML 1.0 section 3.3.3 would make them spaces. Both are
  // trimmed away at the ends; only whitespace inside a value differs, and
  // none is legal inside the URIs and numbers these attributes hold.
  pugi::xml_document doc;
  constexpr unsigned kParseOptions = (pugi::parse_default & ~pugi::parse_wconv_attribute) | pugi::parse_ws_pcdata |
                                     pugi::parse_doctype | pugi::parse_fragment;
  const pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size(), kParseOptions, pugi::encoding_utf8);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat("pugixml: ", parsed.description(), " at offset ", parsed.offset));
  }
  pugi::xml_node root;
  for (pugi::xml_node node : doc.children()) {
    switch (node.type()) {
      case pugi::node_doctype:
        return absl::InvalidArgumentError("doctype: DOCTYPE present");
      case pugi::node_element:
        if (root) return absl::InvalidArgumentError("syntax: more than one root element");
        root = node;
        break;
      case pugi::node_pcdata:
        if (!TrimXmlSpace(node.value()).empty()) {
          return absl::InvalidArgumentError("syntax: text outside the root element");
        }
        break;
      case pugi::node_cdata:
        return absl::InvalidArgumentError("syntax: CDATA outside the root element");
      default:
        break;
    }
  }
  if (!root) return absl::InvalidArgumentError("truncated: no root element");

  absl::Status valid = ValidateTree(root, 1, 0);
  if (!valid.ok()) return valid;

  const std::string_view soap_ns = ElementNamespace(root);
  if (LocalName(root) != "Envelope" || (soap_ns != wsd::kNsSoap11 && soap_ns != wsd::kNsSoap12)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not_soap_envelope: root <", root.name(), "> in namespace '", std::string(soap_ns), "'"));
  }

  Fields fields;
  fields.soap = soap_ns == wsd::kNsSoap11 ? "1.1" : "1.2";
  fields.kind = std::string(MessageKindName(wsd::MessageKind::kNone));
  Extractor extractor(fields, soap_ns);
  absl::Status status = extractor.Envelope(root);
  if (!status.ok()) return status;
  return fields;
}

Fields FieldsFromScanner(const wsd::Envelope& envelope) {
  Fields fields;
  fields.soap = envelope.soap == wsd::SoapVersion::k11 ? "1.1" : "1.2";
  switch (envelope.discovery) {
    case wsd::DiscoveryVersion::kNone:
      fields.discovery = "";
      break;
    case wsd::DiscoveryVersion::k2005:
      fields.discovery = "2005";
      break;
    case wsd::DiscoveryVersion::k2009:
      fields.discovery = "2009";
      break;
  }
  fields.kind = std::string(MessageKindName(envelope.kind));
  fields.action = ScannerOptionalText(envelope.action);
  fields.message_id = ScannerOptionalText(envelope.message_id);
  fields.relates_to = ScannerOptionalText(envelope.relates_to);
  fields.to = ScannerOptionalText(envelope.to);
  if (envelope.app_sequence.has_value()) {
    fields.app_sequence = AppSequenceFields{
        .instance_id = envelope.app_sequence->instance_id,
        .message_number = envelope.app_sequence->message_number,
        .sequence_id = ScannerOptionalText(envelope.app_sequence->sequence_id),
    };
  }
  for (const wsd::Entry& entry : envelope.entries()) {
    EntryFields out;
    out.endpoint = ScannerOptionalText(entry.endpoint);
    if (entry.has_types) {
      std::vector<std::string> types;
      for (const wsd::QName& qname : envelope.types(entry)) {
        types.push_back(TypeKey(qname.ns, qname.local));
      }
      out.types = std::move(types);
    }
    out.scopes = ScannerOptionalText(entry.scopes);
    out.match_by = ScannerOptionalText(entry.match_by);
    out.xaddrs = ScannerOptionalText(entry.xaddrs);
    out.metadata_version = entry.metadata_version;
    fields.entries.push_back(std::move(out));
  }
  return fields;
}

std::string_view MessageKindName(wsd::MessageKind kind) {
  switch (kind) {
    case wsd::MessageKind::kNone:
      return "none";
    case wsd::MessageKind::kProbe:
      return "probe";
    case wsd::MessageKind::kProbeMatches:
      return "probe_matches";
    case wsd::MessageKind::kResolve:
      return "resolve";
    case wsd::MessageKind::kResolveMatches:
      return "resolve_matches";
    case wsd::MessageKind::kHello:
      return "hello";
    case wsd::MessageKind::kBye:
      return "bye";
    case wsd::MessageKind::kFault:
      return "fault";
    case wsd::MessageKind::kOther:
      return "other";
  }
  return "invalid";
}

std::string DebugString(const Fields& fields) {
  std::string out;
  absl::StrAppend(&out, "Fields {\n  soap: ", fields.soap, "\n  discovery: \"", fields.discovery,
                  "\"\n  kind: ", fields.kind, "\n");
  AppendText(out, "action", fields.action);
  AppendText(out, "message_id", fields.message_id);
  AppendText(out, "relates_to", fields.relates_to);
  AppendText(out, "to", fields.to);
  if (fields.app_sequence.has_value()) {
    absl::StrAppend(&out, "  app_sequence: instance_id=", fields.app_sequence->instance_id,
                    " message_number=", fields.app_sequence->message_number, "\n");
    AppendText(out, "  sequence_id", fields.app_sequence->sequence_id);
  } else {
    absl::StrAppend(&out, "  app_sequence: (absent)\n");
  }
  absl::StrAppend(&out, "  entries: ", fields.entries.size(), "\n");
  for (std::size_t i = 0; i < fields.entries.size(); ++i) {
    const EntryFields& e = fields.entries[i];
    absl::StrAppend(&out, "  [", i, "]\n");
    AppendText(out, "  endpoint", e.endpoint);
    if (e.types.has_value()) {
      absl::StrAppend(&out, "    types: ", e.types->size(), " [");
      for (const std::string& t : *e.types) absl::StrAppend(&out, " ", t);
      absl::StrAppend(&out, " ]\n");
    } else {
      absl::StrAppend(&out, "    types: (absent)\n");
    }
    AppendText(out, "  scopes", e.scopes);
    AppendText(out, "  match_by", e.match_by);
    AppendText(out, "  xaddrs", e.xaddrs);
    if (e.metadata_version.has_value()) {
      absl::StrAppend(&out, "    metadata_version: ", *e.metadata_version, "\n");
    } else {
      absl::StrAppend(&out, "    metadata_version: (absent)\n");
    }
  }
  absl::StrAppend(&out, "}\n");
  return out;
}

}  // namespace onvif::testing
