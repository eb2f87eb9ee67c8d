#include "support/test_ca.h"

#include <mutex>
#include <stdexcept>

#include <botan/hex.h>

#include "domain/certificate_issuer.h"
#include "domain/records.h"
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
    InitResult init = initialize_ca(store, options, clock, testing::rng());
    OpenedCa opened = open_ca(store, kTestPassphrase, testing::rng());
    return TemplateCa{std::move(dbname), std::move(init), std::move(opened)};
  }();
  return made;
}

}  // namespace

// Well before the database's real clock, so that tests that move time a
// year or two ahead still stay behind it: no CRL may be dated past it.
TimePoint test_start_time() { return from_unix_micros(1709294400LL * 1000000); }

TestCa::TestCa(std::size_t pool_size)
    : clock(test_start_time()),
      dbname(PostgresCluster::instance().create_database(template_ca().dbname)),
      conninfo(PostgresCluster::instance().conninfo(dbname)),
      store(store::PgStoreOptions{conninfo, pool_size}),
      init(template_ca().init),
      issuer_(std::make_shared<const CertificateIssuer>(
          CertificateProfile{}, template_ca().opened.signer, testing::rng())) {
  authority = make_authority(store);
}

AuthorityConfig TestCa::config() const {
  AuthorityConfig config;
  config.crl_shards = template_ca().opened.crl_shards;
  return config;
}

std::unique_ptr<Authority> TestCa::make_authority(store::Store& over, AuthorityConfig with) const {
  return std::make_unique<Authority>(over, issuer_, clock, testing::rng(), std::move(with));
}

TestCa::Host TestCa::enrol(const std::string& hostname) {
  const CreatedToken token = new_token(1);
  std::shared_ptr<const Botan::Private_Key> key = ecdsa_key("secp256r1");
  EnrollmentRequest request;
  request.csr = csr_der(*key);
  request.hostname = hostname;
  request.authorization_token = token.token.reveal();
  Enrollment e = authority->enroll(request);
  const int shard = crl_shard_of(e.host_id, authority->crl_shards());
  const std::string serial = e.certificate.serial_hex;
  return Host{e.host_id, hostname, shard, serial, std::move(e.certificate), std::move(key)};
}

CreatedToken TestCa::new_reissue_token(const std::string& host_id,
                                       std::optional<Duration> valid_for) {
  NewReissueToken request;
  request.host_id = host_id;
  request.valid_for = valid_for;
  return authority->create_reissue_token(admin(), request);
}

ReissueRequest TestCa::reissue_request(const std::string& host_id, const std::string& token,
                                       std::shared_ptr<const Botan::Private_Key>* key) const {
  std::shared_ptr<const Botan::Private_Key> made = ecdsa_key("secp256r1");
  ReissueRequest request;
  request.host_id = host_id;
  request.csr = csr_der(*made);
  request.reissue_token = token;
  if (key) *key = std::move(made);
  return request;
}

IssuedCertificate TestCa::insert_renewal(const std::string& host_id) {
  const HostDetails details = authority->get_host(host_id);
  const store::HostRow& host = details.host.host;
  const auto key = ecdsa_key("secp256r1");
  const CertificateRequest csr = CertificateRequest::parse(csr_der(*key), KeyPolicy());
  std::vector<HostName> aliases;
  for (const auto& a : host.aliases) aliases.push_back(HostName::parse(a));
  const TimePoint now = clock.now();
  IssuedCertificate issued = issuer_->issue_host_certificate(
      host_id, HostName::parse(host.hostname), aliases, csr, host.crl_shard, now);
  store.transact([&](store::Tx& tx) {
    tx.insert_certificate(certificate_record(issued, store::CertificateKind::kRenew, host_id,
                                             host.crl_shard, sha256(csr.spki()), now));
  });
  return issued;
}

std::string TestCa::server_certificate_serial() const {
  return query_value<std::string>(conninfo,
                                  "SELECT serial_hex FROM certificates WHERE host_id IS NULL");
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

ShardCrl parse_crl(const store::CrlShardRow& row) {
  if (row.der.empty()) {
    throw std::runtime_error("shard " + std::to_string(row.shard) + " has no CRL yet");
  }
  ShardCrl out{row, Botan::X509_CRL(std::vector<std::uint8_t>(row.der.begin(), row.der.end())), {}};
  for (const auto& e : out.crl.get_revoked()) {
    out.entries[Botan::hex_encode(e.serial_number(), false)] = static_cast<int>(e.reason_code());
  }
  return out;
}

ShardCrl current_crl(Authority& authority, int shard) {
  const auto rows = authority.crls(shard);
  if (rows.size() != 1) throw std::runtime_error("no row for CRL shard " + std::to_string(shard));
  return parse_crl(rows[0]);
}

bool DatabaseState::operator==(const DatabaseState& o) const {
  return ca == o.ca && hosts == o.hosts && certificates == o.certificates && tokens == o.tokens &&
         token_uses == o.token_uses && admin_keys == o.admin_keys && audit_log == o.audit_log &&
         revoked_certificates == o.revoked_certificates && crl_numbers == o.crl_numbers &&
         revocation_events == o.revocation_events && content_md5 == o.content_md5;
}

std::ostream& operator<<(std::ostream& os, const DatabaseState& s) {
  return os << "{ca " << s.ca << ", hosts " << s.hosts << ", certificates " << s.certificates
            << ", tokens " << s.tokens << " (uses " << s.token_uses << "), admin_keys "
            << s.admin_keys << ", audit_log " << s.audit_log << ", revoked "
            << s.revoked_certificates << ", crl_numbers " << s.crl_numbers << ", revocation_events "
            << s.revocation_events << ", md5 " << s.content_md5 << "}";
}

DatabaseState database_state(const std::string& conninfo) {
  pqxx::connection conn(conninfo);
  pqxx::read_transaction tx(conn);
  const auto r = tx.exec1(
      "SELECT (SELECT count(*) FROM ca), (SELECT count(*) FROM hosts),"
      " (SELECT count(*) FROM certificates), (SELECT count(*) FROM tokens),"
      " (SELECT coalesce(sum(uses), 0) FROM tokens), (SELECT count(*) FROM admin_keys),"
      " (SELECT count(*) FROM audit_log),"
      " (SELECT count(*) FROM certificates WHERE revoked_at IS NOT NULL),"
      " (SELECT coalesce(sum(crl_number), 0) FROM crl_shards),"
      " (SELECT count(*) FROM revocation_events),"
      " md5((SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM ca x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM hosts x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM certificates x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM tokens x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM admin_keys x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM audit_log x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM crl_shards x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '') FROM host_names x)"
      " || (SELECT coalesce(string_agg(x::text, '|' ORDER BY x::text), '')"
      "     FROM revocation_events x))");
  DatabaseState s;
  s.ca = r[0].as<std::int64_t>();
  s.hosts = r[1].as<std::int64_t>();
  s.certificates = r[2].as<std::int64_t>();
  s.tokens = r[3].as<std::int64_t>();
  s.token_uses = r[4].as<std::int64_t>();
  s.admin_keys = r[5].as<std::int64_t>();
  s.audit_log = r[6].as<std::int64_t>();
  s.revoked_certificates = r[7].as<std::int64_t>();
  s.crl_numbers = r[8].as<std::int64_t>();
  s.revocation_events = r[9].as<std::int64_t>();
  s.content_md5 = r[10].as<std::string>();
  return s;
}

}  // namespace hostca::testing
