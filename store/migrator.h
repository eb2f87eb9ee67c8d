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
