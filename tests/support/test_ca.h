// A CA ready for store and domain tests: its own migrated database holding
// an initialised CA, a FakeClock, a PgStore and an Authority assembled the
// way ca/server/ca_server.cc assembles them. Plus what tests need to see
// that a refused call left the database as it was.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <botan/pk_keys.h>
#include <botan/x509_crl.h>
#include <pqxx/pqxx>

#include "common/clock.h"
#include "domain/authority.h"
#include "domain/bootstrap.h"
#include "store/pg_store.h"

namespace hostca::testing {

// The passphrase of every test CA.
inline const std::string kTestPassphrase = "test CA passphrase, long enough";
// When every test CA was made (2024-03-01T12:00:00Z); each TestCa's clock starts here.
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

  // The configuration `authority` runs with (the CA's shard count).
  AuthorityConfig config() const;
  // Another Authority over `over` (another PgStore on this database, a
  // FaultInjectingStore, ...) with this CA's issuer and clock: a second
  // server, or one with another configuration.
  std::unique_ptr<Authority> make_authority(store::Store& over, AuthorityConfig with) const;
  std::unique_ptr<Authority> make_authority(store::Store& over) const {
    return make_authority(over, config());
  }
  const CertificateIssuer& issuer() const { return *issuer_; }

  // A host enrolled with a token of its own: what reissue and revocation
  // tests start from.
  struct Host {
    std::string host_id;
    std::string hostname;
    int crl_shard = 0;
    std::string serial_hex;
    IssuedCertificate certificate;
    std::shared_ptr<const Botan::Private_Key> key;
  };
  Host enrol(const std::string& hostname);
  // A reissue token for the host, from the first admin.
  CreatedToken new_reissue_token(const std::string& host_id,
                                 std::optional<Duration> valid_for = {});
  // A reissue request with a fresh P-256 key and, unless `token` is empty,
  // that token; `key` (when given) receives the key.
  ReissueRequest reissue_request(const std::string& host_id, const std::string& token,
                                 std::shared_ptr<const Botan::Private_Key>* key = nullptr) const;
  // Stores a second valid certificate for the host (fresh key, kind renew)
  // the way a renewal does, so a host can hold several at once.
  IssuedCertificate insert_renewal(const std::string& host_id);
  // The serial of the server's own TLS certificate.
  std::string server_certificate_serial() const;

 private:
  std::shared_ptr<const CertificateIssuer> issuer_;
};

// An enrolment request with a fresh ECDSA P-256 key and its CSR.
EnrollmentRequest enrollment(const std::string& hostname, const std::string& token,
                             std::vector<std::string> aliases = {});

// What a refused call must not change: row counts, the sum of token uses
// and of CRL numbers, and a digest of every row of every table.
struct DatabaseState {
  std::int64_t ca = 0;
  std::int64_t hosts = 0;
  std::int64_t certificates = 0;
  std::int64_t tokens = 0;
  std::int64_t token_uses = 0;
  std::int64_t admin_keys = 0;
  std::int64_t audit_log = 0;
  std::int64_t revoked_certificates = 0;
  std::int64_t crl_numbers = 0;  // the sum over the shards
  std::int64_t revocation_events = 0;
  std::string content_md5;

  bool operator==(const DatabaseState& o) const;
  bool operator!=(const DatabaseState& o) const { return !(*this == o); }
};
std::ostream& operator<<(std::ostream& os, const DatabaseState& s);
DatabaseState database_state(const std::string& conninfo);

// The current CRL of a shard, as stored and as Botan reads it.
struct ShardCrl {
  store::CrlShardRow row;
  Botan::X509_CRL crl;
  // Every entry: serial (lower-case hex, as stored) -> RFC 5280 reason code.
  std::map<std::string, int> entries;
};
ShardCrl current_crl(Authority& authority, int shard);
ShardCrl parse_crl(const store::CrlShardRow& row);

// One value of a query, for checks written in SQL.
template <typename T, typename... Args>
T query_value(const std::string& conninfo, const std::string& sql, Args&&... args) {
  pqxx::connection conn(conninfo);
  pqxx::read_transaction tx(conn);
  return tx.exec_params1(sql, std::forward<Args>(args)...)[0].template as<T>();
}

}  // namespace hostca::testing
