#include "store/pg_store.h"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include "store/pg_errors.h"
#include "store/pg_tx.h"

namespace hostca::store {

Error database_error(const std::string& doing, const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    spdlog::error("database connection lost while trying to {}: {}", doing, e.what());
    return unavailable("the database cannot be reached; the server retries on the next call");
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    spdlog::error("database error while trying to {}: sqlstate {}: {}", doing, sql->sqlstate(),
                  e.what());
  } else {
    spdlog::error("database error while trying to {}: {}", doing, e.what());
  }
  return internal_error("a database error stopped the call to " + doing +
                        "; nothing was changed (see the server log)");
}

static_assert(std::is_base_of_v<Store, PgStore>);

namespace {
// Raised by migration 0007's trigger when a certificate would be inserted
// with a CA key that is not the active one.
const char* const kNotTheActiveCaKey = "HC001";
}  // namespace

PgStore::PgStore(PgStoreOptions options)
    : options_(std::move(options)),
      pool_(options_.conninfo, options_.pool_size, options_.acquire_timeout, &PgTx::prepare),
      enrolments_(
          [this](const std::vector<const EnrolmentCall*>& calls) {
            std::vector<EnrolmentResult> results;
            run<pqxx::nontransaction>(
                [&](Tx& tx) { results = static_cast<PgTx&>(tx).enrol_batch(calls); });
            return results;
          },
          options_.enrolment_batch, options_.enrolment_batches_at_once) {}

EnrolmentResult PgStore::enrol(const EnrolmentCall& call) { return enrolments_.run(call); }

void PgStore::transact(const std::function<void(Tx&)>& work) { run<pqxx::work>(work); }

void PgStore::autocommit(const std::function<void(Tx&)>& work) { run<pqxx::nontransaction>(work); }

template <typename Unit>
void PgStore::run(const std::function<void(Tx&)>& work) {
  for (int attempt = 1;; ++attempt) {
    auto lease = pool_.acquire();
    try {
      Unit w(*lease);
      PgTx tx(w);
      work(tx);
      tx.flush();
      w.commit();
      return;
    } catch (const pqxx::transaction_rollback& e) {
      // Serialization failure or deadlock: nothing was committed, try again.
      if (attempt < options_.max_attempts) {
        spdlog::warn("transaction retried after {} (attempt {})", e.what(), attempt);
        continue;
      }
      throw database_error("finish a transaction", e);
    } catch (const pqxx::in_doubt_error& e) {
      lease.mark_broken();
      spdlog::error("commit outcome unknown: {}", e.what());
      throw unavailable(
          "the database connection broke during commit; the outcome is unknown, check before "
          "retrying");
    } catch (const pqxx::broken_connection& e) {
      lease.mark_broken();
      throw database_error("run a transaction", e);
    } catch (const Error&) {
      throw;
    } catch (const pqxx::sql_error& e) {
      // A fast shutdown or crash of PostgreSQL can end the session with an
      // error (class 57P: admin or crash shutdown; class 08: connection
      // exception; or libpq's "server closed the connection unexpectedly",
      // with no state at all) rather than as a broken connection: the same
      // outage, and the connection is dead either way.
      const std::string state = e.sqlstate();
      if (state == kNotTheActiveCaKey) {
        // Migration 0007's trigger: this server still holds the CA keys of
        // before a rollover step and follows them within a second.
        throw unavailable(
            "the CA's keys changed during the call (a rollover step); nothing was changed: try "
            "again (a server that answers this every time cannot open the key that now issues: "
            "its /readyz and log say why)");
      }
      if (state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0 || !(*lease).is_open() ||
          (state.empty() &&
           std::string(e.what()).find("closed the connection") != std::string::npos)) {
        lease.mark_broken();
        spdlog::error("database went away during a transaction: sqlstate {}: {}", state, e.what());
        throw unavailable(
            "the database went away during the call and nothing was changed; the server "
            "reconnects on the next call");
      }
      throw database_error("run a transaction", e);
    } catch (const pqxx::failure& e) {
      throw database_error("run a transaction", e);
    } catch (const pqxx::usage_error& e) {
      throw database_error("run a transaction", e);
    } catch (const pqxx::conversion_error& e) {
      throw database_error("run a transaction", e);
    }
  }
}

bool PgStore::ping() {
  try {
    auto lease = pool_.acquire();
    try {
      pqxx::nontransaction n(*lease);
      n.exec("SELECT 1");
      return true;
    } catch (const pqxx::broken_connection&) {
      lease.mark_broken();
      return false;
    }
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace hostca::store
