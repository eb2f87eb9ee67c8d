#include "domain/clock_check.h"

#include <cstdio>
#include <cstdlib>

#include "common/error.h"

namespace hostca {

void ClockPolicy::validate() const {
  if (tolerance < std::chrono::milliseconds(100) || tolerance > std::chrono::minutes(10)) {
    throw invalid_argument("clock tolerance must be between 100 ms and 10 minutes");
  }
}

Duration clock_skew(TimePoint local_before, TimePoint database, TimePoint local_after) {
  const TimePoint local = local_before + (local_after - local_before) / 2;
  return local - database;
}

std::string describe_skew(Duration skew) {
  char text[64];
  const double seconds = static_cast<double>(std::llabs(skew.count())) / 1e6;
  std::snprintf(text, sizeof text, "%.3f s %s", seconds, skew.count() >= 0 ? "ahead of" : "behind");
  return text;
}

ClockCheck::ClockCheck(ClockPolicy policy) : policy_(policy) { policy_.validate(); }

void ClockCheck::record(Duration skew) {
  skew_us_ = skew.count();
  measured_ = true;
}

std::optional<Duration> ClockCheck::last_skew() const {
  if (!measured_) return std::nullopt;
  return Duration(skew_us_.load());
}

std::optional<std::string> ClockCheck::problem() const {
  const auto skew = last_skew();
  if (!skew || (*skew <= policy_.tolerance && -*skew <= policy_.tolerance)) return std::nullopt;
  char tolerance[32];
  std::snprintf(tolerance, sizeof tolerance, "%.3f s",
                static_cast<double>(policy_.tolerance.count()) / 1e6);
  return "this server's clock is " + describe_skew(*skew) + " the database's (tolerance " +
         tolerance + ")";
}

void ClockCheck::require_in_step(const std::string& doing) const {
  if (const auto p = problem()) {
    throw unavailable(*p + ": it does not " + doing +
                      " until its clock is fixed (check NTP on this server); another server "
                      "can take the call");
  }
}

}  // namespace hostca
