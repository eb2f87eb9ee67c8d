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
    "SELECT ca_id, key_algorithm, certificate_der, coalesce(encrypted_private_key_pem, ''),"
    " sha256_fingerprint, spki_sha256, crl_shards, " US("created_at") ","
    " coalesce(crl_base_url, '') FROM ca"};

const Statement kInsertCa{
    "insert_ca",
    "INSERT INTO ca (ca_id, key_algorithm, certificate_der, encrypted_private_key_pem,"
    " sha256_fingerprint, spki_sha256, crl_shards, created_at, crl_base_url)"
    " VALUES ($1::uuid, $2, $3, NULLIF($4, ''), $5, $6, $7, " TS(8) ", NULLIF($9, ''))"
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

const Statement kInsertAdminSession{
    "insert_admin_session",
    "INSERT INTO admin_sessions (session_id, token_hash, key_id, address, created_at,"
    " last_seen_at, expires_at) VALUES ($1::uuid, $2, $3::uuid, $4, " TS(5) ", " TS(6) ", " TS(
        7) ")"};

const Statement kFindAdminSession{
    "find_admin_session", "SELECT session_id::text, key_id::text, address, " US(
                              "created_at") ", " US("last_seen_at") ", " US("expires_at") ", coalesce(" US("ended_at") ", -1) FROM admin_sessions WHERE token_hash = $1"};

const Statement kTouchAdminSession{"touch_admin_session",
                                   "UPDATE admin_sessions SET last_seen_at = " TS(
                                       2) " WHERE session_id = $1::uuid AND ended_at IS NULL"
                                          " AND last_seen_at < " TS(2)};

const Statement kEndAdminSession{"end_admin_session",
                                 "UPDATE admin_sessions SET ended_at = " TS(
                                     2) " WHERE session_id = $1::uuid AND ended_at IS NULL"};

const Statement kLockCa{"lock_ca", "SELECT 1 FROM ca FOR UPDATE"};

#define CA_KEY_COLUMNS \
  "generation, key_algorithm, certificate_der, coalesce(encrypted_private_key_pem, ''),"     \
  " sha256_fingerprint, spki_sha256, state, coalesce(new_with_old_der, ''::bytea),"          \
  " coalesce(old_with_new_der, ''::bytea), emergency, " US("created_at") ","                 \
  " coalesce(pkcs11_module, ''), coalesce(pkcs11_token_label, ''), coalesce(pkcs11_key_label, '')"

const Statement kListCaKeys{"list_ca_keys",
                            "SELECT " CA_KEY_COLUMNS " FROM ca_keys ORDER BY generation"};

const Statement kInsertCaKey{
    "insert_ca_key",
    "INSERT INTO ca_keys (generation, key_algorithm, certificate_der, encrypted_private_key_pem,"
    " sha256_fingerprint, spki_sha256, state, new_with_old_der, old_with_new_der, emergency,"
    " created_at, pkcs11_module, pkcs11_token_label, pkcs11_key_label) VALUES ($1, $2, $3,"
    " NULLIF($4, ''), $5, $6, $7, NULLIF($8, ''::bytea), NULLIF($9, ''::bytea), $10, " TS(11) ","
    " NULLIF($12, ''), NULLIF($13, ''), NULLIF($14, ''))"};

const Statement kSetCaKeyState{
    "set_ca_key_state", "UPDATE ca_keys SET state = $3 WHERE generation = $1 AND state = $2"};

}  // namespace

const StatementList& ca_statements() {
  static const StatementList all = {&kFindCa,
                                    &kInsertCa,
                                    &kRecordCrlBaseUrl,
                                    &kDatabaseTime,
                                    &kInsertAdminKey,
                                    &kFindAdminKey,
                                    &kLockCa,
                                    &kListCaKeys,
                                    &kInsertCaKey,
                                    &kSetCaKeyState,
                                    &kInsertAdminSession,
                                    &kFindAdminSession,
                                    &kTouchAdminSession,
                                    &kEndAdminSession};
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

void PgTx::insert_admin_session(const AdminSessionRow& s) {
  run(w_, kInsertAdminSession, s.session_id, bin(s.token_hash), s.key_id, s.address,
      to_unix_micros(s.created_at), to_unix_micros(s.last_seen_at), to_unix_micros(s.expires_at));
}

std::optional<AdminSessionRow> PgTx::find_admin_session(const Bytes& token_hash) {
  const auto r = run(w_, kFindAdminSession, bin(token_hash));
  if (r.empty()) return std::nullopt;
  AdminSessionRow s;
  s.session_id = r[0][0].as<std::string>();
  s.token_hash = token_hash;
  s.key_id = r[0][1].as<std::string>();
  s.address = r[0][2].as<std::string>();
  s.created_at = time_of(r[0][3]);
  s.last_seen_at = time_of(r[0][4]);
  s.expires_at = time_of(r[0][5]);
  s.ended_at = optional_time(r[0][6]);
  return s;
}

void PgTx::touch_admin_session(const std::string& session_id, TimePoint at) {
  run(w_, kTouchAdminSession, session_id, to_unix_micros(at));
}

bool PgTx::end_admin_session(const std::string& session_id, TimePoint at) {
  return run(w_, kEndAdminSession, session_id, to_unix_micros(at)).affected_rows() > 0;
}

void PgTx::lock_ca() { run(w_, kLockCa); }

std::vector<CaKeyRow> PgTx::list_ca_keys() {
  std::vector<CaKeyRow> out;
  for (const auto& r : run(w_, kListCaKeys)) {
    CaKeyRow k;
    k.generation = r[0].as<int>();
    k.key_algorithm = r[1].as<std::string>();
    k.certificate_der = bytes_of(r[2]);
    k.encrypted_private_key_pem = r[3].as<std::string>();
    k.sha256_fingerprint = r[4].as<std::string>();
    k.spki_sha256 = r[5].as<std::string>();
    k.state = r[6].as<std::string>();
    k.new_with_old_der = bytes_of(r[7]);
    k.old_with_new_der = bytes_of(r[8]);
    k.emergency = r[9].as<bool>();
    k.created_at = time_of(r[10]);
    k.pkcs11_module = r[11].as<std::string>();
    k.pkcs11_token_label = r[12].as<std::string>();
    k.pkcs11_key_label = r[13].as<std::string>();
    out.push_back(std::move(k));
  }
  return out;
}

void PgTx::insert_ca_key(const CaKeyRow& k) {
  run(w_, kInsertCaKey, k.generation, k.key_algorithm, bin(k.certificate_der),
      k.encrypted_private_key_pem, k.sha256_fingerprint, k.spki_sha256, k.state,
      bin(k.new_with_old_der), bin(k.old_with_new_der), k.emergency, to_unix_micros(k.created_at),
      k.pkcs11_module, k.pkcs11_token_label, k.pkcs11_key_label);
}

bool PgTx::set_ca_key_state(int generation, const std::string& from, const std::string& to) {
  return run(w_, kSetCaKeyState, generation, from, to).affected_rows() == 1;
}

}  // namespace hostca::store
