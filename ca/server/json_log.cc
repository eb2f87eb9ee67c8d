#include "server/json_log.h"

#include <spdlog/details/log_msg.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <optional>
#include <vector>

namespace hostca {

namespace {

// "2026-12-01T21:50:00.123Z"
std::string rfc3339_millis(std::chrono::system_clock::time_point time) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis % 1000));
  return out;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

// The key=value pairs of a call's log line (service::log_call), or nothing
// when the line is not one. A quoted value runs to the closing quote at
// the end of the line: only the last field (the status message) is quoted.
std::optional<Fields> call_fields(std::string_view line) {
  if (line.substr(0, 4) != "rpc=") return std::nullopt;
  Fields fields;
  std::size_t pos = 0;
  while (pos < line.size()) {
    const std::size_t eq = line.find('=', pos);
    if (eq == std::string_view::npos || eq == pos) return std::nullopt;
    const std::string_view key = line.substr(pos, eq - pos);
    for (const char c : key) {
      if (!std::islower(static_cast<unsigned char>(c)) && c != '_') return std::nullopt;
    }
    std::size_t end;
    std::string_view value;
    if (eq + 1 < line.size() && line[eq + 1] == '"') {
      if (line.size() < eq + 3 || line.back() != '"') return std::nullopt;
      value = line.substr(eq + 2, line.size() - eq - 3);
      end = line.size();
    } else {
      end = line.find(' ', eq + 1);
      if (end == std::string_view::npos) end = line.size();
      value = line.substr(eq + 1, end - eq - 1);
      if (value.empty()) return std::nullopt;
    }
    fields.emplace_back(std::string(key), std::string(value));
    pos = end < line.size() ? end + 1 : end;
  }
  return fields;
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string line =
        json_log_line(msg.time, std::string_view(level.data(), level.size()),
                      std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                      std::string_view(msg.payload.data(), msg.payload.size())) +
        "\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

std::string json_log_line(std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view logger, std::string_view line) {
  nlohmann::ordered_json out;
  out["time"] = rfc3339_millis(time);
  out["level"] = std::string(level);
  out["logger"] = std::string(logger);
  out["msg"] = std::string(line);
  if (const auto fields = call_fields(line)) {
    for (const auto& [key, value] : *fields) {
      if (out.contains(key)) continue;
      if (key == "duration_ms") {
        try {
          std::size_t used = 0;
          const double ms = std::stod(value, &used);
          if (used == value.size()) {
            out[key] = ms;
            continue;
          }
        } catch (const std::exception&) {
        }
      }
      out[key] = value;
    }
  }
  // Bytes that are not UTF-8 (a peer's text) become U+FFFD rather than an error.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::unique_ptr<spdlog::formatter> make_json_log_formatter() {
  return std::make_unique<JsonFormatter>();
}

}  // namespace hostca
