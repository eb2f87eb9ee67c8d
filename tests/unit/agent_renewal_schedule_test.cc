// The agent's renewal schedule (ring 1): when a certificate is due, expired
// or not valid yet, to the second, and the threshold's bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "../support/expect_error.h"
#include "agent/renewal.h"

namespace hostca::agent {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const TimePoint kNotBefore = from_unix_micros(1772366400LL * 1000000);  // 2026-03-01T12:00:00Z
const TimePoint kNotAfter = kNotBefore + hours(24 * 365);

RenewalSchedule schedule(double renew_at = kDefaultRenewAt) {
  return RenewalSchedule{kNotBefore, kNotAfter, renew_at};
}

TEST(RenewalSchedule, IsDueOnceTheThresholdOfTheLifetimeHasPassedNotASecondEarlier) {
  const RenewalSchedule s = schedule();
  const TimePoint half = kNotBefore + hours(24 * 365) / 2;
  EXPECT_EQ(s.due(), half);
  EXPECT_FALSE(s.is_due(half - seconds(1)));
  EXPECT_TRUE(s.is_due(half));
  EXPECT_TRUE(s.is_due(half + seconds(1)));
}

TEST(RenewalSchedule, OtherThresholdsMoveTheDueTime) {
  EXPECT_EQ(schedule(0.0).due(), kNotBefore);
  EXPECT_TRUE(schedule(0.0).is_due(kNotBefore));
  EXPECT_EQ(schedule(0.75).due(), kNotBefore + hours(24 * 365) * 3 / 4);
  // Just below 1: due before the end, never after it.
  EXPECT_LT(schedule(0.999999).due(), kNotAfter);
}

TEST(RenewalSchedule, ExpiredFromNotAfterOnAndNotValidBeforeNotBefore) {
  const RenewalSchedule s = schedule();
  EXPECT_FALSE(s.expired(kNotAfter - seconds(1)));
  EXPECT_TRUE(s.expired(kNotAfter));
  EXPECT_TRUE(s.not_yet_valid(kNotBefore - seconds(1)));
  EXPECT_FALSE(s.not_yet_valid(kNotBefore));
}

TEST(RenewalSchedule, ThresholdMustBeAtLeastZeroAndBelowOne) {
  for (const double good : {0.0, 0.5, 0.99}) EXPECT_EQ(checked_renew_at(good), good);
  for (const double bad : {-0.01, 1.0, 1.5, std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity()}) {
    const std::string msg = HOSTCA_EXPECT_ERROR(checked_renew_at(bad), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("--renew-at"), std::string::npos) << msg;
  }
}

TEST(RenewalSchedule, DaysUntilRoundsDownAndGoesNegativeOncePassed) {
  EXPECT_EQ(days_until(kNotAfter, kNotAfter - hours(24) - seconds(1)), 1);
  EXPECT_EQ(days_until(kNotAfter, kNotAfter - hours(24) + seconds(1)), 0);
  EXPECT_EQ(days_until(kNotAfter, kNotAfter), 0);
  EXPECT_EQ(days_until(kNotAfter, kNotAfter + seconds(1)), -1);
}

}  // namespace
}  // namespace hostca::agent
