// The authority: every business operation of hostca, each one unit of work
// on the store. It decides policy and orders the steps; the store holds the
// SQL, the issuer builds certificates, the signer signs.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/batcher.h"
#include "common/clock.h"
#include "common/error.h"
#include "domain/ca_keys.h"
#include "domain/ca_rollover.h"
#include "domain/certificate_issuer.h"
#include "domain/clock_check.h"
#include "domain/crl_publisher.h"
#include "domain/key_policy.h"
#include "domain/name_policy.h"
#include "domain/refusal_tally.h"
#include "domain/secret_token.h"
#include "domain/token_attempts.h"
#include "domain/views.h"
#include "pki/revocation_reason.h"
#include "store/store.h"

namespace hostca {

// Who makes a call, as written to the audit log ("admin:<key id>", ...).
struct Actor {
  std::string id;
};

// An admin key as the transport read it, or why it could read none.
struct AdminCredential {
  std::string key;
  std::string problem;  // non-empty: no key could be read (missing or malformed header)
};

struct TokenDefaults {
  Duration default_valid_for = std::chrono::hours(24);
  Duration max_valid_for = std::chrono::hours(24 * 365);
  std::uint32_t max_uses_limit = 1000000;

  void validate() const;
  // The requested validity or the default; throws kInvalidArgument past the limit.
  Duration checked_validity(const std::optional<Duration>& requested) const;
};

// How long an admin console session lasts (docs/console.md): it ends
// `idle` after its last request, and `absolute` after sign-in whatever the use.
struct ConsoleSessionPolicy {
  Duration idle = std::chrono::minutes(30);
  Duration absolute = std::chrono::hours(12);
  void validate() const;
};

struct AuthorityConfig {
  KeyPolicy key_policy;
  NamePolicy names;
  TokenDefaults tokens;
  int crl_shards = 1;
  CrlPolicy crl;
  // The longest window an admin may open for a reissue without a token.
  Duration max_auto_reissue_window = std::chrono::hours(48);
  // Unknown authorization and reissue tokens per client address.
  TokenAttemptPolicy token_attempts;
  // Certificate-failure reports per client address (unverified) or host (verified).
  AttemptPolicy failure_reports{10, std::chrono::seconds(60), 100000};
  // The most valid (unexpired, unrevoked) certificates a host holds at once;
  // a renewal past it is refused until one expires or is revoked.
  int max_valid_certificates_per_host = 3;
  // Refusals of callers without a credential: one audit row per key per window.
  RefusalTallyPolicy refusal_audit;
  // How far this server's clock may be from the database's.
  ClockPolicy clock;
  // Reissues that keep the host's names and arrive together run as one
  // unit of work of at most this many (1: each alone), at most
  // `reissue_batches_at_once` such units at a time (docs/benchmarks.md).
  int reissue_batch = 32;
  int reissue_batches_at_once = 2;
  ConsoleSessionPolicy console_sessions;

  // Throws Error(kInvalidArgument) naming the bad setting; the authority
  // refuses to be built with one, and `config check` runs it too.
  void validate() const;
};

struct HostListRequest {
  std::string hostname_contains;
  std::string search;
  std::string page_token;   // empty: the first page
  std::uint32_t limit = 0;  // 0: 1000; at most 10000
  // A HostState's name or "failure"; empty: any.
  std::string state;
  std::string sort;  // "name" (empty too) or "expiry"
};

struct HostPage {
  std::vector<HostView> hosts;
  std::string next_page_token;  // empty on the last page
};

// A console session as its admin holds it. The secret goes in the session
// cookie and is shown only here; the anti-CSRF token is derived from it.
struct StartedConsoleSession {
  SecretToken secret;
  std::string csrf_token;
  std::string session_id;
  std::string key_id;
  TimePoint expires_at;       // absolute
  TimePoint idle_expires_at;  // if nothing more is asked before then
};

// A live console session, as a request presents it.
struct ConsoleSessionView {
  Actor actor;
  std::string session_id;
  std::string key_id;
  std::string csrf_token;
  TimePoint expires_at;
  TimePoint idle_expires_at;
};

// The anti-CSRF token of a session: hex SHA-256 of a label and the
// session's secret. Only a page that can read the server's answers (same
// origin) learns it; a cross-site form cannot send it.
std::string console_csrf_token(const std::string& session_secret);

struct CaCertificateView {
  int generation = 1;
  Bytes der;
  std::string pem;
  std::string sha256_fingerprint;
  std::string spki_sha256;
};

// A CA key as hosts are told about it (GetCACertificate, /ca.json).
struct AnnouncedCaKey {
  CaCertificateView certificate;
  CaKeyState state = CaKeyState::kActive;
  Bytes new_with_old_der;  // empty without a link
  Bytes old_with_new_der;
  std::string previous_spki_sha256;  // the key newWithOld is signed by
};

// A CA key as admins see it (GetCaStatus).
struct CaKeyStatus {
  AnnouncedCaKey key;
  std::string key_algorithm;
  std::string held_in;  // "database" or "pkcs11:<token label>/<key label>"
  TimePoint not_after;
  bool emergency = false;
  bool publishing = false;
  std::int64_t hosts_trusting = 0;
  std::int64_t valid_certificates = 0;
};

struct CaStatus {
  std::string phase;  // "none", "propagate" or "activate"
  std::vector<CaKeyStatus> keys;
  std::int64_t hosts = 0;
  std::int64_t hosts_reporting = 0;
  std::string warning;  // empty unless the active CA certificate nears its end unrolled
};

// A CRL as the console lists it: its key, shard, number and times, without
// its DER. Stale: past its next_update, or never published.
struct CrlShardHead {
  int ca_generation = 0;
  int shard = 0;  // store::kCaCrlScope for the CA scope
  std::int64_t crl_number = 0;
  std::optional<TimePoint> this_update, next_update;  // none: never published
  bool stale = false;
};

struct CrlKeySummary {
  int ca_generation = 0;
  int shards = 0;  // host shards and the CA scope
  int stale = 0;
  std::optional<TimePoint> soonest_next_update;
  std::int64_t lowest_crl_number = 0, highest_crl_number = 0;
};

// The console's first page, as of one moment.
struct Dashboard {
  TimePoint as_of;
  store::DashboardCounts counts;
  std::vector<CrlKeySummary> crl_summary;  // per key that publishes
  std::vector<CrlShardHead> crl_soonest;   // stale first, then by next_update
  CaStatus ca;
  std::vector<store::AuditRow> recent_events;  // newest first
};

struct CrlShardPage {
  std::vector<CrlShardHead> shards;
  std::optional<int> next_after_shard;
};

// A host's report of the CA keys it pins; the transport's client certificate
// is the only source of its identity.
struct TrustReport {
  std::string client_certificate_pem;
  std::vector<std::string> spki_sha256;
};

struct EnrollmentRequest {
  Bytes csr;
  std::string hostname;
  std::vector<std::string> aliases;
  std::string authorization_token;
  std::string peer;  // the caller's address, for the limit on unknown tokens
};

struct Enrollment {
  std::string host_id;
  IssuedCertificate certificate;
};

struct NewAuthorizationToken {
  std::string name;
  std::uint32_t max_uses = 0;         // 0: the default, 1
  std::optional<Duration> valid_for;  // unset: the default
  std::string reason;
  // Name patterns a host enrolling with the token may use, on top of the
  // CA's policy ("db01.example.com", "*.lab.example.com"); empty: any the
  // CA's policy allows.
  std::vector<std::string> allowed_names;
};

struct CreatedToken {
  SecretToken token;
  std::string token_id;
  TimePoint expires_at;
};

struct ReissueRequest {
  std::string host_id;
  Bytes csr;
  std::string reissue_token;         // empty: only inside an auto-reissue window
  std::string hostname;              // empty keeps the host's name
  std::vector<std::string> aliases;  // replace the aliases when given, or on a rename
  std::string peer;                  // the caller's address, for the token attempt limits
};

struct Reissue {
  std::string host_id;
  IssuedCertificate certificate;
  std::vector<std::string> revoked_serials;
};

struct NewReissueToken {
  std::string host_id;
  std::optional<Duration> valid_for;
  std::string reason;
};

// An admin gives up one name of a host, so that another host may have it.
struct NameRelease {
  std::string host_id;
  std::string name;
  // The host's valid certificates that carry the name are revoked with the
  // release; without this, such certificates refuse the release.
  bool revoke_certificates = false;
  int reason_code = static_cast<int>(RevocationReason::kCessationOfOperation);
};

// Exactly one of serial_hex and host_id.
struct RevocationRequest {
  std::string serial_hex;
  std::string host_id;
  int reason_code = 0;
};

struct RenewalRequest {
  // The TLS client certificate the host presented (PEM), as the transport
  // saw it; the only source of the host's identity.
  std::string client_certificate_pem;
  Bytes csr;
};

struct Renewal {
  std::string host_id;
  IssuedCertificate certificate;
};

struct CertificateFailureReport {
  std::string host_id;
  std::string pinned_spki_sha256;
  std::string presented_spki_sha256;
  std::string server;
  std::string peer;
  // The TLS client certificate the caller presented (PEM), if any: a report
  // is verified only with the reported host's own valid certificate.
  std::string client_certificate_pem;
};

struct CreatedAdminKey {
  SecretToken key;
  std::string key_id;
};

// What one committed business operation did, for whoever counts them (the
// server's metrics).
struct OperationOutcome {
  std::optional<store::CertificateKind> issued;  // the kind of certificate issued, if any
  std::size_t revoked = 0;                       // certificates revoked
  bool token_used = false;                       // an authorization or reissue token was used
};

class Authority {
 public:
  // `rng` makes tokens, keys' IDs and host IDs; like the clock it must
  // outlive the authority, and be safe to share between threads. The CA's
  // keys come from `ring`; reload() replaces them while serving.
  Authority(store::Store& store, std::shared_ptr<const CaKeyRing> ring, CertificateProfile profile,
            const Clock& clock, Botan::RandomNumberGenerator& rng, AuthorityConfig config);
  // One CA key, the issuer's (what tests and a CA without rollover use).
  Authority(store::Store& store, std::shared_ptr<const CertificateIssuer> issuer,
            const Clock& clock, Botan::RandomNumberGenerator& rng, AuthorityConfig config);

  // Takes the CA's keys as they now are: calls that start after it issue
  // with the new active key and publish each key's CRLs.
  void reload(std::shared_ptr<const CaKeyRing> ring);
  std::shared_ptr<const CaKeyRing> ring() const { return keys()->ring; }

  // The active CA, the one that issues now.
  CaCertificateView ca_certificate() const { return keys()->active_view; }
  // One key's, if the CA has it.
  std::optional<CaCertificateView> ca_certificate(int generation) const;
  // The keys hosts should trust (next, active, retiring), with their links.
  std::vector<AnnouncedCaKey> announced_keys() const;
  // The keys, the rollover phase and how far hosts follow. Without
  // `with_counts`, the counts (hosts, hosts reporting, hosts trusting and
  // valid certificates of each key: each a scan of the fleet) stay 0.
  CaStatus ca_status(bool with_counts = true);
  // The console's dashboard (GetDashboard): hosts by state, usable tokens,
  // the CRLs of every key that publishes (the `soonest` most urgent), the
  // CA keys and the `recent` newest audit events.
  Dashboard dashboard(std::size_t soonest = 32, std::uint32_t recent = 10);
  // One key's CRLs (0: the active key's), in shard order from the CA
  // scope, after `after_shard`; at most `limit` (0: 256; at most 4096).
  CrlShardPage crl_shard_page(int ca_generation, std::optional<int> after_shard,
                              std::uint32_t limit);
  // Records which CA keys a host pins; the host is the one its valid client
  // certificate names (else kUnauthenticated, nothing written).
  void record_trusted_cas(const TrustReport& report);
  // The warning of ca_status() when the active CA certificate is closer to
  // its end than the host certificate validity plus `margin` and no next key
  // is announced; empty otherwise.
  std::string expiry_warning(TimePoint now, Duration margin = std::chrono::hours(24 * 30)) const;

  // First certificate of a new host against an authorization token.
  Enrollment enroll(const EnrollmentRequest& request);

  // Admin credentials. Refusals are audited in aggregate: one row per client
  // address per window, with the count (flush_refusals writes them).
  Actor authenticate_admin(const AdminCredential& credential, const std::string& peer,
                           const std::string& call);
  CreatedAdminKey create_admin_key(const Actor& actor, const std::string& name);

  // Console sessions (domain/console_sessions.cc). Signing in takes an
  // admin key; an unknown one counts against the caller's address like an
  // unknown token (a valid key is never refused for it).
  StartedConsoleSession sign_in(const std::string& admin_key, const std::string& peer);
  // The session of a request, or UNAUTHENTICATED (unknown, ended, idle or
  // expired). A request that changes state passes its anti-CSRF header as
  // `csrf_token`; a wrong or missing one is PERMISSION_DENIED.
  ConsoleSessionView console_session(const std::string& secret, const std::string* csrf_token,
                                     const std::string& peer);
  // Ends the session on every server; it needs the anti-CSRF token too.
  void sign_out(const std::string& secret, const std::string& csrf_token, const std::string& peer);

  CreatedToken create_authorization_token(const Actor& actor, const NewAuthorizationToken& request);
  std::vector<TokenView> list_tokens(bool include_deleted);
  void delete_token(const Actor& actor, const std::string& token_id);

  std::vector<HostView> list_hosts(const std::string& hostname_contains, std::uint32_t limit);
  // A page of hosts in the order of (hostname, host ID), filtered by a part
  // of the host name and by a search: the start of a host name or alias, or
  // a host ID. The page token names the last host of the page before.
  HostPage list_hosts(const HostListRequest& request);
  HostDetails get_host(const std::string& host_id);

  std::vector<store::AuditRow> list_audit(std::uint64_t after_sequence, std::uint32_t limit);
  // Filtered (action, actor, subject, time); limit 0 means 100, at most 1000.
  std::vector<store::AuditRow> list_audit(store::AuditFilter filter);

  // Renewal (renewal.cc): a fresh certificate for the host named by its
  // current certificate, which must be this CA's, unexpired and, according
  // to the database now, unrevoked. The old certificate stays valid.
  Renewal renew(const RenewalRequest& request);
  // Records a host's report that it reached a CA other than the one it
  // pinned; false if the host is not known here. Verified only when the
  // caller presented that host's valid certificate; unverified reports are
  // limited per address, never replace a verified one and are audited in
  // aggregate.
  bool record_certificate_failure(const CertificateFailureReport& report);

  // Reissue (revocation.cc): in one unit of work, checks the reissue token
  // (or the host's auto-reissue window), revokes every still-valid
  // certificate of the host, publishes its shard's CRL, issues the new one.
  Reissue reissue(const ReissueRequest& request);
  // Several reissues that keep their hosts' names in one unit of work: what
  // reissue() does when callers arrive together (public for tests). One
  // outcome each, in order; a request the batch cannot take (another's
  // host, token or key, names to change, anything it would refuse) runs
  // alone after it, so that each caller gets the answer reissue() gives.
  struct ReissueOutcome {
    std::optional<Reissue> reissue;
    std::exception_ptr error;
  };
  std::vector<ReissueOutcome> reissue_together(const std::vector<const ReissueRequest*>& requests);
  CreatedToken create_reissue_token(const Actor& actor, const NewReissueToken& request);
  TimePoint allow_auto_reissue(const Actor& actor, const std::string& host_id, Duration window);
  // Releases a name of a host (and revokes the host's valid certificates
  // that carry it, when asked to); returns the serials revoked.
  std::vector<std::string> release_host_name(const Actor& actor, const NameRelease& request);
  // Clears the host's reported certificate failure; the report and the note
  // go to the audit log. NOT_FOUND for an unknown host, FAILED_PRECONDITION
  // when it has no failure reported.
  void acknowledge_certificate_failure(const Actor& actor, const std::string& host_id,
                                       const std::string& note);
  // Revokes one certificate or every still-valid one of a host and publishes
  // the shard CRLs that list them; returns the serials revoked.
  std::vector<std::string> revoke(const Actor& actor, const RevocationRequest& request);

  // The last step of a rollover (ca_rollover.h) that revokes the retiring
  // key's remaining certificates when asked to, on that key's CRLs.
  RolloverStep finish_rollover(const RolloverFinish& request);

  // Republishes every shard whose nextUpdate is within republish_before,
  // unless another server is at it; returns how many it published.
  int republish_due_crls();
  // One host shard's CRL, or every host shard's, of one CA key or of every
  // key that still publishes.
  std::vector<store::CrlShardRow> crls(std::optional<int> shard,
                                       std::optional<int> ca_generation = std::nullopt);
  // The CRLs covering CA certificates only, of every key that publishes
  // (each once published).
  std::vector<store::CrlShardRow> ca_scope_crls();
  // Every published CRL (host shards and CA scopes) of every key that
  // publishes, without its DER: its key, shard, number and times.
  std::vector<store::CrlShardRow> crl_heads();
  std::vector<store::RevocationEventRow> revocation_events(std::int64_t after_sequence,
                                                           std::uint32_t limit);
  std::int64_t revocation_stream_head();
  // Called after the commit of every CRL this authority publishes.
  void on_crl_published(std::function<void(const PublishedCrl&)> listener) {
    crl_listener_ = std::move(listener);
  }

  // Called after the commit of every enrolment, renewal, reissue and
  // revocation.
  void on_committed(std::function<void(const OperationOutcome&)> listener) {
    outcome_listener_ = std::move(listener);
  }
  // Unrevoked host certificates whose notAfter falls within `within` from now.
  std::int64_t certificates_expiring_within(Duration within);

  int crl_shards() const { return config_.crl_shards; }
  const Clock& clock() const { return clock_; }
  const AuthorityConfig& config() const { return config_; }

  // Writes the audit rows of refusal windows that have closed (all of them
  // with `everything`, at shutdown); returns how many.
  std::size_t flush_refusals(bool everything);
  // Compares this server's clock with the database's and remembers the
  // verdict; returns the skew. Issuing and publishing are refused while the
  // skew is past the tolerance.
  Duration check_clock();
  // Empty while the clock is in step, else the one-line reason.
  std::optional<std::string> clock_problem() const { return clock_check_.problem(); }

 private:
  // What the authority issues and publishes with, for one version of the
  // CA's keys; replaced whole by reload(), read whole by every call.
  struct Keys {
    std::shared_ptr<const CaKeyRing> ring;
    std::map<int, std::shared_ptr<const CertificateIssuer>> issuers;
    std::map<int, std::shared_ptr<const CrlPublisher>> publishers;
    std::map<int, CaCertificateView> views;
    CaCertificateView active_view;
    const CertificateIssuer& issuer() const { return *issuers.at(ring->active().generation); }
    const CrlPublisher& publisher(int generation) const;
  };
  std::shared_ptr<const Keys> keys() const { return std::atomic_load(&keys_); }
  std::shared_ptr<const Keys> make_keys(std::shared_ptr<const CaKeyRing> ring) const;

  store::Store& store_;
  CertificateProfile profile_;
  const Clock& clock_;
  Botan::RandomNumberGenerator& rng_;
  // Revokes `revoked` (already marked in tx) on their keys' shards' CRLs:
  // publishes each shard once, appends the revocation events and audit rows.
  std::vector<PublishedCrl> publish_revocations(store::Tx& tx, const Keys& keys,
                                                const std::vector<store::CertificateRow>& revoked,
                                                const std::string& actor, TimePoint now);
  // The same with an actor for each revoked certificate (a batch of reissues).
  std::vector<PublishedCrl> publish_revocations(store::Tx& tx, const Keys& keys,
                                                const std::vector<store::CertificateRow>& revoked,
                                                const std::vector<std::string>& actors,
                                                TimePoint now);
  // A reissue request, checked as far as it can be without the database.
  struct ReissueJob;
  ReissueJob prepare_reissue(const ReissueRequest& request);
  Reissue reissue_alone(const ReissueJob& job);
  std::vector<ReissueOutcome> run_reissue_batch(const std::vector<const ReissueJob*>& jobs);
  // The writes of one reissue once its host's certificates are revoked and
  // published: the new certificate, the token's use, the window's end,
  // the audit rows. The one-request path and the batch share it.
  struct ReissueWrite {
    const store::HostRow& host;
    const HostName& hostname;
    const std::vector<HostName>& aliases;
    const CertificateRequest& csr;
    const Bytes& key_hash;
    const std::optional<store::TokenRow>& token;  // none: an auto-reissue window
    const std::string& actor;
    const std::vector<store::CertificateRow>& revoked;
    bool renamed = false;
    std::vector<std::string> released;
  };
  Reissue write_reissue(store::Tx& tx, const Keys& keys, const ReissueWrite& write, TimePoint now);
  void notify_published(const std::vector<PublishedCrl>& published) const;
  void notify_committed(const OperationOutcome& outcome) const {
    if (outcome_listener_) outcome_listener_(outcome);
  }

  // An unknown (or malformed) token from `address`: counted as a guess;
  // past the address's budget the refusal is RESOURCE_EXHAUSTED instead of
  // `refusal`, and audited once per window. Always throws.
  [[noreturn]] void refuse_unknown_token(const std::string& address, SecretKind kind,
                                         const Error& refusal);
  // SecretToken::parse, counting a malformed token as a guess.
  SecretToken parse_token(const std::string& text, SecretKind kind, const std::string& address);
  // A real token refused (expired, used up, deleted, another host's): not a
  // guess, audited in aggregate per token and address.
  void audit_refused_token(const std::string& address, const store::TokenRow& token,
                           const std::string& why);

  AuthorityConfig config_;
  std::unique_ptr<AttemptLimiter> attempts_;
  std::unique_ptr<AttemptLimiter> reports_;
  std::unique_ptr<RefusalTally> refusals_;
  ClockCheck clock_check_;
  std::shared_ptr<const Keys> keys_;
  std::function<void(const PublishedCrl&)> crl_listener_;
  std::function<void(const OperationOutcome&)> outcome_listener_;
  std::unique_ptr<Batcher<ReissueJob, ReissueOutcome>> reissue_batcher_;
};

// The presented certificate (PEM), if one of the ring's keys issued it;
// throws Error(kUnauthenticated) otherwise. Time and revocation are the
// caller's to check.
Botan::X509_Certificate our_certificate(const std::string& pem, const CaKeyRing& ring);

// The audit subject of a CRL publication: the shard for the first key,
// "generation:shard" for later ones.
std::string crl_subject(int ca_generation, int shard);

// Refuses a key that any certificate already names: one key, one host, one
// certificate. `operation` ("a reissue") words the refusal for the host's own
// earlier key.
void require_new_key(store::CertificateTx& tx, const Bytes& key_hash, const std::string& host_id,
                     const std::string& operation);

// Checks a host's names against the CA's name policy (and a token's
// patterns); throws Error(kInvalidArgument) naming the rule one breaks.
void check_names(const NamePolicy& policy, const HostName& hostname,
                 const std::vector<HostName>& aliases,
                 const std::vector<NamePattern>& token_patterns = {});

// Throws the error for names the register says someone else holds: the CA
// server's own names are never a host's (kInvalidArgument); another host's
// stay with it (kAlreadyExists), and the message does not say which host.
// Does nothing when `held` is empty.
void refuse_held_names(const std::vector<store::NameHolder>& held, const HostName& hostname);

// The host name and aliases as strings, in certificate order.
std::vector<std::string> name_texts(const std::vector<HostName>& names);

// Throws the error that tells the holder of `token` why it cannot be used.
void require_usable(const std::optional<store::TokenRow>& token, TimePoint now, SecretKind kind);

// Creates an admin key; used by the AdminService and, for recovery, by
// `hostca-server admin-key` with database access only.
CreatedAdminKey create_admin_key(store::Store& store, const Clock& clock,
                                 Botan::RandomNumberGenerator& rng, const Actor& actor,
                                 const std::string& name);

// Checks free text an admin gives (names, reasons); throws kInvalidArgument.
std::string checked_label(const std::string& text, const std::string& what, std::size_t max);

}  // namespace hostca
