// Calls that arrive together, run together: each caller's thread hands
// its call to the Batcher and waits; whichever caller finds a free slot
// (at most `max_in_flight` batches run at once) takes the calls waiting
// at the front of the queue, first come first served, up to `max_batch`,
// runs them as one batch on its own thread and hands every caller its
// result. A caller alone runs at once as a batch of one: nothing waits for
// a batch to fill.
//
// One caller's call never fails because of another's: if a batch of more
// than one throws, each of its calls runs again alone, and only the call
// that throws then gets the error.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace hostca {

template <typename Call, typename Result>
class Batcher {
 public:
  // Runs a batch: one result per call, in the calls' order.
  using Runner = std::function<std::vector<Result>(const std::vector<const Call*>&)>;

  Batcher(Runner run, std::size_t max_batch, int max_in_flight)
      : run_(std::move(run)), max_batch_(max_batch), max_in_flight_(max_in_flight) {
    if (max_batch_ < 1 || max_in_flight_ < 1) {
      throw std::invalid_argument("a batcher needs max_batch and max_in_flight of at least 1");
    }
  }
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Blocks until the call has run; returns its result or throws its error.
  Result run(const Call& call) {
    Slot mine;
    mine.call = &call;
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back(&mine);
    while (!mine.done) {
      if (in_flight_ < max_in_flight_ && !queue_.empty()) {
        lead(lock);
      } else {
        changed_.wait(lock);
      }
    }
    if (mine.error) std::rethrow_exception(mine.error);
    return std::move(*mine.result);
  }

  // Batches run so far (for tests).
  std::size_t batches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }

 private:
  struct Slot {
    const Call* call = nullptr;
    std::optional<Result> result;
    std::exception_ptr error;
    bool done = false;
  };

  // With the lock held: takes the front of the queue and runs it unlocked.
  void lead(std::unique_lock<std::mutex>& lock) {
    std::vector<Slot*> batch;
    while (!queue_.empty() && batch.size() < max_batch_) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    ++in_flight_;
    ++batches_;
    lock.unlock();
    run_batch(batch);
    lock.lock();
    --in_flight_;
    for (Slot* s : batch) s->done = true;
    changed_.notify_all();
  }

  void run_batch(const std::vector<Slot*>& batch) {
    std::vector<const Call*> calls;
    calls.reserve(batch.size());
    for (const Slot* s : batch) calls.push_back(s->call);
    try {
      std::vector<Result> results = run_(calls);
      if (results.size() != batch.size()) {
        throw std::logic_error("a batch returned a different number of results than calls");
      }
      for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->result = std::move(results[i]);
      return;
    } catch (...) {
      if (batch.size() == 1) {
        batch[0]->error = std::current_exception();
        return;
      }
    }
    for (Slot* s : batch) run_batch({s});
  }

  Runner run_;
  const std::size_t max_batch_;
  const int max_in_flight_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Slot*> queue_;
  int in_flight_ = 0;
  std::size_t batches_ = 0;
};

}  // namespace hostca
