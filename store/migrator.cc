#include "store/migrator.h"

#include <pqxx/pqxx>

#include <spdlog/spdlog.h>

#include "common/error.h"
#include "store/pg_errors.h"

namespace hostca::store {

namespace {
// Arbitrary constant naming the migration lock among advisory locks.
constexpr long long kMigrationLock = 0x686f73746361;  // "hostca"

// The role `hostca-server serve` connects as: it owns nothing, so it can
// never switch off the audit log's guard. Roles belong to the cluster, so
// two databases (or two migrators at once) may race to create it.
const char* kCreateServerRole = R"sql(
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hostca_server') THEN
    BEGIN
      CREATE ROLE hostca_server LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END;
$$)sql";

const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT "
    "now())";
// Creates the server role where this connection may; otherwise says who must.
void ensure_server_role(pqxx::work& tx) {
  if (!tx.exec("SELECT 1 FROM pg_roles WHERE rolname = 'hostca_server'").empty()) return;
  const bool may = tx.exec1(
                         "SELECT rolsuper OR rolcreaterole FROM pg_roles"
                         " WHERE rolname = current_user")[0]
                       .as<bool>();
  if (!may) {
    spdlog::warn(
        "the role hostca_server does not exist and {} may not create it: ask a database "
        "superuser to run 'CREATE ROLE hostca_server LOGIN', then run migrate again",
        tx.conn().username());
    return;
  }
  tx.exec(kCreateServerRole);
}

}  // namespace

void require_connection(const std::string& conninfo, const std::string& setting) {
  try {
    pqxx::connection conn(conninfo);
  } catch (const std::exception& e) {
    std::string reason = e.what();
    for (auto& c : reason) {
      if (c == '\n' || c == '\t') c = ' ';
    }
    while (!reason.empty() && reason.back() == ' ') reason.pop_back();
    throw unavailable(setting + ": cannot connect to PostgreSQL (" + reason +
                      "): check the connection string and that PostgreSQL is running");
  }
}

void set_server_role_password(const std::string& conninfo, const std::string& password) {
  if (password.empty()) throw invalid_argument("the server role's password file is empty");
  with_database_errors("set the server role's password", [&] {
    pqxx::connection conn(conninfo);
    pqxx::work tx(conn);
    // ALTER ROLE takes no parameters: the password goes in as a quoted literal.
    tx.exec("ALTER ROLE hostca_server WITH LOGIN PASSWORD " + tx.quote(password));
    tx.commit();
  });
}

std::vector<std::string> Migrator::apply_up_to(int version) const {
  return with_database_errors("apply migrations", [&] {
    pqxx::connection conn(conninfo_);
    pqxx::work tx(conn);
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLock);
    tx.exec(kCreateTable);
    ensure_server_role(tx);
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
    // Every run: a role made after the tables (by a superuser, later) gets its grants.
    if (!tx.exec("SELECT 1 FROM pg_proc WHERE proname = 'hostca_grant_server_role'").empty()) {
      tx.exec("SELECT hostca_grant_server_role()");
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
