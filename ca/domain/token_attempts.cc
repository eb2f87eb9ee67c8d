#include "domain/token_attempts.h"

#include <algorithm>

#include "common/error.h"

namespace hostca {

void TokenAttemptPolicy::validate() const {
  if (budget < 1) throw invalid_argument("token attempts: the budget must be at least 1");
  if (window < std::chrono::seconds(1)) {
    throw invalid_argument("token attempts: the window must be at least 1 second");
  }
  if (max_keys < 1) throw invalid_argument("token attempts: max keys must be at least 1");
}

std::vector<AttemptKey> attempt_keys(const std::string& peer, const std::string& token) {
  std::string address = peer;
  // "ipv4:1.2.3.4:5678", "ipv6:[::1]:5678": drop the port.
  const auto colon = address.rfind(':');
  const auto scheme = address.find(':');
  if (colon != std::string::npos && colon != scheme) address.resize(colon);
  std::vector<AttemptKey> keys{{AttemptKey::Kind::kPeer, address}};
  keys.push_back({AttemptKey::Kind::kTokenPrefix, token.substr(0, 13)});
  return keys;
}

const char* to_string(AttemptKey::Kind kind) {
  return kind == AttemptKey::Kind::kPeer ? "peer" : "token prefix";
}

TokenAttemptLimiter::TokenAttemptLimiter(TokenAttemptPolicy policy, const Clock& clock)
    : policy_(policy), clock_(clock) {
  policy_.validate();
}

std::string TokenAttemptLimiter::id(const AttemptKey& key) {
  return (key.kind == AttemptKey::Kind::kPeer ? "p " : "t ") + key.value;
}

void TokenAttemptLimiter::expire(std::deque<TimePoint>& times, TimePoint now) const {
  while (!times.empty() && times.front() + policy_.window <= now) times.pop_front();
}

std::optional<AttemptKey> TokenAttemptLimiter::over_budget(const std::vector<AttemptKey>& keys) {
  const TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& key : keys) {
    const auto it = failures_.find(id(key));
    if (it == failures_.end()) continue;
    expire(it->second, now);
    if (static_cast<int>(it->second.size()) >= policy_.budget) return key;
  }
  return std::nullopt;
}

void TokenAttemptLimiter::failed(const std::vector<AttemptKey>& keys) {
  const TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  if (failures_.size() + keys.size() > policy_.max_keys) {
    for (auto it = failures_.begin(); it != failures_.end();) {
      expire(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
    while (!failures_.empty() && failures_.size() + keys.size() > policy_.max_keys) {
      const auto oldest = std::min_element(
          failures_.begin(), failures_.end(),
          [](const auto& a, const auto& b) { return a.second.back() < b.second.back(); });
      failures_.erase(oldest);
    }
  }
  for (const auto& key : keys) {
    auto& times = failures_[id(key)];
    expire(times, now);
    times.push_back(now);
    // Only the newest `budget` failures matter.
    while (static_cast<int>(times.size()) > policy_.budget) times.pop_front();
  }
}

std::size_t TokenAttemptLimiter::tracked_keys() {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_.size();
}

Duration TokenAttemptLimiter::retry_after(const AttemptKey& key) {
  const TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = failures_.find(id(key));
  if (it == failures_.end()) return Duration::zero();
  expire(it->second, now);
  if (static_cast<int>(it->second.size()) < policy_.budget) return Duration::zero();
  return it->second.front() + policy_.window - now;
}

}  // namespace hostca
