#include "engine/wsd/matching.h"

#include <array>
#include <cstddef>
#include <optional>

#include "engine/wsd/constants.h"

namespace onvif::wsd {
namespace {

// The 2009/01 (WS-Discovery 1.1) rule URIs; 2005/04 ones are in constants.h.
constexpr std::string_view kMatchBy2009Rfc3986 =
    "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/rfc3986";
constexpr std::string_view kMatchBy2009Uuid = "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/uuid";
constexpr std::string_view kMatchBy2009Strcmp0 =
    "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/strcmp0";
constexpr std::string_view kMatchBy2009None = "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/none";

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsXmlSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsXmlSpace(s.back())) s.remove_suffix(1);
  return s;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = AsciiLower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// Next octet of s starting at *pos with "%XX" decoded (a malformed escape is
// taken literally).
char NextOctet(std::string_view s, std::size_t* pos) {
  const std::size_t i = *pos;
  if (s[i] == '%' && i + 2 < s.size()) {
    const int hi = HexValue(s[i + 1]);
    const int lo = HexValue(s[i + 2]);
    if (hi >= 0 && lo >= 0) {
      *pos = i + 3;
      return static_cast<char>(hi * 16 + lo);
    }
  }
  *pos = i + 1;
  return s[i];
}

// Equality after percent-decoding both sides (RFC 3986 6.2.2.2), optionally
// ignoring ASCII case.
bool DecodedEquals(std::string_view a, std::string_view b, bool ignore_case) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    char x = NextOctet(a, &i);
    char y = NextOctet(b, &j);
    if (ignore_case) {
      x = AsciiLower(x);
      y = AsciiLower(y);
    }
    if (x != y) return false;
  }
  return i == a.size() && j == b.size();
}

struct UriParts {
  std::string_view scheme;
  std::string_view authority;
  bool has_authority = false;
  std::string_view path;
};

// RFC 3986 section 3 split (scheme ":" ["//" authority] path ["?" query]
// ["#" fragment]); nullopt when there is no valid scheme.
std::optional<UriParts> SplitUri(std::string_view uri) {
  const std::size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  for (std::size_t i = 0; i < colon; ++i) {
    const char c = uri[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool ok = alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return std::nullopt;
  }
  UriParts parts;
  parts.scheme = uri.substr(0, colon);
  std::string_view rest = uri.substr(colon + 1);
  const std::size_t end = rest.find_first_of("?#");
  if (end != std::string_view::npos) rest = rest.substr(0, end);
  if (rest.size() >= 2 && rest[0] == '/' && rest[1] == '/') {
    rest.remove_prefix(2);
    const std::size_t slash = rest.find('/');
    parts.has_authority = true;
    parts.authority = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  parts.path = rest;
  return parts;
}

// Pops the next '/'-separated segment off *path.
std::string_view NextSegment(std::string_view* path) {
  const std::size_t slash = path->find('/');
  std::string_view segment = path->substr(0, slash);
  *path = slash == std::string_view::npos ? std::string_view() : path->substr(slash + 1);
  return segment;
}

bool IsDotSegment(std::string_view segment) {
  return DecodedEquals(segment, ".", false) || DecodedEquals(segment, "..", false);
}

bool HasDotSegment(std::string_view path) {
  while (true) {
    const bool last = path.find('/') == std::string_view::npos;
    if (IsDotSegment(NextSegment(&path))) return true;
    if (last) return false;
  }
}

// WS-Discovery 2005/04 section 5.1, rfc2396 / rfc3986.
bool Rfc3986Matches(std::string_view probe_scope, std::string_view device_scope) {
  const std::optional<UriParts> s1 = SplitUri(probe_scope);
  const std::optional<UriParts> s2 = SplitUri(device_scope);
  if (!s1 || !s2) return false;
  if (!IEquals(s1->scheme, s2->scheme)) return false;
  if (s1->has_authority != s2->has_authority) return false;
  if (!DecodedEquals(s1->authority, s2->authority, /*ignore_case=*/true)) return false;
  if (HasDotSegment(s1->path) || HasDotSegment(s2->path)) return false;

  std::string_view p1 = s1->path;
  std::string_view p2 = s2->path;
  // "a/b/" names the same prefix as "a/b".
  if (!p1.empty() && p1.back() == '/') p1.remove_suffix(1);
  if (p1.empty()) return true;  // an empty path is a prefix of every path
  // Segment by segment: every segment of p1 equals the one at its place in p2.
  bool p2_done = false;
  while (true) {
    if (p2_done) return false;  // p2 has fewer segments than p1
    const bool p1_last = p1.find('/') == std::string_view::npos;
    p2_done = p2.find('/') == std::string_view::npos;
    const std::string_view a = NextSegment(&p1);
    const std::string_view b = NextSegment(&p2);
    if (!DecodedEquals(a, b, /*ignore_case=*/false)) return false;
    if (p1_last) return true;
  }
}

// 16 bytes from "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" after a "uuid:" or
// "urn:uuid:" scheme (case-insensitive).
std::optional<std::array<std::uint8_t, 16>> ParseUuidUri(std::string_view uri) {
  if (uri.size() >= 9 && IEquals(uri.substr(0, 9), "urn:uuid:")) {
    uri.remove_prefix(9);
  } else if (uri.size() >= 5 && IEquals(uri.substr(0, 5), "uuid:")) {
    uri.remove_prefix(5);
  } else {
    return std::nullopt;
  }
  if (uri.size() != 36) return std::nullopt;
  std::array<std::uint8_t, 16> out{};
  std::size_t byte = 0;
  for (std::size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (uri[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = HexValue(uri[i]);
    const int lo = HexValue(uri[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[byte++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

MatchRule ParseMatchBy(std::string_view match_by) {
  match_by = Trim(match_by);
  if (match_by.empty() || match_by == kMatchByRfc3986 || match_by == kMatchByRfc2396 ||
      match_by == kMatchBy2009Rfc3986) {
    return MatchRule::kRfc3986;
  }
  if (match_by == kMatchByStrcmp0 || match_by == kMatchBy2009Strcmp0) return MatchRule::kStrcmp0;
  if (match_by == kMatchByUuid || match_by == kMatchBy2009Uuid) return MatchRule::kUuid;
  if (match_by == kMatchBy2009None) return MatchRule::kNone;
  return MatchRule::kUnknown;
}

namespace {
template <typename Wanted>
bool AllTypesPresent(std::span<const Wanted> wanted_types, std::span<const QName> device_types) {
  for (const Wanted& wanted : wanted_types) {
    bool found = false;
    for (const QName& have : device_types) {
      if (have.ns == wanted.ns && have.local == wanted.local) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}
}  // namespace

bool TypesMatch(std::span<const QName> probe_types, std::span<const QName> device_types) {
  return AllTypesPresent(probe_types, device_types);
}

bool TypesMatch(std::span<const QNameSpec> wanted_types, std::span<const QName> device_types) {
  return AllTypesPresent(wanted_types, device_types);
}

bool ScopeMatches(MatchRule rule, std::string_view probe_scope, std::string_view device_scope) {
  switch (rule) {
    case MatchRule::kRfc3986:
      return Rfc3986Matches(probe_scope, device_scope);
    case MatchRule::kStrcmp0:
      return probe_scope == device_scope;
    case MatchRule::kUuid: {
      const auto a = ParseUuidUri(probe_scope);
      const auto b = ParseUuidUri(device_scope);
      return a && b && *a == *b;
    }
    case MatchRule::kNone:
    case MatchRule::kUnknown:
      return false;
  }
  return false;
}

MatchResult ScopesMatch(std::string_view probe_scopes, std::string_view match_by,
                        std::span<const std::string_view> device_scopes) {
  const MatchRule rule = ParseMatchBy(match_by);
  if (rule == MatchRule::kUnknown) return MatchResult::kUnsupportedRule;
  if (rule == MatchRule::kNone) {
    // WS-Discovery 1.1 section 5.1: "none" matches only a service without scopes.
    return device_scopes.empty() ? MatchResult::kMatch : MatchResult::kNoMatch;
  }
  for (const std::string_view wanted : ListItems(probe_scopes)) {
    bool found = false;
    for (const std::string_view have : device_scopes) {
      if (ScopeMatches(rule, wanted, have)) {
        found = true;
        break;
      }
    }
    if (!found) return MatchResult::kNoMatch;
  }
  return MatchResult::kMatch;
}

bool AllScopesMatch(std::span<const std::string> wanted, std::string_view device_scopes) {
  for (const std::string& scope : wanted) {
    bool found = false;
    for (std::string_view have : ListItems(device_scopes)) {
      if (ScopeMatches(MatchRule::kRfc3986, scope, have)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace onvif::wsd
