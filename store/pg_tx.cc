#include "store/pg_tx.h"

#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "common/error.h"

namespace hostca::store {

namespace {

// Times cross the wire as microseconds since the Unix epoch, exactly.
#define TS(n) "('epoch'::timestamptz + $" #n "::bigint * interval '1 microsecond')"
#define US(col) "(extract(epoch from " col ") * 1000000)::bigint"

struct Statement {
  const char* name;
  const char* sql;
};

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

#define TOKEN_COLUMNS                                                                      \
  "token_id::text, kind, token_hash, name, reason, coalesce(host_id::text, ''), max_uses," \
  " uses, " US("created_at") ", " US("expires_at") ", coalesce(" US(                       \
      "deleted_at") ", -1), created_by, allowed_names::text"

const Statement kInsertToken{
    "insert_token",
    "INSERT INTO tokens (token_id, kind, token_hash, name, reason, host_id, max_uses, uses,"
    " created_at, expires_at, created_by, allowed_names)"
    " VALUES ($1::uuid, $2, $3, $4, $5, NULLIF($6, '')::uuid, $7, $8, " TS(9) ", " TS(10) ", $11,"
    " $12::jsonb)"};
const Statement kFindTokenForUpdate{"find_token_for_update",
                                    "SELECT " TOKEN_COLUMNS
                                    " FROM tokens WHERE token_hash = $1 FOR UPDATE"};
const Statement kFindTokenById{"find_token_by_id",
                               "SELECT " TOKEN_COLUMNS " FROM tokens WHERE token_id = $1::uuid"};
const Statement kCountTokenUse{"count_token_use",
                               "UPDATE tokens SET uses = uses + 1 WHERE token_id = $1::uuid"};
const Statement kMarkTokenDeleted{
    "mark_token_deleted",
    "UPDATE tokens SET deleted_at = " TS(2) " WHERE token_id = $1::uuid AND deleted_at IS NULL"};
const Statement kListTokens{
    "list_tokens", "SELECT " TOKEN_COLUMNS
                   " FROM tokens WHERE $1 OR deleted_at IS NULL ORDER BY created_at, token_id"};

#define HOST_COLUMNS \
  "h.host_id::text, h.hostname, h.aliases::text, " US("h.created_at") ", coalesce(" US( \
      "h.auto_reissue_until") ", -1), h.crl_shard, coalesce(" US("h.certificate_failure_at") \
                              ", -1), h.certificate_failure_detail,"     \
                              " h.certificate_failure_verified"
#define CERT_COLUMNS \
  "c.serial_hex, coalesce(c.host_id::text, ''), c.kind, " US("c.not_before") ", " US(         \
      "c.not_after") ", c.der, " US("c.created_at") ", coalesce(" US("c.revoked_at") ", -1)," \
                     " coalesce(c.revocation_reason, -1), coalesce(c.crl_shard, -1),"        \
                     " coalesce(c.spki_sha256, ''::bytea)"
constexpr int kHostColumns = 9;
constexpr int kCertColumns = 11;

const Statement kFindHost{"find_host",
                          "SELECT " HOST_COLUMNS " FROM hosts h WHERE h.host_id = $1::uuid"};
const Statement kLockHost{
    "lock_host", "SELECT " HOST_COLUMNS " FROM hosts h WHERE h.host_id = $1::uuid FOR UPDATE"};

// Names (migration 0005). A claim is INSERT ... ON CONFLICT DO UPDATE: the
// primary key orders concurrent claims of one name across servers, every
// conflicting row is locked until the end of the unit of work (an admin's
// release waits for it), and RETURNING names the holder of each conflict.
// A host's own names are locked but not rewritten (the WHERE).
#define CLAIM_NAMES(host, names, at)                                      \
  "INSERT INTO host_names (name, host_id, claimed_at)"                    \
  " SELECT value, " host ", " at " FROM jsonb_array_elements_text(" names \
  ")"                                                                     \
  " ON CONFLICT (name) DO UPDATE SET claimed_at = host_names.claimed_at"  \
  " WHERE host_names.host_id IS DISTINCT FROM EXCLUDED.host_id RETURNING name, host_id"
// The claims of names held by another than `host`, as [[name, holder or null], ...].
#define NAME_CONFLICTS(cte, host)                                                           \
  "(SELECT coalesce(jsonb_agg(jsonb_build_array(name, host_id) ORDER BY name), '[]')::text" \
  " FROM " cte " WHERE host_id IS DISTINCT FROM " host ")"
const Statement kAssignHostNames{
    "assign_host_names",
    "WITH claimed AS (" CLAIM_NAMES("$1::uuid", "$2::jsonb", TS(5)) "),"
    " released AS (DELETE FROM host_names WHERE host_id = $1::uuid AND name NOT IN"
    " (SELECT value FROM jsonb_array_elements_text($2::jsonb)) RETURNING name),"
    " renamed AS (UPDATE hosts SET hostname = $3, aliases = $4::jsonb WHERE host_id = $1::uuid"
    " AND (hostname <> $3 OR aliases <> $4::jsonb) RETURNING 1)"
    " SELECT " NAME_CONFLICTS("claimed", "$1::uuid")};
const Statement kReleaseHostName{
    "release_host_name",
    "WITH released AS (DELETE FROM host_names WHERE name = $2 AND host_id = $1::uuid"
    " RETURNING name)"
    " UPDATE hosts SET hostname = CASE WHEN hostname = $2 THEN '' ELSE hostname END,"
    " aliases = coalesce((SELECT jsonb_agg(a.v ORDER BY a.o) FROM jsonb_array_elements(aliases)"
    " WITH ORDINALITY AS a(v, o) WHERE a.v <> to_jsonb($2::text)), '[]'::jsonb)"
    " WHERE host_id = $1::uuid AND EXISTS (SELECT 1 FROM released) RETURNING 1"};
const Statement kReserveServerNames{
    "reserve_server_names",
    "WITH claimed AS (" CLAIM_NAMES("NULL::uuid", "$1::jsonb", TS(2)) ")"
    " SELECT " NAME_CONFLICTS("claimed", "NULL::uuid")};
const Statement kSetAutoReissue{
    "set_auto_reissue",
    "UPDATE hosts SET auto_reissue_until = CASE WHEN $2::bigint < 0 THEN NULL ELSE " TS(
        2) " END WHERE host_id = $1::uuid"};
const Statement kSetCertificateFailure{
    "set_certificate_failure",
    "UPDATE hosts SET certificate_failure_at = CASE WHEN $2::bigint < 0 THEN NULL ELSE " TS(
        2) " END, certificate_failure_detail = $3, certificate_failure_verified = $4"
           " WHERE host_id = $1::uuid"};
const Statement kListHosts{
    "list_hosts",
    "SELECT " HOST_COLUMNS ", c.serial_hex IS NOT NULL, " CERT_COLUMNS ","
    " EXISTS (SELECT 1 FROM certificates v WHERE v.host_id = h.host_id AND v.revoked_at IS NULL"
    " AND v.not_after > " TS(3) ")"
    " FROM hosts h LEFT JOIN LATERAL (SELECT * FROM certificates x WHERE x.host_id = h.host_id"
    " ORDER BY x.not_after DESC, x.created_at DESC LIMIT 1) c ON true"
    " WHERE strpos(h.hostname, $1) > 0 ORDER BY h.hostname, h.host_id LIMIT $2"};

const Statement kInsertCertificate{
    "insert_certificate",
    "INSERT INTO certificates (serial_hex, host_id, kind, not_before, not_after, der, created_at,"
    " crl_shard, spki_sha256)"
    " VALUES ($1, NULLIF($2, '')::uuid, $3, " TS(4) ", " TS(5) ", $6, " TS(
        7) ", NULLIF($8, -1), NULLIF($9, ''::bytea))"};
// Audit rows travel as one JSON array, so any number of them is one
// parameter; `details` is the row's JSON object, `at` microseconds.
#define AUDIT_FROM_JSON(n)                                                        \
  "INSERT INTO audit_log (at, actor, action, subject, outcome, details)"          \
  " SELECT 'epoch'::timestamptz + (a->>'at')::bigint * interval '1 microsecond'," \
  " a->>'actor', a->>'action', a->>'subject', a->>'outcome', a->'details'"        \
  " FROM jsonb_array_elements($" #n "::jsonb) WITH ORDINALITY AS x(a, i) ORDER BY i"
const Statement kRecordEnrolment{
    "record_enrolment",
    "WITH h AS (INSERT INTO hosts (host_id, hostname, aliases, created_at, crl_shard)"
    " VALUES ($1::uuid, $2, $3::jsonb, " TS(4) ", $5)),"
    " n AS (" CLAIM_NAMES("$1::uuid", "$15::jsonb", TS(4)) "),"
    " c AS (INSERT INTO certificates (serial_hex, host_id, kind, not_before, not_after, der,"
    " created_at, crl_shard, spki_sha256) VALUES ($6, $1::uuid, $7, " TS(8) ", " TS(9) ", $10, " TS(
        11) ", $5, NULLIF($12, ''::bytea))),"
    " u AS (UPDATE tokens SET uses = uses + 1 WHERE token_id = $13::uuid RETURNING 1),"
    " a AS (" AUDIT_FROM_JSON(14) ")"
    " SELECT (SELECT count(*) FROM u), " NAME_CONFLICTS("n", "$1::uuid")};
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
const Statement kRevokeHostCertificates{
    "revoke_host_certificates",
    "UPDATE certificates c SET revoked_at = " TS(2) ", revocation_reason = $3"
    " WHERE c.host_id = $1::uuid AND c.revoked_at IS NULL AND c.not_after > " TS(2)
    " RETURNING " CERT_COLUMNS};
const Statement kRevokeCertificate{
    "revoke_certificate",
    "UPDATE certificates SET revoked_at = " TS(2) ", revocation_reason = $3"
    " WHERE serial_hex = $1 AND revoked_at IS NULL"};

#define CRL_COLUMNS "shard, crl_number, " US("this_update") ", " US("next_update") ", der"
const Statement kCreateCrlShards{
    "create_crl_shards",
    "INSERT INTO crl_shards (shard, crl_number, this_update, next_update, der)"
    " SELECT s, 0, 'epoch', 'epoch', '' FROM generate_series(-1, $1 - 1) AS s"
    " ON CONFLICT (shard) DO NOTHING"};
// The current DER stays behind: the next CRL is built from the entries,
// and reading the old one back cost a TOAST fetch per publication.
// clock_timestamp() is read once the lock is held: no CRL of the shard is
// dated past it.
const Statement kLockCrlShard{"lock_crl_shard",
                              "SELECT shard, crl_number, " US("this_update") ", " US(
                                  "next_update") ", ''::bytea, " US(
                                  "clock_timestamp()") " FROM crl_shards"
                                                       " WHERE shard = $1 FOR UPDATE"};
const Statement kLockDueCrlShard{
    "lock_due_crl_shard", "SELECT shard FROM crl_shards WHERE next_update <= " TS(
                              1) " ORDER BY next_update, shard LIMIT 1 FOR UPDATE SKIP LOCKED"};
const Statement kListCrlEntries{
    "list_crl_entries",
    "SELECT serial_hex, " US("revoked_at") ", revocation_reason, " US("not_after")
    " FROM certificates WHERE crl_shard = $1 AND revoked_at IS NOT NULL AND NOT off_crl"
    " ORDER BY serial_hex"};
const Statement kSaveCrl{"save_crl", "UPDATE crl_shards SET crl_number = $2, this_update = " TS(
                                         3) ", next_update = " TS(4) ", der = $5 WHERE shard = $1"};
const Statement kRetireExpiredCrlEntries{
    "retire_expired_crl_entries",
    "UPDATE certificates SET off_crl = true WHERE crl_shard = $1 AND revoked_at IS NOT NULL"
    " AND NOT off_crl AND not_after < " TS(2)};
const Statement kListCrls{"list_crls",
                          "SELECT " CRL_COLUMNS
                          " FROM crl_shards WHERE CASE WHEN $2 THEN shard >= 0 ELSE shard = $1 END"
                          " ORDER BY shard"};

// Transaction ID * 2^20 + position: 1,048,576 events per transaction (a
// host holds a few valid certificates; see migration 0002). Was * 4096
// before migration 0006: every old sequence lies below every new one, so a
// subscriber resuming from an old position misses nothing.
#define EVENTS_PER_TX "1048576"
#define SETTLED_HEAD "(pg_snapshot_xmin(pg_current_snapshot())::text::bigint * " EVENTS_PER_TX ")"
const Statement kAppendRevocationEvent{
    "append_revocation_event",
    "INSERT INTO revocation_events (sequence, serial_hex, host_id, reason, revoked_at, shard,"
    " crl_number) VALUES (pg_current_xact_id()::text::bigint * " EVENTS_PER_TX
    " + $1, $2, $3::uuid, $4, " TS(5) ", $6, $7)"};
const Statement kListRevocationEvents{
    "list_revocation_events",
    "SELECT sequence, serial_hex, host_id::text, reason, " US("revoked_at")
    ", shard, crl_number FROM revocation_events WHERE sequence > $1 AND sequence < " SETTLED_HEAD
    " ORDER BY sequence LIMIT $2"};
const Statement kRevocationStreamHead{"revocation_stream_head", "SELECT " SETTLED_HEAD " - 1"};
const Statement kCountCertificatesExpiring{
    "count_certificates_expiring",
    "SELECT count(*) FROM certificates WHERE host_id IS NOT NULL AND revoked_at IS NULL"
    " AND not_after > " TS(1) " AND not_after <= " TS(2)};

const Statement kInsertAdminKey{"insert_admin_key",
                                "INSERT INTO admin_keys (key_id, name, key_hash, created_at,"
                                " created_by) VALUES ($1::uuid, $2, $3, " TS(4) ", $5)"};
const Statement kFindAdminKey{"find_admin_key",
                              "SELECT key_id::text, name, key_hash, " US(
                                  "created_at") ", created_by FROM admin_keys WHERE key_hash = $1"};

const Statement kAppendAudits{"append_audits", AUDIT_FROM_JSON(1)};
const Statement kListAudit{"list_audit",
                           "SELECT sequence, " US("at")
                           ", actor, action, subject, outcome, details::text FROM audit_log"
                           " WHERE sequence > $1 ORDER BY sequence LIMIT $2"};

const Statement* const kAll[] = {
    &kFindCa,
    &kInsertCa,
    &kRecordCrlBaseUrl,
    &kDatabaseTime,
    &kInsertToken,
    &kFindTokenForUpdate,
    &kFindTokenById,
    &kCountTokenUse,
    &kMarkTokenDeleted,
    &kListTokens,
    &kFindHost,
    &kLockHost,
    &kAssignHostNames,
    &kReleaseHostName,
    &kReserveServerNames,
    &kSetAutoReissue,
    &kSetCertificateFailure,
    &kListHosts,
    &kInsertCertificate,
    &kRecordEnrolment,
    &kListHostCertificates,
    &kFindHostWithKey,
    &kFindCertificateForUpdate,
    &kRevokeHostCertificates,
    &kRevokeCertificate,
    &kCreateCrlShards,
    &kLockCrlShard,
    &kLockDueCrlShard,
    &kListCrlEntries,
    &kSaveCrl,
    &kRetireExpiredCrlEntries,
    &kListCrls,
    &kAppendRevocationEvent,
    &kListRevocationEvents,
    &kRevocationStreamHead,
    &kCountCertificatesExpiring,
    &kInsertAdminKey,
    &kFindAdminKey,
    &kAppendAudits,
    &kListAudit,
};

pqxx::binarystring bin(const Bytes& b) { return pqxx::binarystring(b.data(), b.size()); }

Bytes bytes_of(const pqxx::field& f) {
  const pqxx::binarystring bs(f);
  return Bytes(bs.begin(), bs.end());
}

std::optional<TimePoint> optional_time(const pqxx::field& f) {
  const auto v = f.as<std::int64_t>();
  if (v < 0) return std::nullopt;
  return from_unix_micros(v);
}

TimePoint time_of(const pqxx::field& f) { return from_unix_micros(f.as<std::int64_t>()); }

TokenKind token_kind_of(const std::string& s) {
  return s == "reissue" ? TokenKind::kReissue : TokenKind::kAuthorization;
}

CertificateKind certificate_kind_of(const std::string& s) {
  if (s == "renew") return CertificateKind::kRenew;
  if (s == "reissue") return CertificateKind::kReissue;
  if (s == "server") return CertificateKind::kServer;
  return CertificateKind::kEnroll;
}

TokenRow token_from(const pqxx::row& r) {
  TokenRow t;
  t.token_id = r[0].as<std::string>();
  t.kind = token_kind_of(r[1].as<std::string>());
  t.token_hash = bytes_of(r[2]);
  t.name = r[3].as<std::string>();
  t.reason = r[4].as<std::string>();
  if (auto host = r[5].as<std::string>(); !host.empty()) t.host_id = host;
  t.max_uses = r[6].as<int>();
  t.uses = r[7].as<int>();
  t.created_at = time_of(r[8]);
  t.expires_at = time_of(r[9]);
  t.deleted_at = optional_time(r[10]);
  t.created_by = r[11].as<std::string>();
  t.allowed_names = nlohmann::json::parse(r[12].as<std::string>()).get<std::vector<std::string>>();
  return t;
}

std::string aliases_json(const std::vector<std::string>& aliases) {
  return nlohmann::json(aliases).dump();
}

std::vector<std::string> aliases_from_json(const std::string& text) {
  return nlohmann::json::parse(text).get<std::vector<std::string>>();
}

// Reads HOST_COLUMNS starting at column `at`.
HostRow host_from(const pqxx::row& r, int at) {
  HostRow h;
  h.host_id = r[at].as<std::string>();
  h.hostname = r[at + 1].as<std::string>();
  h.aliases = aliases_from_json(r[at + 2].as<std::string>());
  h.created_at = time_of(r[at + 3]);
  h.auto_reissue_until = optional_time(r[at + 4]);
  h.crl_shard = r[at + 5].as<int>();
  h.certificate_failure_at = optional_time(r[at + 6]);
  h.certificate_failure_detail = r[at + 7].as<std::string>();
  h.certificate_failure_verified = r[at + 8].as<bool>();
  return h;
}

// Reads CERT_COLUMNS starting at column `at`.
CertificateRow certificate_from(const pqxx::row& r, int at) {
  CertificateRow c;
  c.serial_hex = r[at].as<std::string>();
  if (auto host = r[at + 1].as<std::string>(); !host.empty()) c.host_id = host;
  c.kind = certificate_kind_of(r[at + 2].as<std::string>());
  c.not_before = time_of(r[at + 3]);
  c.not_after = time_of(r[at + 4]);
  c.der = bytes_of(r[at + 5]);
  c.created_at = time_of(r[at + 6]);
  c.revoked_at = optional_time(r[at + 7]);
  if (const int reason = r[at + 8].as<int>(); reason >= 0) c.revocation_reason = reason;
  if (const int shard = r[at + 9].as<int>(); shard >= 0) c.crl_shard = shard;
  c.spki_sha256 = bytes_of(r[at + 10]);
  return c;
}

template <typename... Args>
pqxx::result run(pqxx::work& w, const Statement& s, Args&&... args) {
  return w.exec_prepared(s.name, std::forward<Args>(args)...);
}

}  // namespace

static_assert(std::is_base_of_v<Tx, PgTx>);

void PgTx::prepare(pqxx::connection& conn) {
  for (const Statement* s : kAll) conn.prepare(s->name, s->sql);
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

void PgTx::insert_token(const TokenRow& t) {
  run(w_, kInsertToken, t.token_id, to_string(t.kind), bin(t.token_hash), t.name, t.reason,
      t.host_id.value_or(""), t.max_uses, t.uses, to_unix_micros(t.created_at),
      to_unix_micros(t.expires_at), t.created_by, nlohmann::json(t.allowed_names).dump());
}

std::optional<TokenRow> PgTx::find_token_for_update(const Bytes& token_hash) {
  const auto r = run(w_, kFindTokenForUpdate, bin(token_hash));
  if (r.empty()) return std::nullopt;
  return token_from(r[0]);
}

std::optional<TokenRow> PgTx::find_token_by_id(const std::string& token_id) {
  const auto r = run(w_, kFindTokenById, token_id);
  if (r.empty()) return std::nullopt;
  return token_from(r[0]);
}

void PgTx::count_token_use(const std::string& token_id) {
  const auto r = run(w_, kCountTokenUse, token_id);
  if (r.affected_rows() != 1) throw internal_error("token " + token_id + " vanished while used");
}

void PgTx::mark_token_deleted(const std::string& token_id, TimePoint at) {
  run(w_, kMarkTokenDeleted, token_id, to_unix_micros(at));
}

std::vector<TokenRow> PgTx::list_tokens(bool include_deleted) {
  std::vector<TokenRow> out;
  for (const auto& row : run(w_, kListTokens, include_deleted)) out.push_back(token_from(row));
  return out;
}

std::optional<HostRow> PgTx::find_host(const std::string& host_id) {
  const auto r = run(w_, kFindHost, host_id);
  if (r.empty()) return std::nullopt;
  return host_from(r[0], 0);
}

std::vector<HostSummaryRow> PgTx::list_hosts(const std::string& hostname_contains,
                                             std::uint32_t limit, TimePoint now) {
  std::vector<HostSummaryRow> out;
  const auto r =
      run(w_, kListHosts, hostname_contains, static_cast<long long>(limit), to_unix_micros(now));
  for (const auto& row : r) {
    HostSummaryRow s;
    s.host = host_from(row, 0);
    if (row[kHostColumns].as<bool>()) {
      s.newest_certificate = certificate_from(row, kHostColumns + 1);
    }
    s.has_valid_certificate = row[kHostColumns + 1 + kCertColumns].as<bool>();
    out.push_back(std::move(s));
  }
  return out;
}

void PgTx::insert_certificate(const CertificateRow& c) {
  run(w_, kInsertCertificate, c.serial_hex, c.host_id.value_or(""), to_string(c.kind),
      to_unix_micros(c.not_before), to_unix_micros(c.not_after), bin(c.der),
      to_unix_micros(c.created_at), c.crl_shard.value_or(-1), bin(c.spki_sha256));
}

namespace {
std::string audit_json_array(const std::vector<AuditRow>& rows) {
  std::string out = "[";
  for (const auto& a : rows) {
    if (out.size() > 1) out += ',';
    out += "{\"at\":" + std::to_string(to_unix_micros(a.at)) +
           ",\"actor\":" + nlohmann::json(a.actor).dump() +
           ",\"action\":" + nlohmann::json(a.action).dump() +
           ",\"subject\":" + nlohmann::json(a.subject).dump() +
           ",\"outcome\":" + nlohmann::json(a.outcome).dump() +
           ",\"details\":" + (a.details_json.empty() ? std::string("{}") : a.details_json) + "}";
  }
  return out + "]";
}
}  // namespace

namespace {
std::vector<std::string> names_of(const std::string& hostname,
                                  const std::vector<std::string>& aliases) {
  std::vector<std::string> names{hostname};
  names.insert(names.end(), aliases.begin(), aliases.end());
  return names;
}

// NAME_CONFLICTS' JSON: [[name, holder or null], ...].
std::vector<NameHolder> name_holders(const std::string& text) {
  std::vector<NameHolder> out;
  for (const auto& pair : nlohmann::json::parse(text)) {
    NameHolder h;
    h.name = pair.at(0).get<std::string>();
    if (!pair.at(1).is_null()) h.host_id = pair.at(1).get<std::string>();
    out.push_back(std::move(h));
  }
  return out;
}
}  // namespace

std::vector<NameHolder> PgTx::record_enrolment(const HostRow& h, const CertificateRow& c,
                                               const std::string& token_id,
                                               const std::vector<AuditRow>& audit) {
  if (c.host_id != h.host_id || c.crl_shard != h.crl_shard) {
    throw internal_error("an enrolment's certificate must belong to its new host and shard");
  }
  const auto r =
      run(w_, kRecordEnrolment, h.host_id, h.hostname, aliases_json(h.aliases),
          to_unix_micros(h.created_at), h.crl_shard, c.serial_hex, to_string(c.kind),
          to_unix_micros(c.not_before), to_unix_micros(c.not_after), bin(c.der),
          to_unix_micros(c.created_at), bin(c.spki_sha256), token_id, audit_json_array(audit),
          nlohmann::json(names_of(h.hostname, h.aliases)).dump());
  if (r[0][0].as<int>() != 1) throw internal_error("token " + token_id + " vanished while used");
  return name_holders(r[0][1].as<std::string>());
}

std::vector<CertificateRow> PgTx::list_host_certificates(const std::string& host_id) {
  std::vector<CertificateRow> out;
  for (const auto& row : run(w_, kListHostCertificates, host_id)) {
    out.push_back(certificate_from(row, 0));
  }
  return out;
}

std::optional<HostRow> PgTx::lock_host(const std::string& host_id) {
  const auto r = run(w_, kLockHost, host_id);
  if (r.empty()) return std::nullopt;
  return host_from(r[0], 0);
}

std::vector<NameHolder> PgTx::assign_host_names(const std::string& host_id,
                                                const std::string& hostname,
                                                const std::vector<std::string>& aliases,
                                                TimePoint now) {
  if (hostname.empty()) throw internal_error("a host's names start with its host name");
  const auto r =
      run(w_, kAssignHostNames, host_id, nlohmann::json(names_of(hostname, aliases)).dump(),
          hostname, aliases_json(aliases), to_unix_micros(now));
  return name_holders(r[0][0].as<std::string>());
}

bool PgTx::release_host_name(const std::string& host_id, const std::string& name) {
  return run(w_, kReleaseHostName, host_id, name).affected_rows() == 1;
}

std::vector<NameHolder> PgTx::reserve_server_names(const std::vector<std::string>& names,
                                                   TimePoint now) {
  const auto r = run(w_, kReserveServerNames, nlohmann::json(names).dump(), to_unix_micros(now));
  return name_holders(r[0][0].as<std::string>());
}

void PgTx::set_auto_reissue_until(const std::string& host_id, std::optional<TimePoint> until) {
  run(w_, kSetAutoReissue, host_id, until ? to_unix_micros(*until) : static_cast<std::int64_t>(-1));
}

void PgTx::set_certificate_failure(const std::string& host_id, std::optional<TimePoint> at,
                                   const std::string& detail, bool verified) {
  run(w_, kSetCertificateFailure, host_id, at ? to_unix_micros(*at) : static_cast<std::int64_t>(-1),
      detail, verified && at.has_value());
}

std::optional<std::string> PgTx::find_host_with_key(const Bytes& spki_sha256,
                                                    const std::string& host_id) {
  const auto r = run(w_, kFindHostWithKey, bin(spki_sha256), host_id);
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

void PgTx::create_crl_shards(int count) { run(w_, kCreateCrlShards, count); }

namespace {
CrlShardRow crl_from(const pqxx::row& r) {
  CrlShardRow c;
  c.shard = r[0].as<int>();
  c.crl_number = r[1].as<std::int64_t>();
  c.this_update = time_of(r[2]);
  c.next_update = time_of(r[3]);
  c.der = bytes_of(r[4]);
  return c;
}
}  // namespace

CrlShardRow PgTx::lock_crl_shard(int shard) {
  const auto r = run(w_, kLockCrlShard, shard);
  if (r.empty()) throw internal_error("CRL shard " + std::to_string(shard) + " does not exist");
  CrlShardRow row = crl_from(r[0]);
  row.database_time = time_of(r[0][5]);
  return row;
}

std::optional<int> PgTx::lock_due_crl_shard(TimePoint due) {
  const auto r = run(w_, kLockDueCrlShard, to_unix_micros(due));
  if (r.empty()) return std::nullopt;
  return r[0][0].as<int>();
}

std::vector<CrlEntryRow> PgTx::list_crl_entries(int shard) {
  std::vector<CrlEntryRow> out;
  const auto r = run(w_, kListCrlEntries, shard);
  out.reserve(r.size());
  for (const auto& row : r) {
    out.push_back(
        CrlEntryRow{row[0].as<std::string>(), time_of(row[1]), row[2].as<int>(), time_of(row[3])});
  }
  return out;
}

void PgTx::save_crl(const CrlShardRow& c) {
  run(w_, kSaveCrl, c.shard, c.crl_number, to_unix_micros(c.this_update),
      to_unix_micros(c.next_update), bin(c.der));
}

void PgTx::retire_expired_crl_entries(int shard, TimePoint this_update) {
  run(w_, kRetireExpiredCrlEntries, shard, to_unix_micros(this_update));
}

std::vector<CrlShardRow> PgTx::list_crls(std::optional<int> shard) {
  std::vector<CrlShardRow> out;
  for (const auto& row : run(w_, kListCrls, shard.value_or(0), !shard.has_value())) {
    out.push_back(crl_from(row));
  }
  return out;
}

void PgTx::append_revocation_event(const RevocationEventRow& e, int position) {
  if (position < 0 || position >= 1048576) {
    throw internal_error("at most 1,048,576 revocation events fit in one transaction");
  }
  run(w_, kAppendRevocationEvent, position, e.serial_hex, e.host_id, e.reason,
      to_unix_micros(e.revoked_at), e.shard, e.crl_number);
}

std::vector<RevocationEventRow> PgTx::list_revocation_events(std::int64_t after_sequence,
                                                             std::uint32_t limit) {
  std::vector<RevocationEventRow> out;
  for (const auto& row :
       run(w_, kListRevocationEvents, after_sequence, static_cast<long long>(limit))) {
    RevocationEventRow e;
    e.sequence = row[0].as<std::int64_t>();
    e.serial_hex = row[1].as<std::string>();
    e.host_id = row[2].as<std::string>();
    e.reason = row[3].as<int>();
    e.revoked_at = time_of(row[4]);
    e.shard = row[5].as<int>();
    e.crl_number = row[6].as<std::int64_t>();
    out.push_back(std::move(e));
  }
  return out;
}

std::int64_t PgTx::revocation_stream_head() {
  return run(w_, kRevocationStreamHead)[0][0].as<std::int64_t>();
}

std::int64_t PgTx::count_certificates_expiring(TimePoint from, TimePoint to) {
  return run(w_, kCountCertificatesExpiring, to_unix_micros(from), to_unix_micros(to))[0][0]
      .as<std::int64_t>();
}

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
