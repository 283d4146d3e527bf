#include "engine/base/errno_status.h"

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace onvif::base {

absl::Status ErrnoError(int err, std::string_view op, std::string_view where) {
  // absl::string_view is not std::string_view in this (Debian) abseil build.
  const absl::string_view op_view(op.data(), op.size());
  if (where.empty()) return absl::ErrnoToStatus(err, op_view);
  return absl::ErrnoToStatus(
      err, absl::StrCat(op_view, " on ", absl::string_view(where.data(), where.size())));
}

absl::Status LastErrnoError(std::string_view op, std::string_view where) {
  const int err = errno;
  return ErrnoError(err, op, where);
}

}  // namespace onvif::base
