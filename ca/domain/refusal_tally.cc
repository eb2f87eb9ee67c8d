#include "domain/refusal_tally.h"

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace hostca {

void RefusalTallyPolicy::validate() const {
  if (window < std::chrono::seconds(1)) {
    throw invalid_argument("refusal audit: the window must be at least 1 second");
  }
  if (max_keys < 1) throw invalid_argument("refusal audit: max keys must be at least 1");
  if (max_reasons < 1) throw invalid_argument("refusal audit: max reasons must be at least 1");
}

RefusalTally::RefusalTally(RefusalTallyPolicy policy, const Clock& clock)
    : policy_(policy), clock_(clock) {
  policy_.validate();
}

bool RefusalTally::record(const std::string& action, const std::string& actor,
                          const std::string& subject, const std::string& outcome,
                          const std::string& reason) {
  const TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = action + '\n' + actor + '\n' + subject + '\n' + outcome;
  std::string counted_actor = actor;
  std::string counted_subject = subject;
  if (counts_.count(key) == 0 && counts_.size() >= policy_.max_keys) {
    counted_actor = "peer:(others)";
    counted_subject = "";
    key = action + '\n' + counted_actor + "\n\n" + outcome;
  }
  auto [it, opened] = counts_.try_emplace(key);
  Count& c = it->second;
  if (opened) {
    c.action = action;
    c.actor = counted_actor;
    c.subject = counted_subject;
    c.outcome = outcome;
    c.first = now;
  }
  c.last = now;
  ++c.count;
  if (c.reasons.count(reason) != 0 || c.reasons.size() < policy_.max_reasons) {
    ++c.reasons[reason];
  } else {
    ++c.reasons["(other reasons)"];
  }
  return opened;
}

store::AuditRow RefusalTally::row_of(const Count& c) const {
  store::AuditRow row;
  row.at = c.first;
  row.actor = c.actor;
  row.action = c.action;
  row.subject = c.subject;
  row.outcome = c.outcome;
  row.details_json = nlohmann::json{
      {"count", c.count},
      {"first_at", format_rfc3339(c.first)},
      {"last_at", format_rfc3339(c.last)},
      {"window_seconds", std::chrono::duration_cast<std::chrono::seconds>(policy_.window).count()},
      {"reasons",
       c.reasons}}.dump();
  return row;
}

std::vector<store::AuditRow> RefusalTally::take_closed(bool everything) {
  const TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<store::AuditRow> rows = std::move(unwritten_);
  unwritten_.clear();
  for (auto it = counts_.begin(); it != counts_.end();) {
    if (everything || it->second.first + policy_.window <= now) {
      rows.push_back(row_of(it->second));
      it = counts_.erase(it);
    } else {
      ++it;
    }
  }
  return rows;
}

void RefusalTally::put_back(std::vector<store::AuditRow> rows) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& r : rows) {
    if (unwritten_.size() >= policy_.max_keys) break;  // bounded: the log line says so
    unwritten_.push_back(std::move(r));
  }
}

std::size_t RefusalTally::tracked_keys() {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_.size();
}

}  // namespace hostca
