// What every file of the PostgreSQL store shares: the prepared-statement
// type, how times cross the wire, the column lists rows are read from, and
// the row converters. Internal to store/: nothing outside includes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "store/rows.h"

namespace hostca::store {

struct Statement {
  const char* name;
  const char* sql;
};
using StatementList = std::vector<const Statement*>;

// Each file's statements, all prepared on every new connection.
const StatementList& ca_statements();
const StatementList& tokens_statements();
const StatementList& hosts_statements();
const StatementList& certificates_statements();
const StatementList& crls_statements();
const StatementList& audit_statements();
const StatementList& enrolment_statements();

template <typename... Args>
pqxx::result run(pqxx::transaction_base& w, const Statement& s, Args&&... args) {
  return w.exec_prepared(s.name, std::forward<Args>(args)...);
}

// Times cross the wire as microseconds since the Unix epoch, exactly.
#define TS(n) "('epoch'::timestamptz + $" #n "::bigint * interval '1 microsecond')"
#define US(col) "(extract(epoch from " col ") * 1000000)::bigint"
// Whole seconds (rounded down), as microseconds: for the entries of a CRL,
// read in hundreds per publication, where extract()'s numeric arithmetic
// was most of the statement's time. date_part() divides the exact integer
// microseconds by 10^6 in double precision, and floor() of that is exact
// for every time before the year 2255 (the quotient is then at least
// 10^-6 from the next whole second, more than its rounding error).
#define WHOLE_SECONDS_US(col) "(floor(date_part('epoch', " col "))::bigint * 1000000)"

#define HOST_COLUMNS \
  "h.host_id::text, h.hostname, h.aliases::text, " US("h.created_at") ", coalesce(" US( \
      "h.auto_reissue_until") ", -1), h.crl_shard, coalesce(" US("h.certificate_failure_at") \
                              ", -1), h.certificate_failure_detail,"     \
                              " h.certificate_failure_verified, coalesce(h.newest_serial_hex, ''),"  \
                              " coalesce(" US("h.newest_not_after") ", -1), h.newest_revoked"
// The state of a host (rows.h, HostState) from its newest certificate, as
// of `now` with `soon` the end of the expiring window (both microseconds).
#define HOST_STATE(now, soon)                                                              \
  "CASE WHEN h.newest_serial_hex IS NULL THEN 'none' WHEN h.newest_revoked THEN 'revoked'" \
  " WHEN h.newest_not_after <= " now " THEN 'expired' WHEN h.newest_not_after <= " soon    \
  " THEN 'expiring' ELSE 'valid' END"
#define CERT_COLUMNS \
  "c.serial_hex, coalesce(c.host_id::text, ''), c.kind, " US("c.not_before") ", " US(         \
      "c.not_after") ", c.der, " US("c.created_at") ", coalesce(" US("c.revoked_at") ", -1)," \
                     " coalesce(c.revocation_reason, -1), coalesce(c.crl_shard, -1),"        \
                     " coalesce(c.spki_sha256, ''::bytea), c.ca_generation"
#define TOKEN_COLUMNS                                                                      \
  "token_id::text, kind, token_hash, name, reason, coalesce(host_id::text, ''), max_uses," \
  " uses, " US("created_at") ", " US("expires_at") ", coalesce(" US(                       \
      "deleted_at") ", -1), created_by, allowed_names::text"

constexpr int kHostColumns = 12;
constexpr int kCertColumns = 12;

pqxx::binarystring bin(const Bytes& b);
Bytes bytes_of(const pqxx::field& f);
// -1 (as the queries write NULL times) is none.
std::optional<TimePoint> optional_time(const pqxx::field& f);
TimePoint time_of(const pqxx::field& f);
CertificateKind certificate_kind_of(const std::string& s);
std::string aliases_json(const std::vector<std::string>& aliases);
std::vector<std::string> aliases_from_json(const std::string& text);
// TOKEN_COLUMNS, from column 0.
TokenRow token_from(const pqxx::row& r);
// HOST_COLUMNS, starting at column `at`.
HostRow host_from(const pqxx::row& r, int at);
// CERT_COLUMNS, starting at column `at`.
CertificateRow certificate_from(const pqxx::row& r, int at);
// A host's names: its host name, then its aliases.
std::vector<std::string> names_of(const std::string& hostname,
                                  const std::vector<std::string>& aliases);
// Name conflicts as JSON, [[name, holder or null], ...], as rows.
std::vector<NameHolder> name_holders(const std::string& text);
// Audit rows as one JSON array, any number of them one parameter:
// [{"at": microseconds, "actor", "action", "subject", "outcome",
// "details": the row's JSON object}, ...].
std::string audit_json_array(const std::vector<AuditRow>& rows);

// A one-dimensional PostgreSQL array literal, every element quoted.
class ArrayLiteral {
 public:
  ArrayLiteral& add(const std::string& element);
  ArrayLiteral& add(std::int64_t n) { return add(std::to_string(n)); }
  ArrayLiteral& add_bytes(const Bytes& b);
  std::string str() const { return text_ + "}"; }
  bool empty() const { return text_.size() == 1; }

 private:
  std::string text_ = "{";
};

}  // namespace hostca::store
