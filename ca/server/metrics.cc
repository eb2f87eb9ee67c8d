#include "server/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace hostca {

namespace {

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first + "=\"" + escape_label_value(labels[i].second) + "\"";
  }
  return out + "}";
}

std::string format_metric_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc()) return "NaN";
  return std::string(buffer, end);
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                           0.25,  0.5,    1,     2.5,  5,     10};
  return buckets;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end()) {
    throw std::invalid_argument("histogram bounds must increase");
  }
}

void Histogram::observe(double value) {
  // The first bucket whose upper bound is >= value ("le" is inclusive).
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::lock_guard<std::mutex> lock(mu_);
  std::uint64_t running = 0;
  for (const auto n : counts_) {
    running += n;
    s.cumulative.push_back(running);
  }
  s.sum = sum_;
  s.count = count_;
  return s;
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, const std::string& help,
                                                 Type type) {
  for (auto& f : families_) {
    if (f->name != name) continue;
    if (f->type != type) throw std::logic_error("metric " + name + " has another type");
    return *f;
  }
  families_.push_back(std::make_unique<Family>(Family{name, help, type, {}, {}, {}}));
  return *families_.back();
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = family(name, help, Type::kCounter).counters[render_labels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<double>& bounds, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = family(name, help, Type::kHistogram).histograms[render_labels(labels)];
  if (!slot.second) slot = {labels, std::make_unique<Histogram>(bounds)};
  return *slot.second;
}

void MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels,
                            std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  family(name, help, Type::kGauge).gauges[render_labels(labels)] = std::move(read);
}

std::string MetricsRegistry::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f->name + " " + f->help + "\n";
    const char* type = f->type == Type::kCounter ? "counter"
                       : f->type == Type::kGauge ? "gauge"
                                                 : "histogram";
    out += "# TYPE " + f->name + " " + type + "\n";
    for (const auto& [labels, c] : f->counters) {
      out += f->name + labels + " " + std::to_string(c->value()) + "\n";
    }
    for (const auto& [labels, read] : f->gauges) {
      out += f->name + labels + " " + format_metric_value(read()) + "\n";
    }
    for (const auto& [key, series] : f->histograms) {
      const auto& [labels, h] = series;
      const Histogram::Snapshot s = h->snapshot();
      for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
        Labels with_le = labels;
        with_le.emplace_back("le", i < h->bounds().size() ? format_metric_value(h->bounds()[i])
                                                          : std::string("+Inf"));
        out += f->name + "_bucket" + render_labels(with_le) + " " +
               std::to_string(s.cumulative[i]) + "\n";
      }
      out += f->name + "_sum" + key + " " + format_metric_value(s.sum) + "\n";
      out += f->name + "_count" + key + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

}  // namespace hostca
