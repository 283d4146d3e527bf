// WS-Discovery message builders: Probe, ProbeMatches, Resolve, ResolveMatches,
// Hello and Bye envelopes as ONVIF devices and clients send them.
//
// Design note
// -----------
// Envelopes use SOAP 1.2, WS-Addressing 2004/08 and WS-Discovery 2005/04 (the
// ONVIF Core Specification's "Device discovery" set) with the fixed prefixes
// s:, a: and d:. Each distinct namespace of a Types QName gets its own prefix,
// declared on the Envelope: dn:, tds:, wsdp: for the well-known ONVIF / DPWS
// namespaces, t1:, t2:, ... for any other. A QName with an empty namespace is
// written without a prefix (no default namespace is ever declared, so it reads
// back with an empty namespace).
//
// Output is compact (no whitespace between elements) because one envelope is
// one UDP datagram; DPWS Appendix B suggests staying under 4096 bytes.
//
// Values are XML-escaped: & < > " ' become entity references, CR becomes
// &#13; (a parser would otherwise turn it into LF), and the C0 control
// characters XML 1.0 forbids (all but TAB, LF, CR) become U+FFFD, so the output
// is well-formed whatever the input. Input text must be UTF-8; it is not
// validated. List items (Scopes, XAddrs) are URIs and must not contain
// whitespace: they are joined with single spaces. QName local names must be
// NCNames. Readers trim leading and trailing whitespace of field values.
//
// These builders are not on the per-datagram path (they allocate). A responder
// that answers many Probes renders its ProbeMatches once with
// RenderProbeMatches and patches the two per-Probe values (MessageID and
// RelatesTo) into it with PatchReply.

#ifndef ONVIF_ENGINE_WSD_BUILDER_H_
#define ONVIF_ENGINE_WSD_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/random/bit_gen_ref.h"

namespace onvif::wsd {

// A QName by namespace URI and local name; the builder picks the prefix.
//
// Every member of these input structs has a default member initializer so
// that designated initializers may leave any of them out without tripping
// -Wmissing-field-initializers (GCC warns for members without one).
struct QNameSpec {
  std::string ns = {};
  std::string local = {};
  bool operator==(const QNameSpec&) const = default;
};

// What a Target Service says about itself in Hello, ProbeMatch and
// ResolveMatch (WS-Discovery 2005/04, sections 4.1, 5.3, 6.3). Empty lists are
// omitted from the message.
struct DeviceDescription {
  std::string endpoint = {};  // EndpointReference/Address, usually "urn:uuid:..."
  std::vector<QNameSpec> types = {};
  std::vector<std::string> scopes = {};
  std::vector<std::string> xaddrs = {};
  std::uint64_t metadata_version = 0;
};

// The AppSequence header (WS-Discovery 2005/04, section 7): sent by a Target
// Service on Hello, Bye, ProbeMatches and ResolveMatches so receivers can
// order its messages. An empty sequence_id omits the attribute.
struct AppSequenceSpec {
  std::uint64_t instance_id = 0;
  std::string sequence_id = {};
  std::uint64_t message_number = 0;
};

// The body of a Probe (WS-Discovery 2005/04, section 5.1). Empty types match
// every type; empty scopes and match_by omit the Scopes element; an empty
// match_by omits the attribute (the receiver then uses rfc3986, ONVIF's
// default).
struct ProbeSpec {
  std::vector<QNameSpec> types = {};
  std::vector<std::string> scopes = {};
  std::string match_by = {};
};

// Length of a MessageID from NewMessageId: "urn:uuid:" + 36.
inline constexpr std::size_t kMessageIdSize = 45;

// A fresh "urn:uuid:xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" (RFC 4122 version 4,
// variant 10, lowercase hex). WS-Addressing requires MessageIDs to be unique;
// retransmissions re-send the same bytes, so they keep theirs (SOAP-over-UDP
// Appendix I). The first overload uses a thread-local absl::BitGen; pass a
// seeded generator for reproducible ids.
std::string NewMessageId();
std::string NewMessageId(absl::BitGenRef gen);

// Every builder takes the MessageID to put in the header; an empty one is
// replaced by NewMessageId(). To make ids reproducible, pass
// NewMessageId(seeded_gen).

// Multicast Probe: wsa:To is the discovery URN (WS-Discovery 2005/04, 2.4).
std::string BuildProbe(std::string_view message_id, const ProbeSpec& probe);

// Multicast Resolve for an endpoint address (section 6.1).
std::string BuildResolve(std::string_view message_id, std::string_view endpoint);

// Multicast Hello (section 4.1). XAddrs may be empty (the receiver then
// resolves the endpoint).
std::string BuildHello(std::string_view message_id, const AppSequenceSpec& app_sequence,
                       const DeviceDescription& device);

// Multicast Bye (section 4.2): carries only the endpoint reference.
std::string BuildBye(std::string_view message_id, const AppSequenceSpec& app_sequence,
                     std::string_view endpoint);

// A rendered reply and where its per-request values sit in it: bytes[offset,
// offset + size) is the value as written (XML-escaped). The MessageID comes
// before the RelatesTo. A MessageID from NewMessageId is kMessageIdSize bytes,
// so a fresh one can be copied over it in place.
struct RenderedMessage {
  std::string bytes;
  std::size_t message_id_offset = 0;
  std::size_t message_id_size = 0;
  std::size_t relates_to_offset = 0;
  std::size_t relates_to_size = 0;
};

// ProbeMatches, unicast back to the prober (section 5.3): wsa:To is the
// anonymous endpoint, wsa:RelatesTo is the Probe's MessageID. Zero matches
// give an empty ProbeMatches element.
RenderedMessage RenderProbeMatches(std::string_view message_id, std::string_view relates_to,
                                   const AppSequenceSpec& app_sequence,
                                   std::span<const DeviceDescription> matches);
std::string BuildProbeMatches(std::string_view message_id, std::string_view relates_to,
                              const AppSequenceSpec& app_sequence,
                              std::span<const DeviceDescription> matches);

// ResolveMatches with one match (section 6.3); addressing as for ProbeMatches.
RenderedMessage RenderResolveMatches(std::string_view message_id, std::string_view relates_to,
                                     const AppSequenceSpec& app_sequence,
                                     const DeviceDescription& match);
std::string BuildResolveMatches(std::string_view message_id, std::string_view relates_to,
                                const AppSequenceSpec& app_sequence,
                                const DeviceDescription& match);

// Writes rendered.bytes to *out (replacing its contents, reusing its
// capacity) with the MessageID and RelatesTo values replaced by message_id and
// relates_to (escaped here). Any lengths work; the rest of the message is
// copied unchanged.
void PatchReply(const RenderedMessage& rendered, std::string_view message_id,
                std::string_view relates_to, std::string* out);

// Appends value XML-escaped as described in the design note (valid in text and
// in double- or single-quoted attributes).
void AppendXmlEscaped(std::string_view value, std::string* out);

}  // namespace onvif::wsd

#endif  // ONVIF_ENGINE_WSD_BUILDER_H_
