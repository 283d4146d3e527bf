#include "engine/sweep/schedule.h"

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace onvif::sweep {
namespace {

using absl::Milliseconds;

std::vector<absl::Duration> Ms(std::vector<int> values) {
  std::vector<absl::Duration> out;
  for (int v : values) out.push_back(Milliseconds(v));
  return out;
}

TEST(ProbeSendOffsetsTest, DoublesAndCapsAt500ms) {
  EXPECT_EQ(ProbeSendOffsets(4, Milliseconds(100)), Ms({0, 100, 300, 700}));
  EXPECT_EQ(ProbeSendOffsets(4, Milliseconds(50)), Ms({0, 50, 150, 350}));
  // 250 -> 500 -> 500 (cap, SOAP-over-UDP UDP_UPPER_DELAY).
  EXPECT_EQ(ProbeSendOffsets(4, Milliseconds(250)), Ms({0, 250, 750, 1250}));
  EXPECT_EQ(ProbeSendOffsets(6, Milliseconds(150)), Ms({0, 150, 450, 950, 1450, 1950}));
}

TEST(ProbeSendOffsetsTest, RepeatIsClamped) {
  EXPECT_EQ(ProbeSendOffsets(1, Milliseconds(100)), Ms({0}));
  EXPECT_EQ(ProbeSendOffsets(0, Milliseconds(100)), Ms({0}));
  EXPECT_EQ(ProbeSendOffsets(-3, Milliseconds(100)).size(), 1u);
  EXPECT_EQ(ProbeSendOffsets(1000, Milliseconds(100)).size(), static_cast<std::size_t>(kMaxRepeat));
}

// A URBG that always returns the same word: the draw is a pure function of it.
struct ConstantBits {
  using result_type = std::uint64_t;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() { return value; }
  result_type value;
};

TEST(DrawFirstDelayTest, WithinFiftyToTwoFiftyAndDeterministic) {
  std::mt19937_64 gen(42);
  bool saw_low = false, saw_high = false;
  for (int i = 0; i < 5000; ++i) {
    const absl::Duration d = DrawFirstDelay(gen);
    ASSERT_GE(d, Milliseconds(50));
    ASSERT_LE(d, Milliseconds(250));
    ASSERT_EQ(d % Milliseconds(1), absl::ZeroDuration());
    saw_low |= d < Milliseconds(60);
    saw_high |= d > Milliseconds(240);
  }
  EXPECT_TRUE(saw_low);
  EXPECT_TRUE(saw_high);

  std::mt19937_64 a(7), b(7);
  EXPECT_EQ(ProbeSendOffsets(4, a), ProbeSendOffsets(4, b));
  ConstantBits c1{123456789}, c2{123456789};
  EXPECT_EQ(DrawFirstDelay(c1), DrawFirstDelay(c2));
}

TEST(EndOffsetTest, LastSendPlusAppMaxDelayPlusQuiet) {
  EndPolicy policy;  // 500 ms, quiet 200 ms, timeout 5 s
  EXPECT_EQ(EndOffset(policy, Milliseconds(700), std::nullopt), Milliseconds(1400));
  // A new endpoint before the settle point does not extend it.
  EXPECT_EQ(EndOffset(policy, Milliseconds(700), Milliseconds(900)), Milliseconds(1400));
  // A new endpoint after it does: quiet counts from it.
  EXPECT_EQ(EndOffset(policy, Milliseconds(700), Milliseconds(1300)), Milliseconds(1500));
}

TEST(EndOffsetTest, NeverAfterTimeout) {
  EndPolicy policy;
  policy.timeout = Milliseconds(1000);
  EXPECT_EQ(EndOffset(policy, Milliseconds(700), std::nullopt), Milliseconds(1000));
  EXPECT_EQ(EndOffset(policy, Milliseconds(700), Milliseconds(4000)), Milliseconds(1000));
  policy.quiet = absl::ZeroDuration();
  policy.timeout = absl::Seconds(5);
  EXPECT_EQ(EndOffset(policy, Milliseconds(0), std::nullopt), Milliseconds(500));
}

}  // namespace
}  // namespace onvif::sweep
