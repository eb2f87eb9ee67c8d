// The PostgreSQL unit of work: every statement the domain can ask for, as a
// prepared statement on a pqxx transaction (or, for PgStore::autocommit,
// on a nontransaction: each statement commits on its own).
#pragma once

#include <pqxx/connection>
#include <pqxx/transaction>

#include "store/store.h"

namespace hostca::store {

// store/pg_sql.h defines these; the .cc files that run statements include it.
struct Statement;
template <typename... Args>
pqxx::result run(pqxx::transaction_base& w, const Statement& s, Args&&... args);

class PgTx final : public Tx {
 public:
  explicit PgTx(pqxx::transaction_base& w) : w_(w) {}
  // Registers every prepared statement on a new connection.
  static void prepare(pqxx::connection& conn);

  std::optional<CaRow> find_ca() override;
  void insert_ca(const CaRow& ca) override;
  bool record_crl_base_url(const std::string& url) override;
  TimePoint database_time() override;
  void lock_ca() override;
  std::vector<CaKeyRow> list_ca_keys() override;
  void insert_ca_key(const CaKeyRow& key) override;
  bool set_ca_key_state(int generation, const std::string& from, const std::string& to) override;
  void record_trusted_cas(const std::string& host_id, const std::vector<std::string>& spkis,
                          TimePoint at) override;
  std::int64_t count_hosts() override;
  DashboardCounts count_for_dashboard(TimePoint now) override;
  std::int64_t count_hosts_reporting_trust() override;
  std::int64_t count_hosts_trusting(const std::string& spki_sha256) override;
  std::int64_t count_valid_certificates_of_key(int ca_generation, TimePoint now) override;
  std::int64_t count_hosts_only_on_key(int ca_generation, TimePoint now) override;
  std::vector<CertificateRow> revoke_certificates_of_key(int ca_generation, TimePoint now,
                                                         int reason) override;

  void insert_token(const TokenRow& token) override;
  std::optional<TokenRow> find_token_for_update(const Bytes& token_hash) override;
  std::vector<std::optional<TokenRow>> lock_tokens(const std::vector<Bytes>& token_hashes) override;
  std::optional<TokenRow> find_token_by_id(const std::string& token_id) override;
  void count_token_use(const std::string& token_id) override;
  void mark_token_deleted(const std::string& token_id, TimePoint at) override;
  std::vector<TokenRow> list_tokens(bool include_deleted) override;

  std::optional<HostRow> find_host(const std::string& host_id) override;
  std::vector<HostSummaryRow> list_hosts(const HostQuery& query) override;

  std::optional<HostRow> lock_host(const std::string& host_id) override;
  std::vector<std::optional<HostRow>> lock_hosts(const std::vector<std::string>& host_ids) override;
  std::vector<NameHolder> claim_own_names(const std::vector<HostRow>& hosts,
                                          TimePoint now) override;
  std::vector<NameHolder> assign_host_names(const std::string& host_id, const std::string& hostname,
                                            const std::vector<std::string>& aliases,
                                            TimePoint now) override;
  bool release_host_name(const std::string& host_id, const std::string& name) override;
  std::vector<NameHolder> reserve_server_names(const std::vector<std::string>& names,
                                               TimePoint now) override;
  void set_auto_reissue_until(const std::string& host_id, std::optional<TimePoint> until) override;
  void set_certificate_failure(const std::string& host_id, std::optional<TimePoint> at,
                               const std::string& detail, bool verified) override;

  EnrolmentPreview preview_enrolment(const Bytes& token_hash, const Bytes& spki_sha256) override;
  EnrolmentResult enrol(const Bytes& token_hash, bool name_patterns_checked, const HostRow& host,
                        const CertificateRow& certificate,
                        const std::vector<AuditRow>& audit) override;
  // Several enrolments in one statement (migration 0009), one result each,
  // in order. On a nontransaction, a name claimed meanwhile by another
  // enrolment makes it call again.
  std::vector<EnrolmentResult> enrol_batch(const std::vector<const EnrolmentCall*>& calls);
  void insert_certificate(const CertificateRow& certificate) override;
  std::vector<CertificateRow> list_host_certificates(const std::string& host_id) override;
  std::optional<std::string> find_host_with_key(const Bytes& spki_sha256,
                                                const std::string& host_id) override;
  std::optional<CertificateRow> find_certificate_for_update(const std::string& serial_hex) override;
  std::optional<std::string> host_of_certificate(const std::string& serial_hex) override;
  std::vector<std::optional<std::string>> find_hosts_with_keys(
      const std::vector<std::pair<Bytes, std::string>>& keys) override;
  std::vector<CertificateRow> revoke_hosts_certificates(const std::vector<std::string>& host_ids,
                                                        TimePoint now, int reason) override;
  std::vector<CertificateRow> revoke_host_certificates(const std::string& host_id, TimePoint now,
                                                       int reason) override;
  void revoke_certificate(const std::string& serial_hex, TimePoint now, int reason) override;

  void create_crl_shards(int ca_generation, int count) override;
  CrlShardRow lock_crl_shard(int ca_generation, int shard) override;
  std::vector<CrlShardRow> lock_crl_shards(int ca_generation,
                                           const std::vector<int>& shards) override;
  std::vector<std::vector<CrlEntryRow>> list_crl_entries_of(
      int ca_generation, const std::vector<int>& shards) override;
  std::optional<std::pair<int, int>> lock_due_crl_shard(
      TimePoint due, const std::vector<int>& ca_generations) override;
  std::vector<CrlEntryRow> list_crl_entries(int ca_generation, int shard) override;
  void save_crl(const CrlShardRow& crl) override;
  void retire_expired_crl_entries(int ca_generation, int shard, TimePoint this_update) override;
  std::vector<CrlShardRow> list_crls(std::optional<int> ca_generation,
                                     std::optional<int> shard) override;
  std::vector<CrlShardRow> list_crl_heads() override;

  void append_revocation_event(const RevocationEventRow& event, int position) override;
  std::vector<RevocationEventRow> list_revocation_events(std::int64_t after_sequence,
                                                         std::uint32_t limit) override;
  std::int64_t revocation_stream_head() override;
  std::int64_t count_certificates_expiring(TimePoint from, TimePoint to) override;

  void insert_admin_key(const AdminKeyRow& key) override;
  std::optional<AdminKeyRow> find_admin_key(const Bytes& key_hash) override;
  void insert_admin_session(const AdminSessionRow& session) override;
  std::optional<AdminSessionRow> find_admin_session(const Bytes& token_hash) override;
  void touch_admin_session(const std::string& session_id, TimePoint at) override;
  bool end_admin_session(const std::string& session_id, TimePoint at) override;

  // Audit rows wait in the unit of work and go to the database at flush(),
  // with the held writes: a reissue appends four, and each round trip costs
  // more than the insert.
  void append_audit(const AuditRow& row) override;
  std::vector<AuditRow> list_audit(const AuditFilter& filter) override;
  std::vector<AuditRow> list_latest_audit(std::uint32_t limit) override;

  // Writes what waits (the held writes and the audit rows) in one call of
  // migration 0010's hostca_write; PgStore calls it before COMMIT.
  void flush();

 private:
  // Every statement of this class goes through here: the held writes go
  // first, so that statements keep the order the unit of work gave them.
  template <typename... Args>
  pqxx::result run(pqxx::transaction_base& w, const Statement& s, Args&&... args) {
    write_held();
    return store::run(w, s, std::forward<Args>(args)...);
  }
  // Writes that nothing reads back before commit wait here (as JSON
  // operations of hostca_write): a revocation event, a certificate, a
  // token's use, an auto-reissue window, a CRL (its DER in held_crls_).
  void hold(std::string op_json) { held_.push_back(std::move(op_json)); }
  void write_held();

  pqxx::transaction_base& w_;
  std::vector<std::string> held_;
  // The DER of the CRLs held (save_crl), which the held operations name by
  // their place in this array, from 1.
  std::vector<Bytes> held_crls_;
  std::vector<AuditRow> pending_audit_;
};

}  // namespace hostca::store
