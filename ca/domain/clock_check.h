// One clock for correctness: a server's own clock is compared with the
// database's, and past a tolerance the server issues and publishes nothing
// (certificates dated by a wrong clock, CRLs from the future) until it is
// back in step. The measurement is pure: three readings in, a verdict out.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "common/clock.h"

namespace hostca {

struct ClockPolicy {
  Duration tolerance = std::chrono::seconds(2);
  // Throws Error(kInvalidArgument) naming the bad setting.
  void validate() const;
};

// How far this server's clock is ahead of the database's (negative: behind),
// from local readings taken just before and just after the database's.
Duration clock_skew(TimePoint local_before, TimePoint database, TimePoint local_after);

class ClockCheck {
 public:
  explicit ClockCheck(ClockPolicy policy);

  void record(Duration skew);
  // Empty while in step (or never measured), else why nothing is issued.
  std::optional<std::string> problem() const;
  // Throws Error(kUnavailable) saying what is refused and why.
  void require_in_step(const std::string& doing) const;
  std::optional<Duration> last_skew() const;
  const ClockPolicy& policy() const { return policy_; }

 private:
  ClockPolicy policy_;
  std::atomic<bool> measured_{false};
  std::atomic<std::int64_t> skew_us_{0};
};

// "3.250 s ahead of", "0.100 s behind": for messages.
std::string describe_skew(Duration skew);

}  // namespace hostca
