// The SQL of one concept: certificates and their revocation.
#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "common/error.h"
#include "store/pg_sql.h"
#include "store/pg_tx.h"

namespace hostca::store {

namespace {

const Statement kListHostCertificates{"list_host_certificates",
                                      "SELECT " CERT_COLUMNS
                                      " FROM certificates c WHERE c.host_id = $1::uuid"
                                      " ORDER BY c.created_at DESC, c.serial_hex"};

const Statement kFindHostWithKey{"find_host_with_key",
                                 "SELECT host_id::text FROM certificates WHERE spki_sha256 = $1"
                                 " AND host_id IS NOT NULL AND host_id::text <> $2 LIMIT 1"};

const Statement kFindCertificateForUpdate{
    "find_certificate_for_update",
    "SELECT " CERT_COLUMNS " FROM certificates c WHERE c.serial_hex = $1 FOR UPDATE"};

const Statement kHostOfCertificate{
    "host_of_certificate",
    "SELECT coalesce(host_id::text, '') FROM certificates WHERE serial_hex = $1"};

const Statement kRevokeHostCertificates{
    "revoke_host_certificates",
    "UPDATE certificates c SET revoked_at = " TS(2) ", revocation_reason = $3"
    " WHERE c.host_id = $1::uuid AND c.revoked_at IS NULL AND c.not_after > " TS(2)
    " RETURNING " CERT_COLUMNS};

// The batch forms: one row per (key, host) pair in the order given; and
// every given host's certificates revoked.
const Statement kFindHostsWithKeys{
    "find_hosts_with_keys",
    "SELECT (SELECT c.host_id::text FROM certificates c WHERE c.spki_sha256 = u.k"
    " AND c.host_id IS NOT NULL AND c.host_id::text <> u.h LIMIT 1)"
    " FROM unnest($1::bytea[], $2::text[]) WITH ORDINALITY u(k, h, i) ORDER BY u.i"};

const Statement kRevokeHostsCertificates{
    "revoke_hosts_certificates",
    "UPDATE certificates c SET revoked_at = " TS(2) ", revocation_reason = $3"
    " FROM unnest($1::uuid[]) u(wanted)"
    " WHERE c.host_id = u.wanted AND c.revoked_at IS NULL AND c.not_after > " TS(2)
    " RETURNING " CERT_COLUMNS};

const Statement kRevokeCertificate{
    "revoke_certificate",
    "UPDATE certificates SET revoked_at = " TS(2) ", revocation_reason = $3"
    " WHERE serial_hex = $1 AND revoked_at IS NULL"};

const Statement kCountCertificatesExpiring{
    "count_certificates_expiring",
    "SELECT count(*) FROM certificates WHERE host_id IS NOT NULL AND revoked_at IS NULL"
    " AND not_after > " TS(1) " AND not_after <= " TS(2)};

const Statement kCountValidCertificatesOfKey{
    "count_valid_certificates_of_key",
    "SELECT count(*) FROM certificates WHERE ca_generation = $1 AND host_id IS NOT NULL"
    " AND revoked_at IS NULL AND not_after > " TS(2)};

const Statement kCountHostsOnlyOnKey{
    "count_hosts_only_on_key",
    "SELECT count(DISTINCT c.host_id) FROM certificates c WHERE c.ca_generation = $1"
    " AND c.host_id IS NOT NULL AND c.revoked_at IS NULL AND c.not_after > " TS(2)
    " AND NOT EXISTS (SELECT 1 FROM certificates d WHERE d.host_id = c.host_id"
    " AND d.ca_generation <> $1 AND d.revoked_at IS NULL AND d.not_after > " TS(2) ")"};

const Statement kRevokeCertificatesOfKey{
    "revoke_certificates_of_key",
    "UPDATE certificates c SET revoked_at = " TS(2) ", revocation_reason = $3"
    " WHERE c.ca_generation = $1 AND c.host_id IS NOT NULL AND c.revoked_at IS NULL"
    " AND c.not_after > " TS(2) " RETURNING " CERT_COLUMNS};

}  // namespace

const StatementList& certificates_statements() {
  static const StatementList all = {&kFindHostsWithKeys,         &kRevokeHostsCertificates,
                                    &kListHostCertificates,      &kFindHostWithKey,
                                    &kFindCertificateForUpdate,  &kHostOfCertificate,
                                    &kRevokeHostCertificates,    &kRevokeCertificate,
                                    &kCountCertificatesExpiring, &kCountValidCertificatesOfKey,
                                    &kCountHostsOnlyOnKey,       &kRevokeCertificatesOfKey};
  return all;
}

void PgTx::insert_certificate(const CertificateRow& c) {
  hold(nlohmann::json{{"op", "certificate"},
                      {"serial_hex", c.serial_hex},
                      {"host_id", c.host_id.value_or("")},
                      {"kind", to_string(c.kind)},
                      {"not_before", to_unix_micros(c.not_before)},
                      {"not_after", to_unix_micros(c.not_after)},
                      {"der", to_hex(c.der)},
                      {"created_at", to_unix_micros(c.created_at)},
                      {"crl_shard", c.crl_shard.value_or(-1)},
                      {"spki_sha256", to_hex(c.spki_sha256)},
                      {"ca_generation", c.ca_generation}}
           .dump());
}

std::vector<CertificateRow> PgTx::list_host_certificates(const std::string& host_id) {
  std::vector<CertificateRow> out;
  for (const auto& row : run(w_, kListHostCertificates, host_id)) {
    out.push_back(certificate_from(row, 0));
  }
  return out;
}

std::optional<std::string> PgTx::find_host_with_key(const Bytes& spki_sha256,
                                                    const std::string& host_id) {
  const auto r = run(w_, kFindHostWithKey, bin(spki_sha256), host_id);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

std::vector<std::optional<std::string>> PgTx::find_hosts_with_keys(
    const std::vector<std::pair<Bytes, std::string>>& keys) {
  ArrayLiteral spkis, hosts;
  for (const auto& [key, host] : keys) {
    spkis.add_bytes(key);
    hosts.add(host);
  }
  std::vector<std::optional<std::string>> out;
  for (const auto& row : run(w_, kFindHostsWithKeys, spkis.str(), hosts.str())) {
    if (row[0].is_null()) {
      out.emplace_back();
    } else {
      out.emplace_back(row[0].as<std::string>());
    }
  }
  if (out.size() != keys.size()) throw internal_error("find_hosts_with_keys: rows lost");
  return out;
}

std::vector<CertificateRow> PgTx::revoke_hosts_certificates(
    const std::vector<std::string>& host_ids, TimePoint now, int reason) {
  ArrayLiteral ids;
  for (const auto& id : host_ids) ids.add(id);
  std::vector<CertificateRow> out;
  for (const auto& row :
       run(w_, kRevokeHostsCertificates, ids.str(), to_unix_micros(now), reason)) {
    out.push_back(certificate_from(row, 0));
  }
  return out;
}

std::optional<std::string> PgTx::host_of_certificate(const std::string& serial_hex) {
  const auto r = run(w_, kHostOfCertificate, serial_hex);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

std::optional<CertificateRow> PgTx::find_certificate_for_update(const std::string& serial_hex) {
  const auto r = run(w_, kFindCertificateForUpdate, serial_hex);
  if (r.empty()) return std::nullopt;
  return certificate_from(r[0], 0);
}

std::vector<CertificateRow> PgTx::revoke_host_certificates(const std::string& host_id,
                                                           TimePoint now, int reason) {
  std::vector<CertificateRow> out;
  for (const auto& row : run(w_, kRevokeHostCertificates, host_id, to_unix_micros(now), reason)) {
    out.push_back(certificate_from(row, 0));
  }
  return out;
}

void PgTx::revoke_certificate(const std::string& serial_hex, TimePoint now, int reason) {
  const auto r = run(w_, kRevokeCertificate, serial_hex, to_unix_micros(now), reason);
  if (r.affected_rows() != 1) {
    throw internal_error("certificate " + serial_hex + " changed while it was revoked");
  }
}

std::int64_t PgTx::count_certificates_expiring(TimePoint from, TimePoint to) {
  return run(w_, kCountCertificatesExpiring, to_unix_micros(from), to_unix_micros(to))[0][0]
      .as<std::int64_t>();
}

std::int64_t PgTx::count_hosts_only_on_key(int ca_generation, TimePoint now) {
  return run(w_, kCountHostsOnlyOnKey, ca_generation, to_unix_micros(now))[0][0].as<std::int64_t>();
}

std::int64_t PgTx::count_valid_certificates_of_key(int ca_generation, TimePoint now) {
  return run(w_, kCountValidCertificatesOfKey, ca_generation, to_unix_micros(now))[0][0]
      .as<std::int64_t>();
}

std::vector<CertificateRow> PgTx::revoke_certificates_of_key(int ca_generation, TimePoint now,
                                                             int reason) {
  std::vector<CertificateRow> out;
  for (const auto& row :
       run(w_, kRevokeCertificatesOfKey, ca_generation, to_unix_micros(now), reason)) {
    out.push_back(certificate_from(row, 0));
  }
  return out;
}

}  // namespace hostca::store
