#include "server/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace hostca {
namespace {

TEST(MetricsRegistry, CounterWithLabels) {
  MetricsRegistry r;
  r.counter("calls_total", "calls by method and code", {{"method", "/a.B/C"}, {"code", "OK"}})
      .add();
  r.counter("calls_total", "ignored", {{"method", "/a.B/C"}, {"code", "OK"}}).add(2);
  r.counter("calls_total", "ignored", {{"method", "/a.B/C"}, {"code", "UNAUTHENTICATED"}}).add();
  EXPECT_EQ(r.render(),
            "# HELP calls_total calls by method and code\n"
            "# TYPE calls_total counter\n"
            "calls_total{method=\"/a.B/C\",code=\"OK\"} 3\n"
            "calls_total{method=\"/a.B/C\",code=\"UNAUTHENTICATED\"} 1\n");
}

TEST(MetricsRegistry, CounterWithoutLabelsStartsAtZero) {
  MetricsRegistry r;
  r.counter("revoked_total", "revoked");
  EXPECT_EQ(r.render(),
            "# HELP revoked_total revoked\n# TYPE revoked_total counter\nrevoked_total 0\n");
}

TEST(MetricsRegistry, HistogramBucketsAreCumulative) {
  MetricsRegistry r;
  Histogram& h = r.histogram("latency_seconds", "latency", {0.001, 0.5, 10}, {{"method", "m"}});
  h.observe(0.0005);
  h.observe(0.001);  // le is inclusive
  h.observe(0.25);
  h.observe(20);
  EXPECT_EQ(r.render(),
            "# HELP latency_seconds latency\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{method=\"m\",le=\"0.001\"} 2\n"
            "latency_seconds_bucket{method=\"m\",le=\"0.5\"} 3\n"
            "latency_seconds_bucket{method=\"m\",le=\"10\"} 3\n"
            "latency_seconds_bucket{method=\"m\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{method=\"m\"} 20.2515\n"
            "latency_seconds_count{method=\"m\"} 4\n");
}

TEST(MetricsRegistry, GaugeIsReadWhenRendered) {
  MetricsRegistry r;
  double value = 1;
  r.gauge("pool_connections", "pool", {{"state", "in_use"}}, [&value] { return value; });
  value = 7;
  EXPECT_EQ(r.render(),
            "# HELP pool_connections pool\n"
            "# TYPE pool_connections gauge\n"
            "pool_connections{state=\"in_use\"} 7\n");
}

TEST(MetricsRegistry, LabelValuesAreEscaped) {
  EXPECT_EQ(render_labels({{"a", "x\"y\\z\nw"}}), "{a=\"x\\\"y\\\\z\\nw\"}");
  EXPECT_EQ(render_labels({}), "");
}

TEST(MetricsRegistry, ValuesInShortestForm) {
  EXPECT_EQ(format_metric_value(0.0025), "0.0025");
  EXPECT_EQ(format_metric_value(10), "10");
  EXPECT_EQ(format_metric_value(1.0 / 0.0), "+Inf");
}

TEST(MetricsRegistry, AnotherTypeUnderTheSameNameIsRefused) {
  MetricsRegistry r;
  r.counter("x", "x");
  EXPECT_THROW(r.histogram("x", "x", {1}), std::logic_error);
  EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
}

TEST(MetricsRegistry, CountsFromManyThreads) {
  MetricsRegistry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r] {
      for (int i = 0; i < 1000; ++i) {
        r.counter("n_total", "n", {{"k", "v"}}).add();
        r.histogram("d_seconds", "d", {1}).observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_NE(r.render().find("n_total{k=\"v\"} 4000\n"), std::string::npos);
  EXPECT_NE(r.render().find("d_seconds_count 4000\n"), std::string::npos);
  EXPECT_NE(r.render().find("d_seconds_bucket{le=\"1\"} 4000\n"), std::string::npos);
}

}  // namespace
}  // namespace hostca
