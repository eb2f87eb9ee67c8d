// Applies the numbered migrations in store/migrations/ in order, in one
// transaction, recording each in schema_migrations. Safe to run from several
// processes at once: an advisory lock orders them.
#pragma once

#include <string>
#include <vector>

namespace hostca::store {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// Every migration compiled into this binary, by version.
const std::vector<Migration>& embedded_migrations();

// Connects once and hangs up; throws Error(kUnavailable) with one line
// naming the setting and libpq's reason (never the connection string,
// which may hold a password).
void require_connection(const std::string& conninfo, const std::string& setting);

// Sets the password the server role (hostca_server) logs in with, for
// deployments that connect over TCP with password authentication.
void set_server_role_password(const std::string& conninfo, const std::string& password);

class Migrator {
 public:
  explicit Migrator(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  // Applies what is missing; returns the names applied (empty if up to date).
  // Throws Error(kFailedPrecondition) if the database holds a newer schema.
  std::vector<std::string> apply() const { return apply_up_to(kLatest); }
  // The same, stopping after `version` (tests of one migration's data moves).
  std::vector<std::string> apply_up_to(int version) const;
  static constexpr int kLatest = 1 << 30;
  // The highest version applied, 0 for an empty database.
  int current_version() const;

 private:
  std::string conninfo_;
};

}  // namespace hostca::store
