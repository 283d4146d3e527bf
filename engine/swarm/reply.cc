#include "engine/swarm/reply.h"

#include <cassert>
#include <cstring>

#include "engine/wsd/constants.h"

namespace onvif::swarm {

std::uint64_t FastRng::Next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint32_t FastRng::UpTo(std::uint32_t bound) {
  // Lemire's multiply-shift; the bias for bounds this small is < 2^-32.
  return static_cast<std::uint32_t>(((Next() >> 32) * (static_cast<std::uint64_t>(bound) + 1)) >> 32);
}

void WriteMessageId(FastRng& rng, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t hi = rng.Next();
  std::uint64_t lo = rng.Next();
  hi = (hi & ~0xf000ULL) | 0x4000ULL;        // version 4
  lo = (lo & ~(3ULL << 62)) | (2ULL << 62);  // variant 10
  std::memcpy(out, "urn:uuid:", 9);
  char* p = out + 9;
  auto hex = [&p](std::uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i) *p++ = kHex[(v >> (4 * i)) & 0xf];
  };
  hex(hi >> 32, 8);
  *p++ = '-';
  hex(hi >> 16, 4);
  *p++ = '-';
  hex(hi, 4);
  *p++ = '-';
  hex(lo >> 48, 4);
  *p++ = '-';
  hex(lo, 12);
  assert(p == out + wsd::kMessageIdSize);
}

void ReplyStore::Reserve(std::size_t cameras, std::size_t bytes_each) {
  replies_.reserve(cameras);
  arena_.reserve(cameras * bytes_each);
}

wsd::RenderedMessage ReplyStore::Render(const wsd::DeviceDescription& device,
                                       const wsd::AppSequenceSpec& app_sequence,
                                       const std::function<void(std::string&)>& restyle) {
  wsd::RenderedMessage rendered = wsd::RenderProbeMatches(wsd::NewMessageId(), "", app_sequence, {&device, 1});
  if (!restyle) return rendered;
  const std::string message_id = rendered.bytes.substr(rendered.message_id_offset, rendered.message_id_size);
  restyle(rendered.bytes);
  // Find the pieces again: the MessageID value is unique, RelatesTo is empty.
  rendered.message_id_offset = rendered.bytes.find(message_id);
  const std::size_t relates_to = rendered.bytes.find("RelatesTo>");
  assert(rendered.message_id_offset != std::string::npos && relates_to != std::string::npos);
  rendered.relates_to_offset = relates_to + std::string_view("RelatesTo>").size();
  return rendered;
}

void ReplyStore::Add(const wsd::DeviceDescription& device, const wsd::AppSequenceSpec& app_sequence,
                     const std::function<void(std::string&)>& restyle) {
  const wsd::RenderedMessage rendered = Render(device, app_sequence, restyle);
  Reply reply = Layout(rendered);
  reply.begin = static_cast<std::uint32_t>(arena_.size());
  arena_.append(rendered.bytes);
  replies_.push_back(reply);
}

void ReplyStore::Add(const wsd::DeviceDescription& device, const wsd::AppSequenceSpec& app_sequence) {
  Add(device, app_sequence, {});
}

void ReplyStore::Replace(std::uint32_t index, const wsd::DeviceDescription& device,
                         const wsd::AppSequenceSpec& app_sequence,
                         const std::function<void(std::string&)>& restyle) {
  wsd::RenderedMessage rendered = Render(device, app_sequence, restyle);
  Reply reply = Layout(rendered);
  reply.side = replies_[index].side;
  if (reply.side == kInArena) {
    reply.side = static_cast<std::uint32_t>(side_.size());
    side_.emplace_back();
  }
  reply.begin = 0;
  side_[reply.side] = std::move(rendered.bytes);
  replies_[index] = reply;
}

ReplyStore::Reply ReplyStore::Layout(const wsd::RenderedMessage& rendered) {
  const std::size_t found = rendered.bytes.find(kHostMarker, rendered.relates_to_offset);
  const bool has_host = found != std::string::npos;
  const std::size_t host = has_host ? found : rendered.bytes.size();
  Reply reply;
  reply.has_host = has_host;
  reply.message_id = static_cast<std::uint32_t>(rendered.message_id_offset);
  reply.message_id_end = static_cast<std::uint32_t>(rendered.message_id_offset + rendered.message_id_size);
  reply.relates_to = static_cast<std::uint32_t>(rendered.relates_to_offset);
  constexpr std::string_view kNumber = "MessageNumber=\"";
  const std::size_t number = rendered.bytes.find(kNumber, rendered.relates_to_offset);
  if (number != std::string::npos && number < host) {
    reply.number = static_cast<std::uint32_t>(number + kNumber.size());
    reply.number_end = static_cast<std::uint32_t>(rendered.bytes.find('"', reply.number));
  } else {
    reply.number = reply.number_end = static_cast<std::uint32_t>(host);  // no AppSequence: nothing to patch
  }
  reply.host = static_cast<std::uint32_t>(host);
  reply.host_end = static_cast<std::uint32_t>(has_host ? host + kHostMarker.size() : host);
  reply.size = static_cast<std::uint32_t>(rendered.bytes.size());
  return reply;
}

void ReplyStore::Fill(std::uint32_t index, std::string_view message_id, std::string_view relates_to_escaped,
                      std::string_view message_number, std::string_view host_port, iovec* iov) const {
  const Reply& r = replies_[index];
  // iovec is not const-correct.
  char* base = const_cast<char*>(r.side == kInArena ? arena_.data() + r.begin : side_[r.side].data());
  auto piece = [](const char* data, std::size_t size) { return iovec{const_cast<char*>(data), size}; };
  const bool has_number = r.number_end > r.number;
  iov[0] = piece(base, r.message_id);
  iov[1] = piece(message_id.data(), message_id.size());
  iov[2] = piece(base + r.message_id_end, r.relates_to - r.message_id_end);
  iov[3] = piece(relates_to_escaped.data(), relates_to_escaped.size());
  iov[4] = piece(base + r.relates_to, r.number - r.relates_to);
  iov[5] = has_number ? piece(message_number.data(), message_number.size()) : piece(nullptr, 0);
  iov[6] = piece(base + r.number_end, r.host - r.number_end);
  iov[7] = r.has_host ? piece(host_port.data(), host_port.size()) : piece(nullptr, 0);
  iov[8] = piece(base + r.host_end, r.size - r.host_end);
}

std::string BuildMatchingRuleFault(std::string_view message_id, std::string_view relates_to) {
  std::string out;
  out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?><s:Envelope xmlns:s=\"");
  out.append(wsd::kNsSoap12);
  out.append("\" xmlns:a=\"");
  out.append(wsd::kNsAddressing2004);
  out.append("\" xmlns:d=\"");
  out.append(wsd::kNsDiscovery2005);
  out.append(
      "\"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/08/addressing/fault</a:Action>"
      "<a:MessageID>");
  wsd::AppendXmlEscaped(message_id, &out);
  out.append("</a:MessageID><a:RelatesTo>");
  wsd::AppendXmlEscaped(relates_to, &out);
  out.append("</a:RelatesTo><a:To>");
  out.append(wsd::kToAnonymous);
  out.append(
      "</a:To></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode>"
      "<s:Value>d:MatchingRuleNotSupported</s:Value></s:Subcode></s:Code><s:Reason>"
      "<s:Text xml:lang=\"en\">the matching rule specified is not supported</s:Text>"
      "</s:Reason><s:Detail><d:SupportedMatchingRules>");
  out.append(wsd::kMatchByRfc3986);
  out.append(" ");
  out.append(wsd::kMatchByRfc2396);
  out.append(" ");
  out.append(wsd::kMatchByStrcmp0);
  out.append(" ");
  out.append(wsd::kMatchByUuid);
  out.append("</d:SupportedMatchingRules></s:Detail></s:Fault></s:Body></s:Envelope>");
  return out;
}

std::string Gather(std::span<const iovec> iov) {
  std::string out;
  for (const iovec& piece : iov) out.append(static_cast<const char*>(piece.iov_base), piece.iov_len);
  return out;
}

}  // namespace onvif::swarm
