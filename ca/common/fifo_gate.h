// Lets at most `limit` callers in at once, in the order they came. Those
// past the limit sleep until one inside leaves and hands its place to the
// first waiting, so no caller is overtaken and none spins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

namespace hostca {

class FifoGate {
 public:
  // 0: no limit (enter never waits).
  explicit FifoGate(std::size_t limit) : limit_(limit) {}
  FifoGate(const FifoGate&) = delete;
  FifoGate& operator=(const FifoGate&) = delete;

  // Held while inside; leaving is the destructor.
  class Pass {
   public:
    explicit Pass(FifoGate* gate) : gate_(gate) {}
    Pass(Pass&& o) noexcept : gate_(o.gate_) { o.gate_ = nullptr; }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    Pass& operator=(Pass&&) = delete;
    ~Pass() {
      if (gate_ != nullptr) gate_->leave();
    }

   private:
    FifoGate* gate_;
  };

  Pass enter() {
    if (limit_ == 0) return Pass(nullptr);
    std::unique_lock<std::mutex> lock(mu_);
    if (inside_ < limit_ && waiting_.empty()) {
      ++inside_;
      return Pass(this);
    }
    Waiter me;
    waiting_.push_back(&me);
    me.cv.wait(lock, [&] { return me.admitted; });
    return Pass(this);
  }

  std::size_t limit() const { return limit_; }
  std::size_t waiting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_.size();
  }

 private:
  struct Waiter {
    std::condition_variable cv;
    bool admitted = false;
  };

  void leave() {
    std::lock_guard<std::mutex> lock(mu_);
    if (waiting_.empty()) {
      --inside_;
      return;
    }
    // The place passes to the first waiting, so `inside_` stays.
    Waiter* next = waiting_.front();
    waiting_.pop_front();
    next->admitted = true;
    next->cv.notify_one();
  }

  const std::size_t limit_;
  mutable std::mutex mu_;
  std::size_t inside_ = 0;
  std::deque<Waiter*> waiting_;
};

}  // namespace hostca
