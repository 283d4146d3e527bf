#include "engine/wsd/type_names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/strings.h"
#include "engine/wsd/constants.h"

namespace onvif::wsd {

absl::StatusOr<std::vector<QNameSpec>> ParseTypeNames(std::string_view text) {
  std::vector<QNameSpec> out;
  bool any = false;
  int items = 0;
  for (absl::string_view piece : absl::StrSplit(base::ToAbsl(text), absl::ByAnyChar(", \t\n"), absl::SkipEmpty())) {
    const std::string_view item = base::FromAbsl(piece);
    ++items;
    if (item == "any") {
      any = true;
      continue;
    }
    QNameSpec qname;
    if (item.front() == '{') {
      const std::size_t close = item.find('}');
      if (close == std::string_view::npos || close == 1 || close + 1 == item.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad type '", piece, "': expected {namespace}Local"));
      }
      qname.ns = std::string(item.substr(1, close - 1));
      qname.local = std::string(item.substr(close + 1));
    } else {
      const std::size_t colon = item.find(':');
      if (colon == std::string_view::npos || colon + 1 == item.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bad type '", piece, "': expected dn:, tds: or wsdp: prefix, or {namespace}Local"));
      }
      const std::string_view prefix = item.substr(0, colon);
      if (prefix == "dn") {
        qname.ns = std::string(kNsOnvifNetwork);
      } else if (prefix == "tds") {
        qname.ns = std::string(kNsOnvifDevice);
      } else if (prefix == "wsdp") {
        qname.ns = std::string(kNsDevProf);
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "unknown prefix in type '", piece, "' (known: dn, tds, wsdp; or write {namespace}Local)"));
      }
      qname.local = std::string(item.substr(colon + 1));
    }
    if (qname.local.find_first_of(":{}") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad local name in type '", piece, "'"));
    }
    out.push_back(std::move(qname));
  }
  if (items == 0) return absl::InvalidArgumentError("empty --types (use 'any' for no Types)");
  if (any && !out.empty()) {
    return absl::InvalidArgumentError("'any' cannot be combined with other types");
  }
  return out;
}

std::string ClarkName(std::string_view ns, std::string_view local) {
  std::string out;
  AssignClarkName(ns, local, out);
  return out;
}

void AssignClarkName(std::string_view ns, std::string_view local, std::string& out) {
  if (ns.empty()) {
    out.assign(local);
    return;
  }
  out.clear();
  out.reserve(ns.size() + local.size() + 2);
  out.push_back('{');
  out.append(ns);
  out.push_back('}');
  out.append(local);
}

}  // namespace onvif::wsd
