// Row structs: the values the store reads and writes, in the domain's words.
// Conversions between these and SQL live in pg_tx.cc only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"

namespace hostca::store {

struct CaRow {
  std::string ca_id;
  std::string key_algorithm;  // "ECDSA-P256", "ECDSA-P384", "Ed25519", "RSA-3072", ...
  Bytes certificate_der;
  // PKCS#8, encrypted with the passphrase; empty for a CA made in a PKCS#11 token.
  std::string encrypted_private_key_pem;
  std::string sha256_fingerprint;
  std::string spki_sha256;
  int crl_shards = 1;
  TimePoint created_at;
  // Base of the CRL distribution point URLs; empty for a CA made before
  // migration 0006 until one is recorded.
  std::string crl_base_url;
};

// One CA key (migration 0007); generation 1 is the key made at init.
struct CaKeyRow {
  int generation = 1;
  std::string key_algorithm;
  Bytes certificate_der;
  // Where the private key is: either encrypted here (PKCS#8 under the
  // passphrase), or in a PKCS#11 token (migration 0016), named by module,
  // token label and key label; the other place's fields are empty.
  std::string encrypted_private_key_pem;
  std::string pkcs11_module;
  std::string pkcs11_token_label;
  std::string pkcs11_key_label;
  std::string sha256_fingerprint;
  std::string spki_sha256;
  std::string state;       // "next", "active", "retiring" or "retired"
  Bytes new_with_old_der;  // empty for generation 1 and emergency keys
  Bytes old_with_new_der;
  bool emergency = false;
  TimePoint created_at;
};

enum class TokenKind { kAuthorization, kReissue };

struct TokenRow {
  std::string token_id;
  TokenKind kind = TokenKind::kAuthorization;
  Bytes token_hash;
  std::string name;
  std::string reason;
  std::optional<std::string> host_id;  // reissue tokens only
  int max_uses = 1;
  int uses = 0;
  TimePoint created_at;
  TimePoint expires_at;
  std::optional<TimePoint> deleted_at;
  std::string created_by;
  // Authorization tokens only: the name patterns ("db01.example.com",
  // "*.lab.example.com") a host enrolling with this token may use, on top of
  // the CA's own policy. Empty: the CA's policy alone.
  std::vector<std::string> allowed_names;
};

struct HostRow {
  std::string host_id;
  std::string hostname;  // empty once an admin released it, until a reissue names one
  std::vector<std::string> aliases;
  TimePoint created_at;
  std::optional<TimePoint> auto_reissue_until;
  int crl_shard = 0;
  std::optional<TimePoint> certificate_failure_at;
  std::string certificate_failure_detail;
  // The report came with the host's own valid client certificate.
  bool certificate_failure_verified = false;
  // The newest certificate (latest not_after; the later issued on a tie),
  // kept by the database (migration 0015); empty serial: none.
  std::string newest_serial_hex;
  std::optional<TimePoint> newest_not_after;
  bool newest_revoked = false;
};

// What the console counts and filters hosts by: the state of the newest
// certificate. kExpiring: valid, ending within kExpiringWithin.
enum class HostState { kValid, kExpiring, kExpired, kRevoked, kNone };
inline constexpr Duration kExpiringWithin = std::chrono::hours(24 * 30);
HostState host_state(const HostRow& host, TimePoint now);
const char* host_state_name(HostState state);
// The name's state; nullopt for a name that is none.
std::optional<HostState> host_state_named(const std::string& name);

enum class CertificateKind { kEnroll, kRenew, kReissue, kServer };

struct CertificateRow {
  std::string serial_hex;
  std::optional<std::string> host_id;  // empty for the server's own TLS certificate
  CertificateKind kind = CertificateKind::kEnroll;
  TimePoint not_before;
  TimePoint not_after;
  Bytes der;
  TimePoint created_at;
  std::optional<TimePoint> revoked_at;
  std::optional<int> revocation_reason;
  std::optional<int> crl_shard;  // host certificates only
  Bytes spki_sha256;             // empty for certificates from before migration 0002
  int ca_generation = 1;         // the CA key that issued it
};

// Who holds a DNS name in the register of names (migration 0005).
struct NameHolder {
  std::string name;
  std::optional<std::string> host_id;  // empty: one of the CA server's own names
};

// What one entry of a shard's CRL needs.
// Its times are whole seconds (rounded down), all a CRL needs: the
// revocation date is encoded in whole seconds, and the expiry is only
// compared with a thisUpdate, itself whole seconds.
struct CrlEntryRow {
  std::string serial_hex;
  TimePoint revoked_at;
  int reason = 0;
  TimePoint not_after;
};

// The shard number of the CRL that covers CA certificates only.
constexpr int kCaCrlScope = -1;

// The current CRL of one shard; der is empty until first published.
struct CrlShardRow {
  int ca_generation = 1;  // the CA key whose CRL it is
  int shard = 0;
  std::int64_t crl_number = 0;
  TimePoint this_update;
  TimePoint next_update;
  Bytes der;
  // lock_crl_shard only: the database's clock when the lock was taken.
  TimePoint database_time;
};

struct RevocationEventRow {
  std::int64_t sequence = 0;  // assigned by the store
  std::string serial_hex;
  std::string host_id;
  int reason = 0;
  TimePoint revoked_at;
  int shard = 0;
  std::int64_t crl_number = 0;
  int ca_generation = 1;
};

struct HostSummaryRow {
  HostRow host;
  HostState state = HostState::kNone;  // as the database worked it out
  std::optional<CertificateRow> newest_certificate;
  bool has_valid_certificate = false;
};

struct AdminKeyRow {
  std::string key_id;
  std::string name;
  Bytes key_hash;
  TimePoint created_at;
  std::string created_by;
};

// A console session (migration 0013): the secret's hash, never the secret.
struct AdminSessionRow {
  std::string session_id;
  Bytes token_hash;
  std::string key_id;
  std::string address;
  TimePoint created_at;
  TimePoint last_seen_at;
  TimePoint expires_at;
  std::optional<TimePoint> ended_at;
};

// Which hosts to list (ListHosts), in the order `sort` says.
enum class HostSort {
  kName,    // (hostname, host_id)
  kExpiry,  // (newest_not_after, host_id), hosts without a certificate last
};
struct HostQuery {
  std::string hostname_contains;  // empty: any
  // Lower case, of the characters names have (a-z, 0-9, '-', '.'); the
  // start of a host name or alias; empty: any.
  std::string name_prefix;
  std::optional<HostState> state;  // none: any
  bool failure_only = false;       // only hosts with a failure report not cleared
  HostSort sort = HostSort::kName;
  // The last host of the previous page: its sort key (the host name, or
  // newest_not_after in microseconds, INT64_MAX for none, as text) and its ID.
  std::optional<std::pair<std::string, std::string>> after;
  std::uint32_t limit = 1000;
  TimePoint now;
};

// The console's dashboard counts, as of one moment (one statement).
struct DashboardCounts {
  std::int64_t hosts = 0, valid = 0, expiring = 0, expired = 0, revoked = 0, none = 0;
  std::int64_t failure_reported = 0;      // not yet cleared, any state
  std::int64_t auto_reissue_allowed = 0;  // window open now
  // Usable tokens: not deleted, expired or used up.
  std::int64_t authorization_usable = 0, reissue_usable = 0;
  std::int64_t authorization_uses_left = 0;
  std::int64_t tokens_expiring_within_a_day = 0;
};

// Which audit rows to list, oldest first (ListAuditEvents).
struct AuditFilter {
  std::int64_t after_sequence = 0;
  std::uint32_t limit = 100;
  std::string action;   // empty: any
  std::string actor;    // empty: any
  std::string subject;  // empty: any
  std::optional<TimePoint> since;
  std::optional<TimePoint> until;
};

struct AuditRow {
  std::int64_t sequence = 0;  // assigned by the database
  TimePoint at;
  std::string actor;
  std::string action;
  std::string subject;
  std::string outcome;       // "ok" or "refused"
  std::string details_json;  // a JSON object; never a secret
};

const char* to_string(TokenKind kind);
const char* to_string(CertificateKind kind);

}  // namespace hostca::store
