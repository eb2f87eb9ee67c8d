// A CA ready for store and domain tests: its own migrated database holding
// an initialised CA, a FakeClock, a PgStore and an Authority assembled the
// way ca/server/ca_server.cc assembles them. Plus what tests need to see
// that a refused call left the database as it was.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "common/clock.h"
#include "domain/authority.h"
#include "domain/bootstrap.h"
#include "store/pg_store.h"

namespace hostca::testing {

// The passphrase of every test CA.
inline const std::string kTestPassphrase = "test CA passphrase, long enough";
// When every test CA was made (2026-03-01T12:00:00Z); each TestCa's clock starts here.
TimePoint test_start_time();

class TestCa {
 public:
  // A copy of one CA initialised once per binary (init runs PBKDF2): each
  // TestCa has its own database, so tests stay independent.
  explicit TestCa(std::size_t pool_size = 4);

  FakeClock clock;
  const std::string dbname;
  const std::string conninfo;
  store::PgStore store;
  // What initialize_ca returned: the first admin key, fingerprints, ...
  const InitResult& init;
  std::unique_ptr<Authority> authority;

  // The first admin, as authenticate_admin names it.
  Actor admin() const { return Actor{"admin:" + init.admin_key_id}; }
  // A new authorization token (max_uses 0: the default of 1).
  CreatedToken new_token(std::uint32_t max_uses = 1, std::optional<Duration> valid_for = {});
};

// An enrolment request with a fresh ECDSA P-256 key and its CSR.
EnrollmentRequest enrollment(const std::string& hostname, const std::string& token,
                             std::vector<std::string> aliases = {});

// What a refused call must not change: row counts, the sum of token uses,
// and a digest of every row of every table.
struct DatabaseState {
  std::int64_t ca = 0;
  std::int64_t hosts = 0;
  std::int64_t certificates = 0;
  std::int64_t tokens = 0;
  std::int64_t token_uses = 0;
  std::int64_t admin_keys = 0;
  std::int64_t audit_log = 0;
  std::string content_md5;

  bool operator==(const DatabaseState& o) const;
  bool operator!=(const DatabaseState& o) const { return !(*this == o); }
};
std::ostream& operator<<(std::ostream& os, const DatabaseState& s);
DatabaseState database_state(const std::string& conninfo);

// One value of a query, for checks written in SQL.
template <typename T, typename... Args>
T query_value(const std::string& conninfo, const std::string& sql, Args&&... args) {
  pqxx::connection conn(conninfo);
  pqxx::read_transaction tx(conn);
  return tx.exec_params1(sql, std::forward<Args>(args)...)[0].template as<T>();
}

}  // namespace hostca::testing
