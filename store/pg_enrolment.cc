// The SQL of an enrolment: the preview, and the one call of migration
// 0009's hostca_enrol_batch that checks and writes one enrolment or a batch.
#include <algorithm>
#include <cstdint>

#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "common/bytes.h"
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

const Statement kEnrolBatch{
    "enrol_batch",
    "SELECT item, outcome, detail FROM hostca_enrol_batch($1::bytea[], $2::boolean[],"
    " $3::uuid[], $4::text[], $5::jsonb[], $6::bigint[], $7::integer[], $8::text[], $9::text[],"
    " $10::bigint[], $11::bigint[], $12::bytea[], $13::bytea[], $14::integer[], $15::jsonb[],"
    " $16::text[], $17::integer[]) ORDER BY item"};

// Raised by hostca_enrol_batch when a concurrent enrolment claimed one of
// the names between its check and its claim.
const char* const kNameClaimedMeanwhile = "HC002";

EnrolmentResult result_of(const std::string& outcome, const std::string& detail) {
  using Outcome = EnrolmentResult::Outcome;
  EnrolmentResult out;
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
    throw internal_error("hostca_enrol_batch answered '" + outcome + "'");
  }
  return out;
}

constexpr int kTokenColumns = 13;

}  // namespace

const StatementList& enrolment_statements() {
  static const StatementList all = {&kPreviewEnrolment, &kEnrolBatch};
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
  const EnrolmentCall call{token_hash, name_patterns_checked, h, c, audit};
  return enrol_batch({&call}).front();
}

std::vector<EnrolmentResult> PgTx::enrol_batch(const std::vector<const EnrolmentCall*>& calls) {
  ArrayLiteral token_hashes, patterns_checked, host_ids, hostnames, aliases, created_at, shards,
      serials, kinds, not_before, not_after, ders, spkis, generations, audit, names, name_items;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const EnrolmentCall& call = *calls[i];
    const HostRow& h = call.host;
    const CertificateRow& c = call.certificate;
    if (c.host_id != h.host_id || c.crl_shard != h.crl_shard || c.created_at != h.created_at) {
      throw internal_error(
          "an enrolment's certificate must belong to its new host, shard and time");
    }
    token_hashes.add_bytes(call.token_hash);
    patterns_checked.add(call.name_patterns_checked ? "t" : "f");
    host_ids.add(h.host_id);
    hostnames.add(h.hostname);
    aliases.add(aliases_json(h.aliases));
    created_at.add(to_unix_micros(h.created_at));
    shards.add(h.crl_shard);
    serials.add(c.serial_hex);
    kinds.add(to_string(c.kind));
    not_before.add(to_unix_micros(c.not_before));
    not_after.add(to_unix_micros(c.not_after));
    ders.add_bytes(c.der);
    spkis.add_bytes(c.spki_sha256);
    generations.add(c.ca_generation);
    audit.add(audit_json_array(call.audit));
    // Distinct and sorted, as the call takes them.
    std::vector<std::string> own = names_of(h.hostname, h.aliases);
    std::sort(own.begin(), own.end());
    own.erase(std::unique(own.begin(), own.end()), own.end());
    for (const auto& n : own) {
      names.add(n);
      name_items.add(static_cast<std::int64_t>(i + 1));
    }
  }
  pqxx::result r;
  // A name was claimed between the check and the claim, by an enrolment
  // that has committed by now: the next call's check names it. Only
  // outside a transaction is the connection still usable here.
  for (int attempt = 1;; ++attempt) {
    try {
      r = run(w_, kEnrolBatch, token_hashes.str(), patterns_checked.str(), host_ids.str(),
              hostnames.str(), aliases.str(), created_at.str(), shards.str(), serials.str(),
              kinds.str(), not_before.str(), not_after.str(), ders.str(), spkis.str(),
              generations.str(), audit.str(), names.str(), name_items.str());
      break;
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != kNameClaimedMeanwhile ||
          dynamic_cast<pqxx::nontransaction*>(&w_) == nullptr || attempt >= 3) {
        throw;
      }
    }
  }
  if (r.size() != calls.size()) {
    throw internal_error("hostca_enrol_batch answered " + std::to_string(r.size()) +
                         " outcomes for " + std::to_string(calls.size()) + " enrolments");
  }
  std::vector<EnrolmentResult> out;
  out.reserve(calls.size());
  for (const auto& row : r)
    out.push_back(result_of(row[1].as<std::string>(), row[2].as<std::string>()));
  return out;
}

}  // namespace hostca::store
