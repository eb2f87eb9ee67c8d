// Failed token attempts, counted per peer address and per token prefix
// over a sliding window. Past the budget, further attempts under that key
// are refused before the token is looked up: guessing gets nowhere, and a
// valid token from anyone else costs only a map lookup. In memory, per
// server process (several servers each keep their own count).
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"

namespace hostca {

struct TokenAttemptPolicy {
  int budget = 20;  // failed attempts per key within the window
  Duration window = std::chrono::seconds(60);
  std::size_t max_keys = 100000;  // memory bound; see TokenAttemptLimiter
  // Throws Error(kInvalidArgument) naming the bad setting.
  void validate() const;
};

// What an attempt is counted under.
struct AttemptKey {
  enum class Kind { kPeer, kTokenPrefix };
  Kind kind;
  std::string value;
};

// The keys of one attempt: the peer's address without its port (gRPC's
// "ipv4:10.0.0.1:5000" -> "ipv4:10.0.0.1"), and the token's first 13
// characters (its kind prefix and a few more, so that one guesser spread
// over many addresses is counted too, and an unrelated token is not).
std::vector<AttemptKey> attempt_keys(const std::string& peer, const std::string& token);
const char* to_string(AttemptKey::Kind kind);

class TokenAttemptLimiter {
 public:
  TokenAttemptLimiter(TokenAttemptPolicy policy, const Clock& clock);

  // The first key over its budget, if any: the attempt is to be refused.
  std::optional<AttemptKey> over_budget(const std::vector<AttemptKey>& keys);
  // Counts one failed attempt under each key. Past max_keys, keys whose
  // failures all left the window are dropped first; if that is not enough
  // the oldest counts go (the limiter then forgets rather than grows).
  void failed(const std::vector<AttemptKey>& keys);
  // Seconds until a key over budget may try again.
  Duration retry_after(const AttemptKey& key);

  const TokenAttemptPolicy& policy() const { return policy_; }
  std::size_t tracked_keys();

 private:
  static std::string id(const AttemptKey& key);
  void expire(std::deque<TimePoint>& times, TimePoint now) const;

  TokenAttemptPolicy policy_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<TimePoint>> failures_;
};

}  // namespace hostca
