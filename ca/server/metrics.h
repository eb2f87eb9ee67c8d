// A small Prometheus metrics registry: counters, gauges and fixed-bucket
// histograms with labels, thread-safe, rendered in the text exposition
// format (version 0.0.4). Debian 12 has no Prometheus C++ client.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hostca {

// Label names and values, in the order they are written. Values come from
// code, never from a caller's input (no tokens, keys or secrets).
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Histogram {
 public:
  // `bounds` are the upper bounds of the buckets, increasing; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; the last is +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

class MetricsRegistry {
 public:
  // Each returns the series of that name and labels, made on first use; the
  // reference stays valid as long as the registry. A name keeps the type
  // and help it was first registered with.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& bounds, const Labels& labels = {});
  // A gauge whose value is read when the metrics are rendered.
  void gauge(const std::string& name, const std::string& help, const Labels& labels,
             std::function<double()> read);

  // Every family in registration order, every series in label order.
  std::string render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    std::string name;
    std::string help;
    Type type;
    // Series by their rendered labels.
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::pair<Labels, std::unique_ptr<Histogram>>> histograms;
    std::map<std::string, std::function<double()>> gauges;
  };
  Family& family(const std::string& name, const std::string& help, Type type);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
};

// "{a=\"b\",c=\"d\"}" (empty for no labels), values escaped as the format asks.
std::string render_labels(const Labels& labels);
// A sample value: integers without a fraction, others in the shortest form
// that reads back the same, +Inf/-Inf/NaN as the format spells them.
std::string format_metric_value(double value);

// Latency buckets, in seconds, for calls and CRL publications.
const std::vector<double>& latency_buckets();

}  // namespace hostca
