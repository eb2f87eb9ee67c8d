// The storage interface the domain depends on, in business words, split
// into the roles a business operation plays (as Boulder's sa/proto/subsets.go
// does): each domain part takes only the roles it uses. All SQL lives behind
// them (store/pg_*.cc, one file per concept). A business operation runs in
// one unit of work: Store::transact hands the domain a Tx, which plays every
// role, commits when the function returns and rolls back when it throws.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "store/rows.h"

namespace hostca::store {

// The CA itself and the database's clock.
class CaTx {
 public:
  virtual ~CaTx() = default;
  virtual std::optional<CaRow> find_ca() = 0;
  // Inserts the CA; throws Error(kAlreadyExists) if one exists.
  virtual void insert_ca(const CaRow& ca) = 0;
  // Records the CA's CRL base URL where none is on record yet; false if one is.
  virtual bool record_crl_base_url(const std::string& url) = 0;
  // The database's clock (clock_timestamp()), the one clock servers are held to.
  virtual TimePoint database_time() = 0;
  // Locks the CA row until the end of the unit of work: CA key changes (a
  // rollover's steps) happen one after the other.
  virtual void lock_ca() = 0;

  // The CA's keys (migration 0007), oldest first.
  virtual std::vector<CaKeyRow> list_ca_keys() = 0;
  virtual void insert_ca_key(const CaKeyRow& key) = 0;
  // Moves a key from one state to another; false if it was not in `from`.
  virtual bool set_ca_key_state(int generation, const std::string& from, const std::string& to) = 0;
};

// Authorization and reissue tokens.
class TokenTx {
 public:
  virtual ~TokenTx() = default;
  // find_token_for_update locks the row until the end of the unit of
  // work, so concurrent uses of one token are counted one after the other.
  virtual void insert_token(const TokenRow& token) = 0;
  virtual std::optional<TokenRow> find_token_for_update(const Bytes& token_hash) = 0;
  virtual std::optional<TokenRow> find_token_by_id(const std::string& token_id) = 0;
  virtual void count_token_use(const std::string& token_id) = 0;
  virtual void mark_token_deleted(const std::string& token_id, TimePoint at) = 0;
  virtual std::vector<TokenRow> list_tokens(bool include_deleted) = 0;

  // The batch forms below (a batch of reissues) do what the one-row forms
  // do, for every item, in the order given (callers sort, so that batches
  // lock in one order); one result per item. The PostgreSQL store does each
  // in one statement; these defaults call the one-row forms.
  virtual std::vector<std::optional<TokenRow>> lock_tokens(const std::vector<Bytes>& token_hashes) {
    std::vector<std::optional<TokenRow>> out;
    for (const auto& h : token_hashes) out.push_back(find_token_for_update(h));
    return out;
  }
};

// Hosts and the register of their names.
class HostTx {
 public:
  virtual ~HostTx() = default;
  virtual std::optional<HostRow> find_host(const std::string& host_id) = 0;
  virtual std::vector<HostSummaryRow> list_hosts(const HostQuery& query) = 0;
  // Locks the host row until the end of the unit of work.
  virtual std::optional<HostRow> lock_host(const std::string& host_id) = 0;
  // Batch form (see TokenTx::lock_tokens).
  virtual std::vector<std::optional<HostRow>> lock_hosts(const std::vector<std::string>& host_ids) {
    std::vector<std::optional<HostRow>> out;
    for (const auto& id : host_ids) out.push_back(lock_host(id));
    return out;
  }

  // Names (the register of migration 0005). Each name given is claimed for
  // the host and locked until the end of the unit of work; the host's other
  // names are released; the host's record is set to these names. Returns
  // the names someone else holds: if any comes back, the unit of work must
  // not commit (throw).
  virtual std::vector<NameHolder> assign_host_names(const std::string& host_id,
                                                    const std::string& hostname,
                                                    const std::vector<std::string>& aliases,
                                                    TimePoint now) = 0;
  // Each host claims again the names on its own record (a reissue that
  // keeps them): assign_host_names with the host's own names, for every
  // host; the names someone else holds, of all of them.
  virtual std::vector<NameHolder> claim_own_names(const std::vector<HostRow>& hosts,
                                                  TimePoint now) {
    std::vector<NameHolder> out;
    for (const auto& h : hosts) {
      for (auto& held : assign_host_names(h.host_id, h.hostname, h.aliases, now)) {
        out.push_back(std::move(held));
      }
    }
    return out;
  }
  // Gives up one name of the host (and takes it off the host's record);
  // false if the host does not hold it.
  virtual bool release_host_name(const std::string& host_id, const std::string& name) = 0;
  // Which CA keys (SPKI SHA-256) a host's agent says it trusts.
  virtual void record_trusted_cas(const std::string& host_id, const std::vector<std::string>& spkis,
                                  TimePoint at) = 0;
  // Hosts on record, hosts that reported what they trust, and for each CA key
  // (SPKI SHA-256) how many hosts trust it.
  virtual std::int64_t count_hosts() = 0;
  // Hosts by state (HostState, as of `now`) and usable tokens, in one read.
  virtual DashboardCounts count_for_dashboard(TimePoint now) = 0;
  virtual std::int64_t count_hosts_reporting_trust() = 0;
  virtual std::int64_t count_hosts_trusting(const std::string& spki_sha256) = 0;
  // Reserves names for the CA server itself; returns those a host holds.
  virtual std::vector<NameHolder> reserve_server_names(const std::vector<std::string>& names,
                                                       TimePoint now) = 0;
  virtual void set_auto_reissue_until(const std::string& host_id,
                                      std::optional<TimePoint> until) = 0;
  // Marks (or, with no time, clears) a reported certificate failure;
  // `verified` when the reporter presented the host's valid certificate.
  virtual void set_certificate_failure(const std::string& host_id, std::optional<TimePoint> at,
                                       const std::string& detail, bool verified) = 0;
};

// Host (and server) certificates and their revocation.
class CertificateTx {
 public:
  virtual ~CertificateTx() = default;
  virtual void insert_certificate(const CertificateRow& certificate) = 0;
  virtual std::vector<CertificateRow> list_host_certificates(const std::string& host_id) = 0;
  // A host other than `host_id` (empty: any host) with a certificate for this key.
  virtual std::optional<std::string> find_host_with_key(const Bytes& spki_sha256,
                                                        const std::string& host_id) = 0;
  // Batch form (see TokenTx::lock_tokens): (key, host) pairs.
  virtual std::vector<std::optional<std::string>> find_hosts_with_keys(
      const std::vector<std::pair<Bytes, std::string>>& keys) {
    std::vector<std::optional<std::string>> out;
    for (const auto& [key, host] : keys) out.push_back(find_host_with_key(key, host));
    return out;
  }
  virtual std::optional<CertificateRow> find_certificate_for_update(
      const std::string& serial_hex) = 0;
  // The host a certificate belongs to (empty for the server's own; none
  // for an unknown serial), without a lock: to lock the host row before
  // the certificate's, in the order a reissue takes them.
  virtual std::optional<std::string> host_of_certificate(const std::string& serial_hex) = 0;
  // Revokes the host's certificates that are unrevoked and unexpired at
  // `now`; returns them as they are now.
  virtual std::vector<CertificateRow> revoke_host_certificates(const std::string& host_id,
                                                               TimePoint now, int reason) = 0;
  // Batch form (see TokenTx::lock_tokens): every host's, hosts in the order given.
  virtual std::vector<CertificateRow> revoke_hosts_certificates(
      const std::vector<std::string>& host_ids, TimePoint now, int reason) {
    std::vector<CertificateRow> out;
    for (const auto& id : host_ids) {
      for (auto& c : revoke_host_certificates(id, now, reason)) out.push_back(std::move(c));
    }
    return out;
  }
  virtual void revoke_certificate(const std::string& serial_hex, TimePoint now, int reason) = 0;
  // Unrevoked, unexpired host certificates a CA key issued.
  virtual std::int64_t count_valid_certificates_of_key(int ca_generation, TimePoint now) = 0;
  // Hosts whose every valid certificate is from this CA key: the hosts a
  // rollover has not moved to a newer key yet.
  virtual std::int64_t count_hosts_only_on_key(int ca_generation, TimePoint now) = 0;
  // Revokes them all; returns them as they are now.
  virtual std::vector<CertificateRow> revoke_certificates_of_key(int ca_generation, TimePoint now,
                                                                 int reason) = 0;

  // Unrevoked host certificates whose notAfter is in (from, to].
  virtual std::int64_t count_certificates_expiring(TimePoint from, TimePoint to) = 0;
};

// CRL shards and the revocation stream.
class CrlTx {
 public:
  virtual ~CrlTx() = default;
  // lock_crl_shard orders publication of one shard across
  // servers until the end of the unit of work.
  // A CA key's shards (and its CA scope), all of them at CRL number 0.
  virtual void create_crl_shards(int ca_generation, int count) = 0;
  // The row comes back without its DER (empty), with the database's time.
  virtual CrlShardRow lock_crl_shard(int ca_generation, int shard) = 0;
  // Batch forms (see TokenTx::lock_tokens) for several shards of one key.
  virtual std::vector<CrlShardRow> lock_crl_shards(int ca_generation,
                                                   const std::vector<int>& shards) {
    std::vector<CrlShardRow> out;
    for (int s : shards) out.push_back(lock_crl_shard(ca_generation, s));
    return out;
  }
  virtual std::vector<std::vector<CrlEntryRow>> list_crl_entries_of(
      int ca_generation, const std::vector<int>& shards) {
    std::vector<std::vector<CrlEntryRow>> out;
    for (int s : shards) out.push_back(list_crl_entries(ca_generation, s));
    return out;
  }
  // The first shard of one of `ca_generations` due (next_update at or
  // before `due`) that no other server is publishing, locked, as
  // (generation, shard); none if every due shard is taken.
  virtual std::optional<std::pair<int, int>> lock_due_crl_shard(
      TimePoint due, const std::vector<int>& ca_generations) = 0;
  virtual std::vector<CrlEntryRow> list_crl_entries(int ca_generation, int shard) = 0;
  virtual void save_crl(const CrlShardRow& crl) = 0;
  // Entries on a CRL issued at `this_update` past their expiry leave later CRLs.
  virtual void retire_expired_crl_entries(int ca_generation, int shard, TimePoint this_update) = 0;
  // The CRLs of one key (or, with none, of every key): one shard
  // (kCaCrlScope for the CA scope) or, with none, every host shard.
  virtual std::vector<CrlShardRow> list_crls(std::optional<int> ca_generation,
                                             std::optional<int> shard) = 0;
  // Every CRL of every key, host shards and CA scopes, without the DER
  // (empty): what a cache compares with what it holds before it reads any
  // CRL. A CRL number of 0 is a shard never published.
  virtual std::vector<CrlShardRow> list_crl_heads() {
    std::vector<CrlShardRow> out = list_crls(std::nullopt, std::nullopt);
    for (auto& ca : list_crls(std::nullopt, kCaCrlScope)) out.push_back(std::move(ca));
    for (auto& row : out) row.der.clear();
    return out;
  }

  // The revocation stream. Events get sequence numbers that only grow in
  // the order readers may see them (see migration 0002): transaction ID
  // times 2^20 plus `position` (below 2^20) since migration 0006.
  virtual void append_revocation_event(const RevocationEventRow& event, int position) = 0;
  // Events after `after_sequence` whose transactions are settled, oldest first.
  virtual std::vector<RevocationEventRow> list_revocation_events(std::int64_t after_sequence,
                                                                 std::uint32_t limit) = 0;
  // A position before every event not yet settled: "from now".
  virtual std::int64_t revocation_stream_head() = 0;
};

// Admin keys.
class AdminKeyTx {
 public:
  virtual ~AdminKeyTx() = default;
  virtual void insert_admin_key(const AdminKeyRow& key) = 0;
  virtual std::optional<AdminKeyRow> find_admin_key(const Bytes& key_hash) = 0;

  // Console sessions (migration 0013).
  virtual void insert_admin_session(const AdminSessionRow& session) = 0;
  virtual std::optional<AdminSessionRow> find_admin_session(const Bytes& token_hash) = 0;
  // Moves last_seen_at forward to `at` while the session has not ended.
  virtual void touch_admin_session(const std::string& session_id, TimePoint at) = 0;
  // Ends it; false if it had ended already (or does not exist).
  virtual bool end_admin_session(const std::string& session_id, TimePoint at) = 0;
};

// The audit log: append only.
class AuditTx {
 public:
  virtual ~AuditTx() = default;
  virtual void append_audit(const AuditRow& row) = 0;
  virtual std::vector<AuditRow> list_audit(const AuditFilter& filter) = 0;
  // The newest `limit` rows, newest first.
  virtual std::vector<AuditRow> list_latest_audit(std::uint32_t limit) = 0;
};

// An enrolment as one round trip (it touches hosts, names, certificates,
// tokens and the audit log at once).
// What an enrolment needs to know before it signs: the token (by hash) and
// the host already certified for the CSR's key, if any.
struct EnrolmentPreview {
  std::optional<TokenRow> token;
  std::optional<std::string> key_holder;
};

struct EnrolmentResult {
  enum class Outcome {
    kEnrolled,       // token_id: the token used
    kUnknownToken,   // no authorization token has the hash
    kTokenUnusable,  // token_id: used up, expired or deleted (preview it to say which)
    kNamePatterns,   // allowed_names: the token limits names; check them, then call again
    kKeyHeld,        // key_holder: the host certified for the key
    kNamesHeld,      // names_held: the names someone else holds
  };
  Outcome outcome = Outcome::kEnrolled;
  std::string token_id;
  std::vector<std::string> allowed_names;
  std::optional<std::string> key_holder;
  std::vector<NameHolder> names_held;
};

class EnrolmentTx {
 public:
  virtual ~EnrolmentTx() = default;
  // One statement: the token (by hash) and the host certified for the key.
  virtual EnrolmentPreview preview_enrolment(const Bytes& token_hash, const Bytes& spki_sha256) = 0;
  // An enrolment in one statement, so one round trip (and, run by
  // Store::autocommit, its own transaction; migration 0009): finds the
  // authorization token by hash and locks it, checks that it is usable at
  // the host's created_at, that its name patterns were checked
  // (`name_patterns_checked`, needed only if it has any), that no host
  // holds the key and no one the names; only then writes the new host, the
  // claim of its names, its first certificate, one use of the token and the
  // audit rows. Audit rows with an empty actor get "token:<token_id>"; the
  // token.use row gets the token as its subject and "uses" and "max_uses"
  // as counted under the lock. Any check that fails writes nothing.
  virtual EnrolmentResult enrol(const Bytes& token_hash, bool name_patterns_checked,
                                const HostRow& host, const CertificateRow& certificate,
                                const std::vector<AuditRow>& audit) = 0;
};

// One enrolment's writes, for Store::enrol.
struct EnrolmentCall {
  Bytes token_hash;
  bool name_patterns_checked = false;
  HostRow host;
  CertificateRow certificate;
  std::vector<AuditRow> audit;
};

class Tx : public CaTx,
           public TokenTx,
           public HostTx,
           public CertificateTx,
           public CrlTx,
           public AdminKeyTx,
           public AuditTx,
           public EnrolmentTx {};

class Store {
 public:
  virtual ~Store() = default;
  // Runs work in one transaction; retries it on a serialization failure or
  // deadlock, so work must not have effects outside the Tx.
  virtual void transact(const std::function<void(Tx&)>& work) = 0;

  // Runs work without a surrounding transaction: each statement commits
  // on its own, and a failed statement changes nothing. For reads and for
  // single statements that are a whole unit of work (EnrolmentTx::enrol),
  // where BEGIN and COMMIT would be two more round trips. Retried like
  // transact. By default the same as transact.
  virtual void autocommit(const std::function<void(Tx&)>& work) { transact(work); }

  // EnrolmentTx::enrol as its own unit of work. PgStore writes the
  // enrolments that are ready at the same moment as one batch, one
  // statement and one commit (migration 0009); each still gets its own
  // outcome, as if it had run alone. By default, autocommit.
  virtual EnrolmentResult enrol(const EnrolmentCall& call) {
    return autocommit([&](Tx& tx) {
      return tx.enrol(call.token_hash, call.name_patterns_checked, call.host, call.certificate,
                      call.audit);
    });
  }

  template <typename Work, typename Result = std::invoke_result_t<Work&, Tx&>,
            typename = std::enable_if_t<!std::is_void_v<Result>>>
  Result autocommit(Work&& work) {
    std::optional<Result> result;
    autocommit(std::function<void(Tx&)>([&](Tx& tx) { result.emplace(work(tx)); }));
    return std::move(*result);
  }

  // The same for work that returns a value: the value of the attempt that
  // committed.
  template <typename Work, typename Result = std::invoke_result_t<Work&, Tx&>,
            typename = std::enable_if_t<!std::is_void_v<Result>>>
  Result transact(Work&& work) {
    std::optional<Result> result;
    transact(std::function<void(Tx&)>([&](Tx& tx) { result.emplace(work(tx)); }));
    return std::move(*result);
  }
};

}  // namespace hostca::store
