#include "support/test_ca.h"

#include <mutex>

#include "domain/certificate_issuer.h"
#include "support/crypto_fixtures.h"
#include "support/postgres_cluster.h"

namespace hostca::testing {

namespace {

struct TemplateCa {
  std::string dbname;
  InitResult init;
  OpenedCa opened;
};

// Made on first use: a database with an initialised CA that no one stays
// connected to, so PostgreSQL can copy it.
const TemplateCa& template_ca() {
  static const TemplateCa made = [] {
    PostgresCluster& cluster = PostgresCluster::instance();
    std::string dbname = cluster.create_database();
    store::PgStore store(store::PgStoreOptions{cluster.conninfo(dbname), 1});
    const FakeClock clock(test_start_time());
    InitOptions options;
    options.passphrase = kTestPassphrase;
    InitResult init = initialize_ca(store, options, clock);
    OpenedCa opened = open_ca(store, kTestPassphrase);
    return TemplateCa{std::move(dbname), std::move(init), std::move(opened)};
  }();
  return made;
}

}  // namespace

TimePoint test_start_time() { return from_unix_micros(1772366400LL * 1000000); }

TestCa::TestCa(std::size_t pool_size)
    : clock(test_start_time()),
      dbname(PostgresCluster::instance().create_database(template_ca().dbname)),
      conninfo(PostgresCluster::instance().conninfo(dbname)),
      store(store::PgStoreOptions{conninfo, pool_size}),
      init(template_ca().init) {
  AuthorityConfig config;
  config.crl_shards = template_ca().opened.crl_shards;
  auto issuer =
      std::make_shared<const CertificateIssuer>(CertificateProfile{}, template_ca().opened.signer);
  authority = std::make_unique<Authority>(store, issuer, clock, config);
}

CreatedToken TestCa::new_token(std::uint32_t max_uses, std::optional<Duration> valid_for) {
  NewAuthorizationToken request;
  request.name = "test token";
  request.max_uses = max_uses;
  request.valid_for = valid_for;
  return authority->create_authorization_token(admin(), request);
}

EnrollmentRequest enrollment(const std::string& hostname, const std::string& token,
                             std::vector<std::string> aliases) {
  EnrollmentRequest request;
  request.csr = csr_der(*ecdsa_key("secp256r1"));
  request.hostname = hostname;
  request.aliases = std::move(aliases);
  request.authorization_token = token;
  return request;
}

bool DatabaseState::operator==(const DatabaseState& o) const {
  return ca == o.ca && hosts == o.hosts && certificates == o.certificates && tokens == o.tokens &&
         token_uses == o.token_uses && admin_keys == o.admin_keys && audit_log == o.audit_log &&
         content_md5 == o.content_md5;
}

std::ostream& operator<<(std::ostream& os, const DatabaseState& s) {
  return os << "{ca " << s.ca << ", hosts " << s.hosts << ", certificates " << s.certificates
            << ", tokens " << s.tokens << " (uses " << s.token_uses << "), admin_keys "
            << s.admin_keys << ", audit_log " << s.audit_log << ", md5 " << s.content_md5 << "}";
}

DatabaseState database_state(const std::string& conninfo) {
  pqxx::connection conn(conninfo);
  pqxx::read_transaction tx(conn);
  const auto r = tx.exec1(
      "SELECT (SELECT count(*) FROM ca), (SELECT count(*) FROM hosts),"
      " (SELECT count(*) FROM certificates), (SELECT count(*) FROM tokens),"
      " (SELECT coalesce(sum(uses), 0) FROM tokens), (SELECT count(*) FROM admin_keys),"
      " (SELECT count(*) FROM audit_log),"
      " md5((SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM ca x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM hosts x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM certificates x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM tokens x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM admin_keys x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM audit_log x))");
  DatabaseState s;
  s.ca = r[0].as<std::int64_t>();
  s.hosts = r[1].as<std::int64_t>();
  s.certificates = r[2].as<std::int64_t>();
  s.tokens = r[3].as<std::int64_t>();
  s.token_uses = r[4].as<std::int64_t>();
  s.admin_keys = r[5].as<std::int64_t>();
  s.audit_log = r[6].as<std::int64_t>();
  s.content_md5 = r[7].as<std::string>();
  return s;
}

}  // namespace hostca::testing
