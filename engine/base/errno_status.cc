#include "engine/base/errno_status.h"

#include <cerrno>

#include "engine/base/strings.h"

namespace onvif::base {

absl::Status ErrnoError(int err, std::string_view op, std::string_view where) {
  if (where.empty()) return absl::ErrnoToStatus(err, ToAbsl(op));
  return absl::ErrnoToStatus(err, StrCat(op, " on ", where));
}

absl::Status LastErrnoError(std::string_view op, std::string_view where) {
  const int err = errno;
  return ErrnoError(err, op, where);
}

}  // namespace onvif::base
