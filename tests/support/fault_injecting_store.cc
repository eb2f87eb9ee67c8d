#include "support/fault_injecting_store.h"

#include <map>
#include <utility>

#include "common/error.h"

namespace hostca::testing {

using namespace store;

// Forwards each call after FaultInjectingStore::before had its say.
class FaultInjectingStore::RecordingTx final : public Tx {
 public:
  RecordingTx(Tx& real, FaultInjectingStore& owner) : real_(real), owner_(owner) {}

  std::vector<std::string> calls;
  std::vector<CrlShardRow> saved_crls;
  std::vector<EntriesRead> entry_reads;

  std::optional<CaRow> find_ca() override {
    hit("find_ca");
    return real_.find_ca();
  }
  void insert_ca(const CaRow& ca) override {
    hit("insert_ca");
    real_.insert_ca(ca);
  }
  bool record_crl_base_url(const std::string& url) override {
    hit("record_crl_base_url");
    return real_.record_crl_base_url(url);
  }
  TimePoint database_time() override {
    hit("database_time");
    return real_.database_time();
  }
  void lock_ca() override {
    hit("lock_ca");
    real_.lock_ca();
  }
  std::vector<CaKeyRow> list_ca_keys() override {
    hit("list_ca_keys");
    return real_.list_ca_keys();
  }
  void insert_ca_key(const CaKeyRow& key) override {
    hit("insert_ca_key");
    real_.insert_ca_key(key);
  }
  bool set_ca_key_state(int generation, const std::string& from, const std::string& to) override {
    hit("set_ca_key_state");
    return real_.set_ca_key_state(generation, from, to);
  }

  void insert_token(const TokenRow& token) override {
    hit("insert_token");
    real_.insert_token(token);
  }
  std::optional<TokenRow> find_token_for_update(const Bytes& token_hash) override {
    hit("find_token_for_update");
    return real_.find_token_for_update(token_hash);
  }
  std::optional<TokenRow> find_token_by_id(const std::string& token_id) override {
    hit("find_token_by_id");
    return real_.find_token_by_id(token_id);
  }
  void count_token_use(const std::string& token_id) override {
    hit("count_token_use");
    real_.count_token_use(token_id);
  }
  void mark_token_deleted(const std::string& token_id, TimePoint at) override {
    hit("mark_token_deleted");
    real_.mark_token_deleted(token_id, at);
  }
  std::vector<TokenRow> list_tokens(bool include_deleted) override {
    hit("list_tokens");
    return real_.list_tokens(include_deleted);
  }

  std::optional<HostRow> find_host(const std::string& host_id) override {
    hit("find_host");
    return real_.find_host(host_id);
  }
  std::vector<HostSummaryRow> list_hosts(const HostQuery& query) override {
    hit("list_hosts");
    return real_.list_hosts(query);
  }
  std::optional<HostRow> lock_host(const std::string& host_id) override {
    hit("lock_host");
    return real_.lock_host(host_id);
  }
  std::vector<NameHolder> assign_host_names(const std::string& host_id, const std::string& hostname,
                                            const std::vector<std::string>& aliases,
                                            TimePoint now) override {
    hit("assign_host_names");
    return real_.assign_host_names(host_id, hostname, aliases, now);
  }
  bool release_host_name(const std::string& host_id, const std::string& name) override {
    hit("release_host_name");
    return real_.release_host_name(host_id, name);
  }
  void record_trusted_cas(const std::string& host_id, const std::vector<std::string>& spkis,
                          TimePoint at) override {
    hit("record_trusted_cas");
    real_.record_trusted_cas(host_id, spkis, at);
  }
  std::int64_t count_hosts() override {
    hit("count_hosts");
    return real_.count_hosts();
  }
  DashboardCounts count_for_dashboard(TimePoint now) override {
    hit("count_for_dashboard");
    return real_.count_for_dashboard(now);
  }
  std::int64_t count_hosts_reporting_trust() override {
    hit("count_hosts_reporting_trust");
    return real_.count_hosts_reporting_trust();
  }
  std::int64_t count_hosts_trusting(const std::string& spki_sha256) override {
    hit("count_hosts_trusting");
    return real_.count_hosts_trusting(spki_sha256);
  }
  std::vector<NameHolder> reserve_server_names(const std::vector<std::string>& names,
                                               TimePoint now) override {
    hit("reserve_server_names");
    return real_.reserve_server_names(names, now);
  }
  void set_auto_reissue_until(const std::string& host_id, std::optional<TimePoint> until) override {
    hit("set_auto_reissue_until");
    real_.set_auto_reissue_until(host_id, until);
  }
  void set_certificate_failure(const std::string& host_id, std::optional<TimePoint> at,
                               const std::string& detail, bool verified) override {
    hit("set_certificate_failure");
    real_.set_certificate_failure(host_id, at, detail, verified);
  }

  EnrolmentPreview preview_enrolment(const Bytes& token_hash, const Bytes& spki_sha256) override {
    hit("preview_enrolment");
    return real_.preview_enrolment(token_hash, spki_sha256);
  }
  EnrolmentResult enrol(const Bytes& token_hash, bool name_patterns_checked, const HostRow& host,
                        const CertificateRow& certificate,
                        const std::vector<AuditRow>& audit) override {
    hit("enrol");
    return real_.enrol(token_hash, name_patterns_checked, host, certificate, audit);
  }
  void insert_certificate(const CertificateRow& certificate) override {
    hit("insert_certificate");
    real_.insert_certificate(certificate);
  }
  std::vector<CertificateRow> list_host_certificates(const std::string& host_id) override {
    hit("list_host_certificates");
    return real_.list_host_certificates(host_id);
  }
  std::optional<std::string> find_host_with_key(const Bytes& spki_sha256,
                                                const std::string& host_id) override {
    hit("find_host_with_key");
    return real_.find_host_with_key(spki_sha256, host_id);
  }
  std::optional<std::string> host_of_certificate(const std::string& serial_hex) override {
    hit("host_of_certificate");
    return real_.host_of_certificate(serial_hex);
  }
  std::optional<CertificateRow> find_certificate_for_update(
      const std::string& serial_hex) override {
    hit("find_certificate_for_update");
    return real_.find_certificate_for_update(serial_hex);
  }
  std::vector<CertificateRow> revoke_host_certificates(const std::string& host_id, TimePoint now,
                                                       int reason) override {
    hit("revoke_host_certificates");
    return real_.revoke_host_certificates(host_id, now, reason);
  }
  void revoke_certificate(const std::string& serial_hex, TimePoint now, int reason) override {
    hit("revoke_certificate");
    real_.revoke_certificate(serial_hex, now, reason);
  }

  void create_crl_shards(int ca_generation, int count) override {
    hit("create_crl_shards");
    real_.create_crl_shards(ca_generation, count);
  }
  CrlShardRow lock_crl_shard(int ca_generation, int shard) override {
    hit("lock_crl_shard");
    return real_.lock_crl_shard(ca_generation, shard);
  }
  std::optional<std::pair<int, int>> lock_due_crl_shard(
      TimePoint due, const std::vector<int>& ca_generations) override {
    hit("lock_due_crl_shard");
    return real_.lock_due_crl_shard(due, ca_generations);
  }
  std::vector<CrlEntryRow> list_crl_entries(int ca_generation, int shard) override {
    hit("list_crl_entries");
    auto entries = real_.list_crl_entries(ca_generation, shard);
    entry_reads.push_back(EntriesRead{shard, entries, ca_generation});
    return entries;
  }
  void save_crl(const CrlShardRow& crl) override {
    hit("save_crl");
    real_.save_crl(crl);
    saved_crls.push_back(crl);
  }
  void retire_expired_crl_entries(int ca_generation, int shard, TimePoint this_update) override {
    hit("retire_expired_crl_entries");
    real_.retire_expired_crl_entries(ca_generation, shard, this_update);
  }
  std::vector<CrlShardRow> list_crls(std::optional<int> ca_generation,
                                     std::optional<int> shard) override {
    hit("list_crls");
    return real_.list_crls(ca_generation, shard);
  }
  std::vector<CrlShardRow> list_crl_heads() override {
    hit("list_crl_heads");
    return real_.list_crl_heads();
  }

  void append_revocation_event(const RevocationEventRow& event, int position) override {
    hit("append_revocation_event");
    real_.append_revocation_event(event, position);
  }
  std::vector<RevocationEventRow> list_revocation_events(std::int64_t after_sequence,
                                                         std::uint32_t limit) override {
    hit("list_revocation_events");
    return real_.list_revocation_events(after_sequence, limit);
  }
  std::int64_t revocation_stream_head() override {
    hit("revocation_stream_head");
    return real_.revocation_stream_head();
  }
  std::int64_t count_valid_certificates_of_key(int ca_generation, TimePoint now) override {
    hit("count_valid_certificates_of_key");
    return real_.count_valid_certificates_of_key(ca_generation, now);
  }
  std::int64_t count_hosts_only_on_key(int ca_generation, TimePoint now) override {
    hit("count_hosts_only_on_key");
    return real_.count_hosts_only_on_key(ca_generation, now);
  }
  std::vector<CertificateRow> revoke_certificates_of_key(int ca_generation, TimePoint now,
                                                         int reason) override {
    hit("revoke_certificates_of_key");
    return real_.revoke_certificates_of_key(ca_generation, now, reason);
  }
  std::int64_t count_certificates_expiring(TimePoint from, TimePoint to) override {
    hit("count_certificates_expiring");
    return real_.count_certificates_expiring(from, to);
  }

  void insert_admin_key(const AdminKeyRow& key) override {
    hit("insert_admin_key");
    real_.insert_admin_key(key);
  }
  std::optional<AdminKeyRow> find_admin_key(const Bytes& key_hash) override {
    hit("find_admin_key");
    return real_.find_admin_key(key_hash);
  }
  void insert_admin_session(const AdminSessionRow& session) override {
    hit("insert_admin_session");
    real_.insert_admin_session(session);
  }
  std::optional<AdminSessionRow> find_admin_session(const Bytes& token_hash) override {
    hit("find_admin_session");
    return real_.find_admin_session(token_hash);
  }
  void touch_admin_session(const std::string& session_id, TimePoint at) override {
    hit("touch_admin_session");
    real_.touch_admin_session(session_id, at);
  }
  bool end_admin_session(const std::string& session_id, TimePoint at) override {
    hit("end_admin_session");
    return real_.end_admin_session(session_id, at);
  }

  void append_audit(const AuditRow& row) override {
    hit("append_audit", row.action);
    real_.append_audit(row);
  }
  std::vector<AuditRow> list_audit(const AuditFilter& filter) override {
    hit("list_audit");
    return real_.list_audit(filter);
  }
  std::vector<AuditRow> list_latest_audit(std::uint32_t limit) override {
    hit("list_latest_audit");
    return real_.list_latest_audit(limit);
  }

 private:
  void hit(const std::string& method, const std::string& audit_action = "") {
    owner_.before(method, ++counts_[method], audit_action, calls);
  }

  Tx& real_;
  FaultInjectingStore& owner_;
  std::map<std::string, int> counts_;
};

void FaultInjectingStore::fail_at(const std::string& method, int occurrence) {
  std::lock_guard<std::mutex> lock(mu_);
  fault_ = Fault{method, occurrence, ""};
  fired_ = false;
}

void FaultInjectingStore::fail_at_audit(const std::string& action) {
  std::lock_guard<std::mutex> lock(mu_);
  fault_ = Fault{"append_audit", 0, action};
  fired_ = false;
}

bool FaultInjectingStore::fault_fired() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fired_;
}

std::map<std::string, int> FaultInjectingStore::take_call_counts() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(call_counts_, {});
}

std::vector<std::string> FaultInjectingStore::last_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_calls_;
}

std::vector<store::CrlShardRow> FaultInjectingStore::committed_crls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return committed_crls_;
}

std::vector<FaultInjectingStore::EntriesRead> FaultInjectingStore::committed_entry_reads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return committed_entry_reads_;
}

void FaultInjectingStore::before(const std::string& method, int occurrence,
                                 const std::string& audit_action, std::vector<std::string>& calls) {
  calls.push_back(method);
  std::lock_guard<std::mutex> lock(mu_);
  last_calls_ = calls;
  ++call_counts_[method];
  if (!fault_ || fault_->method != method) return;
  const bool match = fault_->audit_action.empty() ? fault_->occurrence == occurrence
                                                  : fault_->audit_action == audit_action;
  if (!match) return;
  fault_.reset();
  fired_ = true;
  throw internal_error("fault injected at " + method +
                       (audit_action.empty() ? "" : " (" + audit_action + ")"));
}

void FaultInjectingStore::transact(const std::function<void(Tx&)>& work) { run(work, false); }

void FaultInjectingStore::autocommit(const std::function<void(Tx&)>& work) { run(work, true); }

void FaultInjectingStore::run(const std::function<void(Tx&)>& work, bool autocommit) {
  std::vector<CrlShardRow> saved;
  std::vector<EntriesRead> reads;
  const auto unit = [&](Tx& real) {
    RecordingTx tx(real, *this);
    try {
      work(tx);
    } catch (...) {
      saved.clear();
      reads.clear();
      throw;
    }
    // A retried attempt replaces what an earlier one recorded.
    saved = std::move(tx.saved_crls);
    reads = std::move(tx.entry_reads);
  };
  if (autocommit) {
    inner_.autocommit(unit);
  } else {
    inner_.transact(unit);
  }
  // The inner store returned: the unit of work committed.
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : saved) committed_crls_.push_back(std::move(c));
  for (auto& r : reads) committed_entry_reads_.push_back(std::move(r));
}

}  // namespace hostca::testing
