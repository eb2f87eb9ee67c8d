#include "domain/token_attempts.h"

#include <algorithm>

#include "common/error.h"

namespace hostca {

void AttemptPolicy::validate() const {
  if (budget < 1) throw invalid_argument("attempts: the budget must be at least 1");
  if (window < std::chrono::seconds(1)) {
    throw invalid_argument("attempts: the window must be at least 1 second");
  }
  if (max_keys < 1) throw invalid_argument("attempts: max keys must be at least 1");
}

std::string peer_address(const std::string& peer) {
  std::string address = peer;
  // "ipv4:1.2.3.4:5678", "ipv6:[::1]:5678" (or "ipv6:%5B::1%5D:5678"): drop the port.
  const auto colon = address.rfind(':');
  const auto scheme = address.find(':');
  if (colon == std::string::npos || colon == scheme) return address;
  if (address.rfind("ipv6:", 0) == 0) {
    const bool bracketed = (colon >= 1 && address[colon - 1] == ']') ||
                           (colon >= 3 && (address.compare(colon - 3, 3, "%5D") == 0 ||
                                           address.compare(colon - 3, 3, "%5d") == 0));
    if (!bracketed) return address;
  } else if (address.rfind("ipv4:", 0) != 0) {
    return address;  // unix sockets and the like have no port
  }
  address.resize(colon);
  return address;
}

AttemptLimiter::AttemptLimiter(AttemptPolicy policy, const Clock& clock)
    : policy_(policy), clock_(clock) {
  policy_.validate();
}

void AttemptLimiter::expire(std::deque<TimePoint>& times, TimePoint now) const {
  while (!times.empty() && times.front() + policy_.window <= now) times.pop_front();
}

bool AttemptLimiter::over_budget(const std::string& key) {
  const TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = failures_.find(key);
  if (it == failures_.end()) return false;
  expire(it->second, now);
  return static_cast<int>(it->second.size()) >= policy_.budget;
}

void AttemptLimiter::failed(const std::string& key) {
  const TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  if (failures_.count(key) == 0 && failures_.size() + 1 > policy_.max_keys) {
    for (auto it = failures_.begin(); it != failures_.end();) {
      expire(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
    while (!failures_.empty() && failures_.size() + 1 > policy_.max_keys) {
      const auto oldest = std::min_element(
          failures_.begin(), failures_.end(),
          [](const auto& a, const auto& b) { return a.second.back() < b.second.back(); });
      failures_.erase(oldest);
    }
  }
  auto& times = failures_[key];
  expire(times, now);
  times.push_back(now);
  // Only the newest `budget` failures matter.
  while (static_cast<int>(times.size()) > policy_.budget) times.pop_front();
}

std::size_t AttemptLimiter::tracked_keys() {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_.size();
}

Duration AttemptLimiter::retry_after(const std::string& key) {
  const TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = failures_.find(key);
  if (it == failures_.end()) return Duration::zero();
  expire(it->second, now);
  if (static_cast<int>(it->second.size()) < policy_.budget) return Duration::zero();
  return it->second.front() + policy_.window - now;
}

}  // namespace hostca
