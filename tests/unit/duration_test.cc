#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/error.h"

namespace hostca {
namespace {

TEST(ParseDuration, AcceptsUnitsAndSums) {
  EXPECT_EQ(parse_duration("90s"), std::chrono::seconds(90));
  EXPECT_EQ(parse_duration("24h"), std::chrono::hours(24));
  EXPECT_EQ(parse_duration("7d"), std::chrono::hours(24 * 7));
  EXPECT_EQ(parse_duration("1h30m"), std::chrono::minutes(90));
}

TEST(ParseDuration, RefusesTextWithoutAUnit) {
  for (const char* bad : {"", "24", "h", "1x", "-1h", "1h30"}) {
    try {
      parse_duration(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace hostca
