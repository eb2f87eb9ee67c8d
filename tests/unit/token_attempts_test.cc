// Failed attempts per key (a client address): the budget, the sliding
// window's edges (one second before and after), the memory bound, and the
// address a peer is counted under.
#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include "domain/token_attempts.h"

namespace hostca {
namespace {

const TimePoint kStart = from_unix_micros(1772366400LL * 1000000);

AttemptPolicy policy(int budget, int window_seconds, std::size_t max_keys = 1000) {
  AttemptPolicy p;
  p.budget = budget;
  p.window = std::chrono::seconds(window_seconds);
  p.max_keys = max_keys;
  return p;
}

TEST(AttemptLimiter, RefusesAKeyPastItsBudgetUntilTheWindowHasPassed) {
  FakeClock clock(kStart);
  AttemptLimiter limiter(policy(3, 60), clock);
  const std::string key = "ipv4:192.0.2.7";
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.over_budget(key)) << i;
    limiter.failed(key);
  }
  EXPECT_TRUE(limiter.over_budget(key));
  EXPECT_EQ(limiter.retry_after(key), std::chrono::seconds(60));

  clock.advance(std::chrono::seconds(59));
  EXPECT_TRUE(limiter.over_budget(key));  // one second before the window ends
  EXPECT_EQ(limiter.retry_after(key), std::chrono::seconds(1));
  clock.advance(std::chrono::seconds(1));
  EXPECT_FALSE(limiter.over_budget(key));  // the first failure has left it
}

TEST(AttemptLimiter, AnotherAddressIsNotRefused) {
  FakeClock clock(kStart);
  AttemptLimiter limiter(policy(2, 60), clock);
  limiter.failed("ipv4:192.0.2.7");
  limiter.failed("ipv4:192.0.2.7");
  ASSERT_TRUE(limiter.over_budget("ipv4:192.0.2.7"));
  EXPECT_FALSE(limiter.over_budget("ipv4:192.0.2.8"));
}

TEST(AttemptLimiter, PeerAddressesDropThePortAndKeepTheAddress) {
  EXPECT_EQ(peer_address("ipv4:10.0.0.1:5000"), "ipv4:10.0.0.1");
  EXPECT_EQ(peer_address("ipv6:[::1]:5000"), "ipv6:[::1]");
  EXPECT_EQ(peer_address("ipv6:%5B::1%5D:5000"), "ipv6:%5B::1%5D");
  EXPECT_EQ(peer_address("ipv4:10.0.0.1"), "ipv4:10.0.0.1");
  EXPECT_EQ(peer_address("unix:/run/hostca.sock"), "unix:/run/hostca.sock");
}

TEST(AttemptLimiter, MemoryStaysWithinMaxKeys) {
  FakeClock clock(kStart);
  AttemptLimiter limiter(policy(5, 60, 10), clock);
  for (int i = 0; i < 100; ++i) {
    limiter.failed("ipv4:203.0.113." + std::to_string(i));
    EXPECT_LE(limiter.tracked_keys(), 10u);
  }
}

TEST(AttemptLimiter, RefusesAnUnusablePolicy) {
  FakeClock clock(kStart);
  HOSTCA_EXPECT_ERROR(AttemptLimiter(policy(0, 60), clock), ErrorKind::kInvalidArgument);
  HOSTCA_EXPECT_ERROR(AttemptLimiter(policy(1, 0), clock), ErrorKind::kInvalidArgument);
  HOSTCA_EXPECT_ERROR(AttemptLimiter(policy(1, 60, 0), clock), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace hostca
