// Bridges std::string_view and Debian's abseil.
//
// Debian's abseil (LTS 20220623) is built with ABSL_OPTION_USE_STD_STRING_VIEW
// set to 0, so absl::string_view is a type of its own: absl::StrCat,
// StrSplit and friends take std::string and const char* but not
// std::string_view. The project speaks std::string_view; these convert at
// the boundary without copying.

#ifndef ONVIF_ENGINE_BASE_STRINGS_H_
#define ONVIF_ENGINE_BASE_STRINGS_H_

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace onvif::base {

inline absl::string_view ToAbsl(std::string_view text) { return {text.data(), text.size()}; }
inline std::string_view FromAbsl(absl::string_view text) { return {text.data(), text.size()}; }

namespace strings_internal {
template <typename T>
decltype(auto) AbslArg(const T& part) {
  if constexpr (std::is_convertible_v<const T&, std::string_view> &&
                !std::is_convertible_v<const T&, absl::string_view>) {
    return ToAbsl(part);
  } else {
    return (part);
  }
}
}  // namespace strings_internal

// absl::StrCat that also takes std::string_view.
template <typename... Parts>
std::string StrCat(const Parts&... parts) {
  return absl::StrCat(strings_internal::AbslArg(parts)...);
}

}  // namespace onvif::base

#endif  // ONVIF_ENGINE_BASE_STRINGS_H_
