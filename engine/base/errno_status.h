// errno -> absl::Status helpers for setup paths (never the per-packet path:
// they build strings).
//
// Every failure is reported once, at the syscall, naming the operation and
// where it happened, so the message alone tells what to fix:
//   ErrnoError(ENOBUFS, "IP_ADD_MEMBERSHIP", "nic1")
//     -> RESOURCE_EXHAUSTED "IP_ADD_MEMBERSHIP on nic1: No buffer space available"
// The status code follows absl::ErrnoToStatusCode (EPERM -> PERMISSION_DENIED,
// ENOBUFS -> RESOURCE_EXHAUSTED, EADDRINUSE -> FAILED_PRECONDITION, ...).

#ifndef ONVIF_ENGINE_BASE_ERRNO_STATUS_H_
#define ONVIF_ENGINE_BASE_ERRNO_STATUS_H_

#include <string_view>

#include "absl/status/status.h"

namespace onvif::base {

// "<op> on <where>: <strerror(err)>"; "<op>: <strerror(err)>" when `where`
// is empty.
absl::Status ErrnoError(int err, std::string_view op, std::string_view where);

// The same with the current errno (read before anything else can change it).
absl::Status LastErrnoError(std::string_view op, std::string_view where);

}  // namespace onvif::base

#endif  // ONVIF_ENGINE_BASE_ERRNO_STATUS_H_
