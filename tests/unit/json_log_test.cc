#include "server/json_log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <sstream>

namespace hostca {
namespace {

const auto kTime = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764625800123));

TEST(JsonLog, PlainLineKeepsTimeLevelLoggerAndText) {
  EXPECT_EQ(json_log_line(kTime, "info", "hostca", "applied migration \"0001\""),
            R"({"time":"2025-12-01T21:50:00.123Z","level":"info","logger":"hostca",)"
            R"("msg":"applied migration \"0001\""})");
}

TEST(JsonLog, CallLineGivesItsFields) {
  const auto j = nlohmann::json::parse(
      json_log_line(kTime, "warning", "hostca",
                    "rpc=RequestCertificate peer=ipv4:127.0.0.1:5000 status=UNAUTHENTICATED "
                    "duration_ms=1.25 message=\"unknown \"authorization\" token\""));
  EXPECT_EQ(j["rpc"], "RequestCertificate");
  EXPECT_EQ(j["peer"], "ipv4:127.0.0.1:5000");
  EXPECT_EQ(j["status"], "UNAUTHENTICATED");
  EXPECT_EQ(j["duration_ms"], 1.25);
  EXPECT_EQ(j["message"], "unknown \"authorization\" token");
  EXPECT_EQ(j["level"], "warning");
}

TEST(JsonLog, LinesThatOnlyLookLikeCallsStayText) {
  for (const char* line : {"rpc=", "rpc=X broken", "rpc=X Bad=1", "rpc=X message=\"open"}) {
    const auto j = nlohmann::json::parse(json_log_line(kTime, "info", "hostca", line));
    EXPECT_EQ(j.size(), 4u) << line;
    EXPECT_EQ(j["msg"], line);
  }
}

TEST(JsonLog, BytesThatAreNotUtf8AreReplaced) {
  const auto j = nlohmann::json::parse(json_log_line(kTime, "info", "hostca", "bad \xff byte"));
  EXPECT_EQ(j["msg"], "bad \xEF\xBF\xBD byte");
}

TEST(JsonLog, FormatterWritesOneObjectPerLine) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("hostca", sink);
  logger.set_formatter(make_json_log_formatter());
  logger.info("rpc=GetCACertificate peer=p status=OK duration_ms=0.50");
  logger.warn("two\nlines");
  std::istringstream lines(out.str());
  std::string line;
  std::getline(lines, line);
  const auto first = nlohmann::json::parse(line);
  EXPECT_EQ(first["rpc"], "GetCACertificate");
  EXPECT_EQ(first["duration_ms"], 0.5);
  std::getline(lines, line);
  EXPECT_EQ(nlohmann::json::parse(line)["msg"], "two\nlines");
  EXPECT_FALSE(std::getline(lines, line));
}

}  // namespace
}  // namespace hostca
