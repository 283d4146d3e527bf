#include "engine/base/errno_status.h"

#include <cerrno>

#include "gtest/gtest.h"

namespace onvif::base {
namespace {

TEST(ErrnoStatusTest, NamesOperationPlaceAndCause) {
  const absl::Status s = ErrnoError(ENOBUFS, "IP_ADD_MEMBERSHIP", "nic1");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "IP_ADD_MEMBERSHIP on nic1: No buffer space available");
}

TEST(ErrnoStatusTest, EmptyWhereOmitsOn) {
  const absl::Status s = ErrnoError(EPERM, "SO_RCVBUFFORCE", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "SO_RCVBUFFORCE: Operation not permitted");
}

TEST(ErrnoStatusTest, LastErrnoReadsErrno) {
  errno = EADDRINUSE;
  const absl::Status s = LastErrnoError("bind 0.0.0.0:3702", "cam3");
  EXPECT_EQ(s.message(), "bind 0.0.0.0:3702 on cam3: Address already in use");
}

}  // namespace
}  // namespace onvif::base
