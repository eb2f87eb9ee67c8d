// One JSON object per log line (`serve --log-format json`), for log
// collectors: the time, the level, the line, and the fields of a call's log
// line ("rpc=X peer=Y status=OK duration_ms=1.20" gives "rpc", "peer",
// "status" and a number "duration_ms"). It adds nothing the text log lacks,
// so it holds no secret the text log would not.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/formatter.h>

namespace hostca {

std::unique_ptr<spdlog::formatter> make_json_log_formatter();

// The object for one line, without the newline.
std::string json_log_line(std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view logger, std::string_view line);

}  // namespace hostca
