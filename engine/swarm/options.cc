// The parts of swarm.h that touch no socket: address ranges and the counters'
// JSON.

#include <arpa/inet.h>

#include <string>

#include "engine/base/json_writer.h"
#include "engine/swarm/swarm.h"

namespace onvif::swarm {

std::uint64_t Ipv4Range::HostCount() const {
  const std::uint64_t size = std::uint64_t{1} << (32 - prefix_length);
  return prefix_length >= 31 ? size : size - 2;  // no network / broadcast address
}

std::optional<std::uint32_t> Ipv4Range::IndexOf(in_addr host) const {
  const std::uint32_t first = prefix_length >= 31 ? network : network + 1;
  const std::uint32_t address = ntohl(host.s_addr);
  if (address < first || address - first >= HostCount()) return std::nullopt;
  return address - first;
}

in_addr Ipv4Range::Host(std::uint32_t index) const {
  const std::uint32_t first = prefix_length >= 31 ? network : network + 1;
  in_addr out;
  out.s_addr = htonl(first + index);
  return out;
}

absl::StatusOr<Ipv4Range> Ipv4Range::Parse(std::string_view cidr) {
  const std::size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) {
    std::string message(cidr);
    message.append(" is not a CIDR block (expected a.b.c.d/len)");
    return absl::InvalidArgumentError(message);
  }
  const std::string address_text(cidr.substr(0, slash));
  in_addr address;
  if (inet_pton(AF_INET, address_text.c_str(), &address) != 1) {
    std::string message(address_text);
    message.append(" is not an IPv4 address");
    return absl::InvalidArgumentError(message);
  }
  const std::string_view length = cidr.substr(slash + 1);
  int prefix = 0;
  bool ok = !length.empty() && length.size() <= 2;
  for (const char c : length) {
    ok = ok && c >= '0' && c <= '9';
    prefix = prefix * 10 + (c - '0');
  }
  if (!ok || prefix > 32) {
    std::string message("prefix length ");
    message.append(length);
    message.append(" must be 0..32");
    return absl::InvalidArgumentError(message);
  }
  Ipv4Range range;
  range.prefix_length = prefix;
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  range.network = ntohl(address.s_addr) & mask;
  return range;
}

std::string CountersJson(const SwarmCounters& c, std::uint32_t cameras,
                         const std::vector<std::string>& interfaces) {
  std::string out;
  base::JsonWriter json(&out);
  json.BeginObject();
  json.KeyUint("cameras", cameras);
  json.Key("interfaces");
  json.BeginArray();
  for (const std::string& name : interfaces) json.String(name);
  json.EndArray();
  json.KeyUint("datagrams", c.datagrams);
  json.KeyUint("probes", c.probes);
  json.KeyUint("answered", c.answered);
  json.KeyUint("not_matched", c.not_matched);
  json.KeyUint("unsupported_rule", c.unsupported_rule);
  json.KeyUint("rate_limited", c.rate_limited);
  json.KeyUint("duplicates", c.duplicates);
  json.KeyUint("busy", c.busy);
  json.KeyUint("malformed", c.malformed);
  json.KeyUint("ignored", c.ignored);
  json.KeyUint("resolves", c.resolves);
  json.KeyUint("resolves_answered", c.resolves_answered);
  json.KeyUint("replies_sent", c.replies_sent);
  json.KeyUint("send_errors", c.send_errors);
  json.KeyUint("hellos", c.hellos);
  json.KeyUint("byes", c.byes);
  json.KeyUint("churn_byes", c.churn_byes);
  json.KeyUint("churn_hellos", c.churn_hellos);
  json.KeyUint("churn_updates", c.churn_updates);
  json.KeyUint("away", c.away);
  json.KeyUint("kernel_drops", c.kernel_drops);
  json.KeyUint("last_answer_us", c.last_answer_us);
  json.EndObject();
  return out;
}

}  // namespace onvif::swarm
