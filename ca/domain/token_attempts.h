// Failed attempts counted per key (a client address, or "host:<id>") over a
// sliding window. Past the budget, the caller refuses what it would otherwise
// look up or write. In memory, per server process (several servers each keep
// their own count). Only failures count: a caller that presents a real
// credential is never refused because of the key's failures.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace hostca {

struct AttemptPolicy {
  int budget = 20;  // failed attempts per key within the window
  Duration window = std::chrono::seconds(60);
  std::size_t max_keys = 100000;  // memory bound; see AttemptLimiter
  // Throws Error(kInvalidArgument) naming the bad setting.
  void validate() const;
};
using TokenAttemptPolicy = AttemptPolicy;

// The caller's address without its port, as gRPC names peers
// ("ipv4:10.0.0.1:5000" -> "ipv4:10.0.0.1", "ipv6:[::1]:5000" -> "ipv6:[::1]").
std::string peer_address(const std::string& peer);

class AttemptLimiter {
 public:
  AttemptLimiter(AttemptPolicy policy, const Clock& clock);

  // True when the key has used up its budget within the window.
  bool over_budget(const std::string& key);
  // Counts one failure under the key. Past max_keys, keys whose failures all
  // left the window are dropped first; if that is not enough the oldest
  // counts go (the limiter then forgets rather than grows).
  void failed(const std::string& key);
  // How long until a key over budget has budget again.
  Duration retry_after(const std::string& key);

  const AttemptPolicy& policy() const { return policy_; }
  std::size_t tracked_keys();

 private:
  void expire(std::deque<TimePoint>& times, TimePoint now) const;

  AttemptPolicy policy_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<TimePoint>> failures_;
};

}  // namespace hostca
