#include "engine/base/unique_fd.h"

#include <fcntl.h>
#include <sys/eventfd.h>

#include <type_traits>
#include <utility>

#include "gtest/gtest.h"

namespace onvif::base {
namespace {

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

static_assert(!std::is_copy_constructible_v<UniqueFd>);
static_assert(!std::is_copy_assignable_v<UniqueFd>);
static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);

TEST(UniqueFdTest, ClosesOnDestruction) {
  const int raw = eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd fd(raw);
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(fd.get(), raw);
  }
  EXPECT_FALSE(IsOpen(raw));
}

TEST(UniqueFdTest, MoveTransfersOwnership) {
  const int raw = eventfd(0, EFD_CLOEXEC);
  UniqueFd a(raw);
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from is -1 by contract
  EXPECT_EQ(b.get(), raw);
  UniqueFd c;
  c = std::move(b);
  EXPECT_EQ(c.get(), raw);
  EXPECT_TRUE(IsOpen(raw));
}

TEST(UniqueFdTest, MoveAssignClosesThePreviousFd) {
  const int first = eventfd(0, EFD_CLOEXEC);
  const int second = eventfd(0, EFD_CLOEXEC);
  UniqueFd a(first);
  a = UniqueFd(second);
  EXPECT_FALSE(IsOpen(first));
  EXPECT_EQ(a.get(), second);
}

TEST(UniqueFdTest, ReleaseAndReset) {
  const int raw = eventfd(0, EFD_CLOEXEC);
  UniqueFd fd(raw);
  const int released = fd.release();
  EXPECT_EQ(released, raw);
  EXPECT_FALSE(fd.valid());
  EXPECT_TRUE(IsOpen(raw));
  fd.reset(released);
  fd.reset();
  EXPECT_FALSE(IsOpen(raw));
  EXPECT_FALSE(static_cast<bool>(fd));
}

}  // namespace
}  // namespace onvif::base
