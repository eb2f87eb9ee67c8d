// The SQL of one concept: the audit log. Rows are held by the unit of work and written as one
// statement just before it commits.
#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "common/error.h"
#include "store/pg_sql.h"
#include "store/pg_tx.h"

namespace hostca::store {

namespace {

const Statement kAppendAudits{"append_audits", AUDIT_FROM_JSON(1)};

const Statement kListAudit{"list_audit",
                           "SELECT sequence, " US("at")
                           ", actor, action, subject, outcome, details::text FROM audit_log"
                           " WHERE sequence > $1 ORDER BY sequence LIMIT $2"};

}  // namespace

const StatementList& audit_statements() {
  static const StatementList all = {&kAppendAudits, &kListAudit};
  return all;
}

void PgTx::append_audit(const AuditRow& a) { pending_audit_.push_back(a); }

void PgTx::flush() {
  if (pending_audit_.empty()) return;
  const auto r = run(w_, kAppendAudits, audit_json_array(pending_audit_));
  if (r.affected_rows() != pending_audit_.size()) {
    throw internal_error("the audit log took " + std::to_string(r.affected_rows()) + " of " +
                         std::to_string(pending_audit_.size()) + " rows");
  }
  pending_audit_.clear();
}

std::vector<AuditRow> PgTx::list_audit(std::int64_t after_sequence, std::uint32_t limit) {
  flush();  // this unit of work's own rows first
  std::vector<AuditRow> out;
  for (const auto& row : run(w_, kListAudit, after_sequence, static_cast<long long>(limit))) {
    AuditRow a;
    a.sequence = row[0].as<std::int64_t>();
    a.at = time_of(row[1]);
    a.actor = row[2].as<std::string>();
    a.action = row[3].as<std::string>();
    a.subject = row[4].as<std::string>();
    a.outcome = row[5].as<std::string>();
    a.details_json = row[6].as<std::string>();
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace hostca::store
