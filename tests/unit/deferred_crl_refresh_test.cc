// A NOTIFY of a new CRL reads the shard again only if the cache does not
// hold that CRL a little later: this server's own publications are not
// read back, everyone else's are, and notifications for one shard that
// arrive together make one read.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "server/crl_cache.h"

namespace hostca {
namespace {

class FakeCache {
 public:
  bool holds(int generation, int shard, std::int64_t number) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = numbers_.find({generation, shard});
    return it != numbers_.end() && it->second >= number;
  }
  void offer(int generation, int shard, std::int64_t number) {
    std::lock_guard<std::mutex> lock(mu_);
    numbers_[{generation, shard}] = number;
  }
  void refresh(int generation, int shard) {
    std::lock_guard<std::mutex> lock(mu_);
    ++reads_[{generation, shard}];
  }
  int reads(int generation, int shard) {
    std::lock_guard<std::mutex> lock(mu_);
    return reads_[{generation, shard}];
  }

 private:
  std::mutex mu_;
  std::map<std::pair<int, int>, std::int64_t> numbers_;
  std::map<std::pair<int, int>, int> reads_;
};

// Waits (bounded) until `done` holds.
template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(DeferredCrlRefresh, ReadsAnotherServersCrlOnceAndNeverItsOwn) {
  FakeCache cache;
  DeferredCrlRefresh deferred([&](int g, int s, std::int64_t n) { return cache.holds(g, s, n); },
                              [&](int g, int s) { cache.refresh(g, s); },
                              std::chrono::milliseconds(20));
  // Our own: offered to the cache before (or while) the NOTIFY comes.
  cache.offer(1, 7, 5);
  deferred.notified(1, 7, 5);
  // Someone else's, notified three times together.
  deferred.notified(1, 9, 3);
  deferred.notified(1, 9, 4);
  deferred.notified(1, 9, 2);
  ASSERT_TRUE(eventually([&] { return cache.reads(1, 9) == 1; }));
  ASSERT_TRUE(eventually([&] { return deferred.refreshes() == 1; }));
  EXPECT_EQ(cache.reads(1, 7), 0);
  EXPECT_EQ(cache.reads(1, 9), 1);
  // A newer CRL of our own shard published elsewhere is read.
  deferred.notified(1, 7, 6);
  ASSERT_TRUE(eventually([&] { return cache.reads(1, 7) == 1; }));
}

TEST(DeferredCrlRefresh, StopsWithReadsStillPending) {
  FakeCache cache;
  {
    DeferredCrlRefresh deferred([&](int g, int s, std::int64_t n) { return cache.holds(g, s, n); },
                                [&](int g, int s) { cache.refresh(g, s); }, std::chrono::hours(1));
    deferred.notified(2, 1, 1);
  }  // returns at once, the hour-long wait notwithstanding
  EXPECT_EQ(cache.reads(2, 1), 0);
}

}  // namespace
}  // namespace hostca
