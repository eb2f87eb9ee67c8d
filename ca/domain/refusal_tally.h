// Refusals of callers who hold no credential (unknown admin keys, guessed
// tokens, unverified certificate-failure reports), counted in memory and
// written to the audit log as one row per key (action, actor, subject,
// outcome) per window, with the count: a flood of refusals costs a counter,
// never a row each. The first refusal of a key opens its window; the row is
// written once the window has closed (or at shutdown).
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "store/rows.h"

namespace hostca {

struct RefusalTallyPolicy {
  Duration window = std::chrono::seconds(60);
  // Keys held at once; past it, refusals of new keys are counted under one
  // actor "peer:(others)", so memory and rows per window stay bounded.
  std::size_t max_keys = 10000;
  // Distinct reasons kept per key; more are counted under "(other reasons)".
  std::size_t max_reasons = 16;

  // Throws Error(kInvalidArgument) naming the bad setting.
  void validate() const;
};

class RefusalTally {
 public:
  RefusalTally(RefusalTallyPolicy policy, const Clock& clock);

  // Counts one refusal; true when it opened a window (worth one log line).
  bool record(const std::string& action, const std::string& actor, const std::string& subject,
              const std::string& outcome, const std::string& reason);
  // The audit rows of every window that has closed (with `everything`, of
  // every window), forgotten here; put_back() returns those a failed write
  // could not store, to be tried again.
  std::vector<store::AuditRow> take_closed(bool everything);
  void put_back(std::vector<store::AuditRow> rows);

  std::size_t tracked_keys();
  const RefusalTallyPolicy& policy() const { return policy_; }

 private:
  struct Count {
    std::string action, actor, subject, outcome;
    TimePoint first, last;
    std::int64_t count = 0;
    std::map<std::string, std::int64_t> reasons;
  };
  store::AuditRow row_of(const Count& c) const;

  RefusalTallyPolicy policy_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Count> counts_;
  std::vector<store::AuditRow> unwritten_;
};

}  // namespace hostca
