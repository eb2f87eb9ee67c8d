// The Batcher that Store::enrol writes concurrent enrolments with: every
// caller gets its own call's result, calls that wait together run
// together, first come first served, never more batches at once than
// allowed, and one caller's failing call fails no one else's.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/batcher.h"

namespace hostca {
namespace {

using IntBatcher = Batcher<int, std::string>;

TEST(Batcher, ACallerAloneRunsAtOnceAsABatchOfOne) {
  std::vector<std::size_t> sizes;
  IntBatcher b(
      [&](const std::vector<const int*>& calls) {
        sizes.push_back(calls.size());
        return std::vector<std::string>{std::to_string(*calls[0] * 2)};
      },
      8, 1);
  EXPECT_EQ(b.run(21), "42");
  EXPECT_EQ(b.run(5), "10");
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 1}));
}

// 32 threads while the first batch is held up: the rest queue and go in
// later batches, each caller with its own answer, batches never larger
// than allowed and never more than allowed at once.
TEST(Batcher, CallsThatWaitTogetherRunTogetherAndEachGetsItsOwnResult) {
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};
  std::mutex mu;
  std::vector<std::size_t> sizes;
  IntBatcher b(
      [&](const std::vector<const int*>& calls) {
        const int now = ++running;
        int seen = most_running.load();
        while (now > seen && !most_running.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        --running;
        {
          std::lock_guard<std::mutex> lock(mu);
          sizes.push_back(calls.size());
        }
        std::vector<std::string> out;
        for (const int* c : calls) out.push_back("call " + std::to_string(*c));
        return out;
      },
      5, 2);
  std::vector<std::string> answers(32);
  std::vector<std::thread> threads;
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&, i] { answers[static_cast<std::size_t>(i)] = b.run(i); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(answers[static_cast<std::size_t>(i)], "call " + std::to_string(i));
  std::size_t total = 0;
  for (std::size_t s : sizes) {
    EXPECT_LE(s, 5u);
    total += s;
  }
  EXPECT_EQ(total, 32u);
  // 32 calls in batches of at most 5 with 20 ms each: fewer batches than
  // calls means they were combined.
  EXPECT_LT(sizes.size(), 32u);
  EXPECT_EQ(b.batches(), sizes.size());
  EXPECT_LE(most_running.load(), 2);
}

TEST(Batcher, AFailingCallFailsOnlyItsOwnCaller) {
  std::atomic<int> batches_with_the_bad_call{0};
  IntBatcher b(
      [&](const std::vector<const int*>& calls) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        for (const int* c : calls) {
          if (*c == 13) {
            ++batches_with_the_bad_call;
            throw std::runtime_error("13 is refused");
          }
        }
        std::vector<std::string> out;
        for (const int* c : calls) out.push_back(std::to_string(*c));
        return out;
      },
      16, 1);
  std::vector<std::string> answers(16);
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      try {
        answers[static_cast<std::size_t>(i)] = b.run(i);
      } catch (const std::runtime_error& e) {
        answers[static_cast<std::size_t>(i)] = std::string("error: ") + e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(answers[static_cast<std::size_t>(i)],
              i == 13 ? std::string("error: 13 is refused") : std::to_string(i));
  }
  EXPECT_GE(batches_with_the_bad_call.load(), 1);
}

TEST(Batcher, AWrongNumberOfResultsIsAnError) {
  IntBatcher b([](const std::vector<const int*>&) { return std::vector<std::string>{}; }, 4, 1);
  EXPECT_THROW(b.run(1), std::logic_error);
}

}  // namespace
}  // namespace hostca
