// Refusals without a credential are counted in memory and written as one
// audit row per key per window: the window's edges, the count, the reasons,
// and the bound on memory.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "../support/expect_error.h"
#include "domain/refusal_tally.h"

namespace hostca {
namespace {

const TimePoint kStart = from_unix_micros(1772366400LL * 1000000);

RefusalTallyPolicy policy(int window_seconds, std::size_t max_keys = 100) {
  RefusalTallyPolicy p;
  p.window = std::chrono::seconds(window_seconds);
  p.max_keys = max_keys;
  p.max_reasons = 3;
  return p;
}

TEST(RefusalTally, OneRowPerKeyWhenItsWindowHasClosedWithTheCount) {
  FakeClock clock(kStart);
  RefusalTally tally(policy(60), clock);
  EXPECT_TRUE(tally.record("admin.refused", "peer:ipv4:10.0.0.1", "", "refused", "no key"));
  for (int i = 0; i < 999; ++i) {
    clock.advance(std::chrono::milliseconds(10));
    EXPECT_FALSE(tally.record("admin.refused", "peer:ipv4:10.0.0.1", "", "refused", "no key"));
  }
  clock.set(kStart + std::chrono::seconds(59));
  EXPECT_TRUE(tally.take_closed(false).empty());  // one second before the window closes
  clock.set(kStart + std::chrono::seconds(60));
  const auto rows = tally.take_closed(false);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].action, "admin.refused");
  EXPECT_EQ(rows[0].actor, "peer:ipv4:10.0.0.1");
  EXPECT_EQ(rows[0].outcome, "refused");
  EXPECT_EQ(rows[0].at, kStart);
  const auto details = nlohmann::json::parse(rows[0].details_json);
  EXPECT_EQ(details["count"], 1000);
  EXPECT_EQ(details["reasons"]["no key"], 1000);
  EXPECT_EQ(details["window_seconds"], 60);
  EXPECT_EQ(tally.tracked_keys(), 0u);
  // The next refusal opens a new window.
  EXPECT_TRUE(tally.record("admin.refused", "peer:ipv4:10.0.0.1", "", "refused", "no key"));
}

TEST(RefusalTally, EverythingAtShutdownAndWhatAFailedWriteGaveBack) {
  FakeClock clock(kStart);
  RefusalTally tally(policy(60), clock);
  tally.record("a", "peer:x", "", "refused", "r");
  tally.record("a", "peer:y", "", "refused", "r");
  auto rows = tally.take_closed(true);
  ASSERT_EQ(rows.size(), 2u);
  tally.put_back(std::move(rows));
  EXPECT_EQ(tally.take_closed(false).size(), 2u);
  EXPECT_TRUE(tally.take_closed(true).empty());
}

TEST(RefusalTally, ReasonsAndKeysAreBounded) {
  FakeClock clock(kStart);
  RefusalTally tally(policy(60, 10), clock);
  for (int i = 0; i < 10000; ++i) {
    tally.record("admin.refused",
                 "peer:ipv4:10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250), "",
                 "refused", "reason " + std::to_string(i % 7));
    ASSERT_LE(tally.tracked_keys(), 11u);
  }
  const auto rows = tally.take_closed(true);
  ASSERT_EQ(rows.size(), 11u);  // ten addresses and "(others)"
  std::int64_t total = 0;
  for (const auto& row : rows) {
    const auto details = nlohmann::json::parse(row.details_json);
    total += details["count"].get<std::int64_t>();
    EXPECT_LE(details["reasons"].size(), 4u);  // three and "(other reasons)"
  }
  EXPECT_EQ(total, 10000);
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(),
                          [](const auto& r) { return r.actor == "peer:(others)"; }),
            1);
}

TEST(RefusalTally, RefusesAnUnusablePolicy) {
  FakeClock clock(kStart);
  HOSTCA_EXPECT_ERROR(RefusalTally(policy(0), clock), ErrorKind::kInvalidArgument);
  HOSTCA_EXPECT_ERROR(RefusalTally(policy(60, 0), clock), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace hostca
