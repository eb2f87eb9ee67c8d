#include "store/migrator.h"

#include <pqxx/pqxx>

#include "common/error.h"
#include "store/pg_errors.h"

namespace hostca::store {

namespace {
// Arbitrary constant naming the migration lock among advisory locks.
constexpr long long kMigrationLock = 0x686f73746361;  // "hostca"

const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT "
    "now())";
}  // namespace

std::vector<std::string> Migrator::apply_up_to(int version) const {
  return with_database_errors("apply migrations", [&] {
    pqxx::connection conn(conninfo_);
    pqxx::work tx(conn);
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLock);
    tx.exec(kCreateTable);
    int current = tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
    const auto& all = embedded_migrations();
    const int newest_known = all.empty() ? 0 : all.back().version;
    if (current > newest_known) {
      throw failed_precondition("the database schema is at version " + std::to_string(current) +
                                " but this program knows only up to " +
                                std::to_string(newest_known) + ": upgrade hostca");
    }
    std::vector<std::string> applied;
    for (const auto& m : all) {
      if (m.version <= current) continue;
      if (m.version > version) break;
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                     m.name);
      applied.push_back(m.name);
    }
    tx.commit();
    return applied;
  });
}

int Migrator::current_version() const {
  return with_database_errors("read the schema version", [&] {
    pqxx::connection conn(conninfo_);
    pqxx::read_transaction tx(conn);
    const auto exists =
        tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>();
    if (!exists) return 0;
    return tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
  });
}

}  // namespace hostca::store
