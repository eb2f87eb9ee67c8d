// The pool the callback API's enrolments run on: never more at once than
// its threads, everything posted runs (in order, with one thread), and
// what was posted before it is destroyed still runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "service/work_pool.h"

namespace hostca::service {
namespace {

TEST(WorkPool, OneThreadRunsWorkInTheOrderItCame) {
  std::vector<int> order;
  {
    WorkPool pool(1);
    for (int i = 0; i < 100; ++i) pool.post([&order, i] { order.push_back(i); });
  }  // the destructor waits for what was posted
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(WorkPool, NeverRunsMoreAtOnceThanItsThreads) {
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<int> done{0};
  {
    WorkPool pool(3);
    for (int i = 0; i < 40; ++i) {
      pool.post([&] {
        const int now = ++running;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        --running;
        ++done;
      });
    }
  }
  EXPECT_EQ(done.load(), 40);
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 1);
}

}  // namespace
}  // namespace hostca::service
