// Failed token attempts: the budget per peer and per token prefix, the
// sliding window's edges (one second before and after), and the memory
// bound.
#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include "domain/token_attempts.h"

namespace hostca {
namespace {

const TimePoint kStart = from_unix_micros(1772366400LL * 1000000);
const std::string kGuess = "hca_auth_AAAAguessguessguessguessguessguessguess";

TokenAttemptPolicy policy(int budget, int window_seconds, std::size_t max_keys = 1000) {
  TokenAttemptPolicy p;
  p.budget = budget;
  p.window = std::chrono::seconds(window_seconds);
  p.max_keys = max_keys;
  return p;
}

TEST(TokenAttempts, RefusesAPeerPastItsBudgetUntilTheWindowHasPassed) {
  FakeClock clock(kStart);
  TokenAttemptLimiter limiter(policy(3, 60), clock);
  const auto keys = attempt_keys("ipv4:192.0.2.7:40000", kGuess);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.over_budget(keys)) << i;
    limiter.failed(keys);
  }
  const auto refused = limiter.over_budget(keys);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->kind, AttemptKey::Kind::kPeer);
  EXPECT_EQ(limiter.retry_after(*refused), std::chrono::seconds(60));

  clock.advance(std::chrono::seconds(59));
  EXPECT_TRUE(limiter.over_budget(keys));  // one second before the window ends
  EXPECT_EQ(limiter.retry_after(*refused), std::chrono::seconds(1));
  clock.advance(std::chrono::seconds(1));
  EXPECT_FALSE(limiter.over_budget(keys));  // the first failure has left it
}

TEST(TokenAttempts, AFreshPeerWithAnotherTokenIsNotRefused) {
  FakeClock clock(kStart);
  TokenAttemptLimiter limiter(policy(2, 60), clock);
  const auto guesser = attempt_keys("ipv4:192.0.2.7:40000", kGuess);
  limiter.failed(guesser);
  limiter.failed(guesser);
  ASSERT_TRUE(limiter.over_budget(guesser));
  EXPECT_FALSE(limiter.over_budget(
      attempt_keys("ipv4:192.0.2.8:40000", "hca_auth_ZZZZvalidvalidvalidvalidvalidvalidvalid")));
}

TEST(TokenAttempts, OneGuesserOverManyAddressesIsCountedByTokenPrefix) {
  FakeClock clock(kStart);
  TokenAttemptLimiter limiter(policy(3, 60), clock);
  for (int i = 0; i < 3; ++i) {
    limiter.failed(attempt_keys("ipv4:198.51.100." + std::to_string(i) + ":1", kGuess));
  }
  const auto refused = limiter.over_budget(attempt_keys("ipv4:198.51.100.99:1", kGuess));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->kind, AttemptKey::Kind::kTokenPrefix);
}

TEST(TokenAttempts, PeerKeysDropThePortAndKeepTheAddress) {
  EXPECT_EQ(attempt_keys("ipv4:10.0.0.1:5000", "t")[0].value, "ipv4:10.0.0.1");
  EXPECT_EQ(attempt_keys("ipv6:[::1]:5000", "t")[0].value, "ipv6:[::1]");
  EXPECT_EQ(attempt_keys("unix:/run/hostca.sock", "t")[0].value, "unix:/run/hostca.sock");
  EXPECT_EQ(attempt_keys("ipv4:10.0.0.1:5000", kGuess)[1].value, "hca_auth_AAAA");
}

TEST(TokenAttempts, MemoryStaysWithinMaxKeys) {
  FakeClock clock(kStart);
  TokenAttemptLimiter limiter(policy(5, 60, 10), clock);
  for (int i = 0; i < 100; ++i) {
    limiter.failed(attempt_keys("ipv4:203.0.113." + std::to_string(i) + ":1",
                                "hca_auth_" + std::to_string(1000 + i)));
    EXPECT_LE(limiter.tracked_keys(), 10u);
  }
}

TEST(TokenAttempts, RefusesAnUnusablePolicy) {
  FakeClock clock(kStart);
  HOSTCA_EXPECT_ERROR(TokenAttemptLimiter(policy(0, 60), clock), ErrorKind::kInvalidArgument);
  HOSTCA_EXPECT_ERROR(TokenAttemptLimiter(policy(1, 0), clock), ErrorKind::kInvalidArgument);
  HOSTCA_EXPECT_ERROR(TokenAttemptLimiter(policy(1, 60, 0), clock), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace hostca
