// Time is injected: everything that looks at the time takes a Clock, so tests
// can stand one second before or after an edge.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace hostca {

using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;
using Duration = std::chrono::microseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now());
  }
};

// The system clock set off by a fixed amount: a server whose clock is wrong,
// for drills of the clock check (HOSTCA_DRILL_CLOCK_OFFSET).
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(Duration offset) : offset_(offset) {}
  TimePoint now() const override { return system_.now() + offset_; }

 private:
  SystemClock system_;
  Duration offset_;
};

// A clock that moves only when told to; for tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start) : now_(start) {}
  TimePoint now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void advance(Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }
  void set(TimePoint t) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

inline std::int64_t to_unix_micros(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint from_unix_micros(std::int64_t us) { return TimePoint(Duration(us)); }
inline std::int64_t to_unix_seconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// RFC 3339 in UTC with seconds, e.g. "2026-11-23T18:00:00Z".
std::string format_rfc3339(TimePoint t);

// Parses durations such as "90s", "15m", "24h", "7d" or "1h30m"; throws
// Error(kInvalidArgument) naming the text on anything else.
Duration parse_duration(const std::string& text);

}  // namespace hostca
