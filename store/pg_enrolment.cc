// The SQL of an enrolment: the preview before the server signs, and the
// one call of migration 0008's hostca_enrol that checks again and writes.
#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "common/error.h"
#include "store/pg_sql.h"
#include "store/pg_tx.h"

namespace hostca::store {

namespace {

// Always one row: the token's columns (NULL if there is no such token),
// then the host certified for the key (NULL if none).
const Statement kPreviewEnrolment{
    "preview_enrolment",
    "SELECT t.*, (SELECT c.host_id::text FROM certificates c WHERE c.spki_sha256 = $2"
    " AND c.host_id IS NOT NULL LIMIT 1)"
    " FROM (SELECT 1) one LEFT JOIN (SELECT " TOKEN_COLUMNS
    " FROM tokens WHERE token_hash = $1) t ON true"};

const Statement kEnrol{"enrol",
                       "SELECT outcome, detail FROM hostca_enrol($1, $2, $3::uuid, $4, $5::jsonb,"
                       " $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15::jsonb, $16)"};

// Raised by hostca_enrol when a concurrent enrolment claimed one of the
// names between its check and its claim.
const char* const kNameClaimedMeanwhile = "HC002";

constexpr int kTokenColumns = 13;

}  // namespace

const StatementList& enrolment_statements() {
  static const StatementList all = {&kPreviewEnrolment, &kEnrol};
  return all;
}

EnrolmentPreview PgTx::preview_enrolment(const Bytes& token_hash, const Bytes& spki_sha256) {
  const auto r = run(w_, kPreviewEnrolment, bin(token_hash), bin(spki_sha256));
  EnrolmentPreview p;
  if (!r[0][0].is_null()) p.token = token_from(r[0]);
  if (!r[0][kTokenColumns].is_null()) p.key_holder = r[0][kTokenColumns].as<std::string>();
  return p;
}

EnrolmentResult PgTx::enrol(const Bytes& token_hash, bool name_patterns_checked, const HostRow& h,
                            const CertificateRow& c, const std::vector<AuditRow>& audit) {
  if (c.host_id != h.host_id || c.crl_shard != h.crl_shard || c.created_at != h.created_at) {
    throw internal_error("an enrolment's certificate must belong to its new host, shard and time");
  }
  const std::string names = nlohmann::json(names_of(h.hostname, h.aliases)).dump();
  const std::string audit_json = audit_json_array(audit);
  const auto call = [&] {
    return run(w_, kEnrol, bin(token_hash), name_patterns_checked, h.host_id, h.hostname,
               aliases_json(h.aliases), to_unix_micros(h.created_at), h.crl_shard, c.serial_hex,
               to_string(c.kind), to_unix_micros(c.not_before), to_unix_micros(c.not_after),
               bin(c.der), bin(c.spki_sha256), audit_json, names, c.ca_generation);
  };
  pqxx::result r;
  try {
    r = call();
  } catch (const pqxx::sql_error& e) {
    // A name was claimed between the check and the claim, by an enrolment
    // that has committed by now: the second call's check names it. Only
    // outside a transaction is the connection still usable here.
    if (e.sqlstate() != kNameClaimedMeanwhile ||
        dynamic_cast<pqxx::nontransaction*>(&w_) == nullptr) {
      throw;
    }
    r = call();
  }
  using Outcome = EnrolmentResult::Outcome;
  EnrolmentResult out;
  const std::string outcome = r[0][0].as<std::string>();
  const std::string detail = r[0][1].as<std::string>();
  if (outcome == "ok") {
    out.token_id = detail;
  } else if (outcome == "unknown") {
    out.outcome = Outcome::kUnknownToken;
  } else if (outcome == "token") {
    out.outcome = Outcome::kTokenUnusable;
    out.token_id = detail;
  } else if (outcome == "patterns") {
    out.outcome = Outcome::kNamePatterns;
    out.allowed_names = nlohmann::json::parse(detail).get<std::vector<std::string>>();
  } else if (outcome == "key") {
    out.outcome = Outcome::kKeyHeld;
    out.key_holder = detail;
  } else if (outcome == "names") {
    out.outcome = Outcome::kNamesHeld;
    out.names_held = name_holders(detail);
  } else {
    throw internal_error("hostca_enrol answered '" + outcome + "'");
  }
  return out;
}

}  // namespace hostca::store
