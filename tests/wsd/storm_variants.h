// A storm of one camera model, made from one envelope: variant i has the 36
// characters after each "urn:uuid:" replaced by a UUID of its own and every
// IPv4 address in XAddrs content replaced by one of its own (of another
// length, often). Everything else stays byte for byte, so the variants share
// the shape the scanner's shape cache keys on. Used by the shape-cache test,
// the scanner bench and bench/instructions.

#ifndef ONVIF_TESTS_WSD_STORM_VARIANTS_H_
#define ONVIF_TESTS_WSD_STORM_VARIANTS_H_

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace onvif::testing {

inline bool IsUuidChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-';
}

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length of a dotted quad at s[at] (digits '.' digits '.' digits '.' digits,
// not preceded or followed by a digit or '.'), or 0.
inline std::size_t Ipv4Length(std::string_view s, std::size_t at) {
  if (at > 0 && (IsDigit(s[at - 1]) || s[at - 1] == '.')) return 0;
  std::size_t p = at;
  for (int part = 0; part < 4; ++part) {
    const std::size_t start = p;
    while (p < s.size() && IsDigit(s[p]) && p - start < 3) ++p;
    if (p == start) return 0;
    if (part < 3) {
      if (p == s.size() || s[p] != '.') return 0;
      ++p;
    }
  }
  if (p < s.size() && (IsDigit(s[p]) || s[p] == '.')) return 0;
  return p - at;
}

inline std::string StormVariant(std::string_view envelope, std::size_t i) {
  std::string out;
  out.reserve(envelope.size() + 64);
  constexpr std::string_view kUrn = "urn:uuid:";
  std::size_t uuid_index = 0;
  std::size_t ip_index = 0;
  bool in_xaddrs = false;
  for (std::size_t at = 0; at < envelope.size();) {
    const std::string_view rest = envelope.substr(at);
    if (rest.starts_with(kUrn) && rest.size() >= kUrn.size() + 36) {
      bool uuid = true;
      for (std::size_t k = 0; k < 36; ++k) uuid = uuid && IsUuidChar(rest[kUrn.size() + k]);
      if (uuid) {
        char buffer[40];
        std::snprintf(buffer, sizeof buffer, "%08zx-%04zx-4%03zx-8%03zx-%012zx", i * 2654435761u % 0xFFFFFFFFu,
                      uuid_index, i % 0xFFF, (i * 7) % 0xFFF, i * 1000003 + uuid_index);
        out += kUrn;
        out += buffer;
        at += kUrn.size() + 36;
        ++uuid_index;
        continue;
      }
    }
    const char c = envelope[at];
    if (c == '<') {
      // XAddrs content runs from its start tag to the next '<'.
      const std::size_t gt = envelope.find('>', at);
      const std::string_view tag = envelope.substr(at, gt == std::string_view::npos ? 0 : gt - at);
      in_xaddrs = tag.size() > 1 && tag[1] != '/' && tag.back() != '/' &&
                  (tag.ends_with(":XAddrs") || tag == "<XAddrs");
    } else if (in_xaddrs && IsDigit(c)) {
      if (const std::size_t n = Ipv4Length(envelope, at); n != 0) {
        out += std::to_string(10 + i % 200) + "." + std::to_string(i / 3 % 256) + "." + std::to_string(i % 256) +
               "." + std::to_string(1 + (i + ip_index * 17) % 254);
        at += n;
        ++ip_index;
        continue;
      }
    }
    out += c;
    ++at;
  }
  return out;
}

inline std::vector<std::string> StormVariants(std::string_view envelope, std::size_t count) {
  std::vector<std::string> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(StormVariant(envelope, i));
  return out;
}

}  // namespace onvif::testing

#endif  // ONVIF_TESTS_WSD_STORM_VARIANTS_H_
