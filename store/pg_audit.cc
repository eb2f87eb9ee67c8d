// The SQL of one concept: the audit log. Rows are held by the unit of work and written as one
// statement just before it commits.
#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "common/error.h"
#include "store/pg_sql.h"
#include "store/pg_tx.h"

namespace hostca::store {

namespace {

const Statement kWrite{"write", "SELECT hostca_write($1::jsonb, $2::jsonb, $3::bytea[])"};

// In sequence order (the primary key), each filter off when empty; the log
// has no other index, so a filter that matches little reads far: pages are
// bounded by the limit, and every page starts where the last one ended.
const Statement kListAudit{
    "list_audit",
    "SELECT sequence, " US("at") ", actor, action, subject, outcome, details::text FROM audit_log"
    " WHERE sequence > $1 AND ($3 = '' OR action = $3) AND ($4 = '' OR actor = $4)"
    " AND ($5 = '' OR subject = $5) AND at >= " TS(6) " AND at < " TS(
        7) " ORDER BY sequence LIMIT $2"};

const Statement kListLatestAudit{
    "list_latest_audit", "SELECT sequence, " US("at") ", actor, action, subject, outcome,"
                         " details::text FROM audit_log ORDER BY sequence DESC LIMIT $1"};

// No bound: the first microsecond of 1970 and the last of 9999.
constexpr long long kNoSince = 0;
constexpr long long kNoUntil = 253402300799999999LL;

}  // namespace

const StatementList& audit_statements() {
  static const StatementList all = {&kWrite, &kListAudit, &kListLatestAudit};
  return all;
}

void PgTx::append_audit(const AuditRow& a) { pending_audit_.push_back(a); }

namespace {
std::string json_array(const std::vector<std::string>& objects) {
  std::string out = "[";
  for (const auto& o : objects) {
    if (out.size() > 1) out += ',';
    out += o;
  }
  return out + "]";
}
std::string crl_array(const std::vector<Bytes>& ders) {
  ArrayLiteral a;
  for (const auto& d : ders) a.add_bytes(d);
  return a.str();
}
}  // namespace

void PgTx::write_held() {
  if (held_.empty()) return;
  const std::string ops = json_array(held_);
  const std::string crls = crl_array(held_crls_);
  held_.clear();
  held_crls_.clear();
  store::run(w_, kWrite, ops, std::string("[]"), crls);
}

void PgTx::flush() {
  if (held_.empty() && pending_audit_.empty()) return;
  const std::string ops = json_array(held_);
  const std::string audit = audit_json_array(pending_audit_);
  const std::string crls = crl_array(held_crls_);
  held_.clear();
  held_crls_.clear();
  pending_audit_.clear();
  store::run(w_, kWrite, ops, audit, crls);
}

namespace {
AuditRow audit_from(const pqxx::row& row) {
  AuditRow a;
  a.sequence = row[0].as<std::int64_t>();
  a.at = time_of(row[1]);
  a.actor = row[2].as<std::string>();
  a.action = row[3].as<std::string>();
  a.subject = row[4].as<std::string>();
  a.outcome = row[5].as<std::string>();
  a.details_json = row[6].as<std::string>();
  return a;
}
}  // namespace

std::vector<AuditRow> PgTx::list_audit(const AuditFilter& f) {
  flush();  // this unit of work's own rows first
  std::vector<AuditRow> out;
  const long long since = f.since ? static_cast<long long>(to_unix_micros(*f.since)) : kNoSince;
  const long long until = f.until ? static_cast<long long>(to_unix_micros(*f.until)) : kNoUntil;
  for (const auto& row : run(w_, kListAudit, f.after_sequence, static_cast<long long>(f.limit),
                             f.action, f.actor, f.subject, since, until)) {
    out.push_back(audit_from(row));
  }
  return out;
}

std::vector<AuditRow> PgTx::list_latest_audit(std::uint32_t limit) {
  flush();
  std::vector<AuditRow> out;
  for (const auto& row : run(w_, kListLatestAudit, static_cast<long long>(limit))) {
    out.push_back(audit_from(row));
  }
  return out;
}

}  // namespace hostca::store
