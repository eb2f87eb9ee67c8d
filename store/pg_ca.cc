// The SQL of one concept: the CA itself, the database's clock and admin keys.
#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "common/error.h"
#include "store/pg_sql.h"
#include "store/pg_tx.h"

namespace hostca::store {

namespace {

const Statement kFindCa{
    "find_ca",
    "SELECT ca_id, key_algorithm, certificate_der, encrypted_private_key_pem,"
    " sha256_fingerprint, spki_sha256, crl_shards, " US("created_at") ","
    " coalesce(crl_base_url, '') FROM ca"};

const Statement kInsertCa{
    "insert_ca",
    "INSERT INTO ca (ca_id, key_algorithm, certificate_der, encrypted_private_key_pem,"
    " sha256_fingerprint, spki_sha256, crl_shards, created_at, crl_base_url)"
    " VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, " TS(8) ", NULLIF($9, ''))"
    " ON CONFLICT DO NOTHING"};

const Statement kRecordCrlBaseUrl{"record_crl_base_url",
                                  "UPDATE ca SET crl_base_url = $1 WHERE crl_base_url IS NULL"};

const Statement kDatabaseTime{"database_time", "SELECT " US("clock_timestamp()")};

const Statement kInsertAdminKey{"insert_admin_key",
                                "INSERT INTO admin_keys (key_id, name, key_hash, created_at,"
                                " created_by) VALUES ($1::uuid, $2, $3, " TS(4) ", $5)"};

const Statement kFindAdminKey{"find_admin_key",
                              "SELECT key_id::text, name, key_hash, " US(
                                  "created_at") ", created_by FROM admin_keys WHERE key_hash = $1"};

}  // namespace

const StatementList& ca_statements() {
  static const StatementList all = {&kFindCa,       &kInsertCa,       &kRecordCrlBaseUrl,
                                    &kDatabaseTime, &kInsertAdminKey, &kFindAdminKey};
  return all;
}

std::optional<CaRow> PgTx::find_ca() {
  const auto r = run(w_, kFindCa);
  if (r.empty()) return std::nullopt;
  const auto& row = r[0];
  CaRow ca;
  ca.ca_id = row[0].as<std::string>();
  ca.key_algorithm = row[1].as<std::string>();
  ca.certificate_der = bytes_of(row[2]);
  ca.encrypted_private_key_pem = row[3].as<std::string>();
  ca.sha256_fingerprint = row[4].as<std::string>();
  ca.spki_sha256 = row[5].as<std::string>();
  ca.crl_shards = row[6].as<int>();
  ca.created_at = time_of(row[7]);
  ca.crl_base_url = row[8].as<std::string>();
  return ca;
}

void PgTx::insert_ca(const CaRow& ca) {
  const auto r = run(w_, kInsertCa, ca.ca_id, ca.key_algorithm, bin(ca.certificate_der),
                     ca.encrypted_private_key_pem, ca.sha256_fingerprint, ca.spki_sha256,
                     ca.crl_shards, to_unix_micros(ca.created_at), ca.crl_base_url);
  if (r.affected_rows() != 1) {
    throw already_exists("this database already holds a CA; hostca never overwrites one");
  }
}

bool PgTx::record_crl_base_url(const std::string& url) {
  return run(w_, kRecordCrlBaseUrl, url).affected_rows() == 1;
}

TimePoint PgTx::database_time() { return time_of(run(w_, kDatabaseTime)[0][0]); }

void PgTx::insert_admin_key(const AdminKeyRow& k) {
  run(w_, kInsertAdminKey, k.key_id, k.name, bin(k.key_hash), to_unix_micros(k.created_at),
      k.created_by);
}

std::optional<AdminKeyRow> PgTx::find_admin_key(const Bytes& key_hash) {
  const auto r = run(w_, kFindAdminKey, bin(key_hash));
  if (r.empty()) return std::nullopt;
  AdminKeyRow k;
  k.key_id = r[0][0].as<std::string>();
  k.name = r[0][1].as<std::string>();
  k.key_hash = bytes_of(r[0][2]);
  k.created_at = time_of(r[0][3]);
  k.created_by = r[0][4].as<std::string>();
  return k;
}

}  // namespace hostca::store
