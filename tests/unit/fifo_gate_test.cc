// The gate in front of issuing calls: at most `limit` inside, and those
// who wait get in in the order they came.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/fifo_gate.h"

namespace hostca {
namespace {

// Waits (bounded) until `n` callers wait at the gate.
bool until_waiting(const FifoGate& gate, std::size_t n) {
  for (int i = 0; i < 5000; ++i) {
    if (gate.waiting() == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(FifoGate, AtMostTheLimitInsideAndWaitersGetInInTheOrderTheyCame) {
  FifoGate gate(2);
  std::optional<FifoGate::Pass> first(gate.enter());
  std::optional<FifoGate::Pass> second(gate.enter());
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&, i] {
      const auto pass = gate.enter();
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(i);
    });
    // Each waits before the next comes: their arrival order is 0, 1, 2.
    ASSERT_TRUE(until_waiting(gate, static_cast<std::size_t>(i) + 1));
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(order.empty()) << "nobody gets past a full gate";
  }
  first.reset();  // one place frees: the waiters follow one after the other
  for (auto& t : waiters) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(gate.waiting(), 0u);
  second.reset();
  // Empty again: two enter without waiting.
  const auto a = gate.enter();
  const auto b = gate.enter();
  EXPECT_EQ(gate.waiting(), 0u);
}

TEST(FifoGate, NoLimitNeverWaits) {
  FifoGate gate(0);
  std::vector<FifoGate::Pass> passes;
  for (int i = 0; i < 100; ++i) passes.push_back(gate.enter());
  EXPECT_EQ(gate.waiting(), 0u);
}

}  // namespace
}  // namespace hostca
