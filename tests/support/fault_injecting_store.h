// A Store decorator for tests. Its Tx forwards every call to the real one
// (a PgTx), records what was called, and throws at a chosen call: how a test
// proves that a failure at any step of a unit of work, the last one
// included, leaves the database as it was. It also keeps what committed
// units of work published (CRLs) and read (CRL entries), so a test can look
// at every CRL, not only the current one of each shard.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace hostca::testing {

class FaultInjectingStore final : public store::Store {
 public:
  explicit FaultInjectingStore(store::Store& inner) : inner_(inner) {}

  // The next unit of work that calls the Tx method `method` (its name, e.g.
  // "save_crl") for the `occurrence`-th time throws Error(kInternal) there,
  // before the call reaches the database. Fires once.
  void fail_at(const std::string& method, int occurrence = 1);
  // The same, at the append_audit of the row whose action is `action`.
  void fail_at_audit(const std::string& action);
  // Whether the armed fault has been thrown.
  bool fault_fired() const;

  // The Tx methods the most recent unit of work called, in order, up to and
  // including the one that failed.
  std::vector<std::string> last_calls() const;
  // How often each Tx method was called, over every unit of work since the
  // last time this was asked; and starts counting again.
  std::map<std::string, int> take_call_counts();

  // A list_crl_entries call of a committed unit of work and what it returned.
  struct EntriesRead {
    int shard = 0;
    std::vector<store::CrlEntryRow> entries;
    int ca_generation = 1;
  };
  // Every CRL saved by a unit of work that committed, in the order the
  // commits returned.
  std::vector<store::CrlShardRow> committed_crls() const;
  std::vector<EntriesRead> committed_entry_reads() const;

  void transact(const std::function<void(store::Tx&)>& work) override;
  void autocommit(const std::function<void(store::Tx&)>& work) override;

 private:
  class RecordingTx;
  friend class RecordingTx;
  void run(const std::function<void(store::Tx&)>& work, bool autocommit);

  struct Fault {
    std::string method;
    int occurrence = 1;
    std::string audit_action;  // non-empty: match append_audit by action
  };

  // Called by the Tx before each forwarded call; throws when the fault fires.
  void before(const std::string& method, int occurrence, const std::string& audit_action,
              std::vector<std::string>& calls);

  store::Store& inner_;
  mutable std::mutex mu_;
  std::optional<Fault> fault_;
  bool fired_ = false;
  std::vector<std::string> last_calls_;
  std::map<std::string, int> call_counts_;
  std::vector<store::CrlShardRow> committed_crls_;
  std::vector<EntriesRead> committed_entry_reads_;
};

}  // namespace hostca::testing
