// One clock for correctness: the skew from three readings, and the verdict
// at the tolerance's edges.
#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include "domain/clock_check.h"

namespace hostca {
namespace {

const TimePoint kDb = from_unix_micros(1772366400LL * 1000000);

TEST(ClockCheck, SkewIsTheMidpointOfTheLocalReadingsMinusTheDatabases) {
  EXPECT_EQ(clock_skew(kDb + std::chrono::seconds(3), kDb + std::chrono::milliseconds(100),
                       kDb + std::chrono::milliseconds(3200)),
            std::chrono::microseconds(3000000));
  EXPECT_EQ(clock_skew(kDb - std::chrono::seconds(5), kDb, kDb - std::chrono::seconds(5)),
            -std::chrono::seconds(5));
}

TEST(ClockCheck, InStepUpToTheToleranceOutOfStepOneMicrosecondPast) {
  ClockCheck check(ClockPolicy{std::chrono::seconds(2)});
  EXPECT_FALSE(check.problem());  // never measured: nothing to say
  for (const Duration skew : {Duration(std::chrono::seconds(2)), -Duration(std::chrono::seconds(2)),
                              Duration(std::chrono::seconds(1)), Duration::zero()}) {
    check.record(skew);
    EXPECT_FALSE(check.problem()) << skew.count();
  }
  check.record(std::chrono::seconds(2) + std::chrono::microseconds(1));
  ASSERT_TRUE(check.problem());
  EXPECT_NE(check.problem()->find("2.000 s ahead of the database's (tolerance 2.000 s)"),
            std::string::npos)
      << *check.problem();
  const std::string msg =
      HOSTCA_EXPECT_ERROR(check.require_in_step("issue certificates"), ErrorKind::kUnavailable);
  EXPECT_NE(msg.find("does not issue certificates"), std::string::npos) << msg;
  check.record(-std::chrono::seconds(3));
  EXPECT_NE(check.problem()->find("3.000 s behind"), std::string::npos);
  check.record(std::chrono::seconds(1));
  EXPECT_FALSE(check.problem());
}

TEST(ClockCheck, RefusesAnUnusableTolerance) {
  HOSTCA_EXPECT_ERROR(ClockCheck(ClockPolicy{Duration::zero()}), ErrorKind::kInvalidArgument);
  HOSTCA_EXPECT_ERROR(ClockCheck(ClockPolicy{std::chrono::hours(1)}), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace hostca
