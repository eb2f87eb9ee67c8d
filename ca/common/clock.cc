#include "common/clock.h"

#include <cctype>
#include <ctime>

#include "common/error.h"

namespace hostca {

std::string format_rfc3339(TimePoint t) {
  const std::time_t secs = static_cast<std::time_t>(to_unix_seconds(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Duration parse_duration(const std::string& text) {
  if (text.empty()) throw invalid_argument("empty duration: use a form like 24h, 90m or 7d");
  std::int64_t total_seconds = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    std::int64_t value = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      value = value * 10 + (text[i] - '0');
      if (value > 100000000) throw invalid_argument("duration '" + text + "' is too long");
      ++i;
    }
    if (i == start || i == text.size()) {
      throw invalid_argument("bad duration '" + text +
                             "': use a number and a unit (s, m, h, d), like 24h or 1h30m");
    }
    std::int64_t unit = 0;
    switch (text[i]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        throw invalid_argument("bad duration unit in '" + text + "': use s, m, h or d");
    }
    ++i;
    total_seconds += value * unit;
  }
  return std::chrono::seconds(total_seconds);
}

}  // namespace hostca
