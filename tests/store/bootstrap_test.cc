// Initialising and opening a CA in a real database: init writes everything
// together, never overwrites a CA, and keeps the CA key only encrypted.
#include <gtest/gtest.h>

#include <future>
#include <string>

#include <botan/data_src.h>
#include <botan/x509cert.h>

#include "domain/certificate_issuer.h"
#include "store/pg_store.h"
#include "support/crypto_fixtures.h"
#include "support/expect_error.h"
#include "support/postgres_cluster.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::database_state;
using testing::kTestPassphrase;
using testing::PostgresCluster;
using testing::query_value;
using testing::TestCa;

TEST(InitializeCa, WritesTheCaServerCertificateAdminKeyAndAuditRows) {
  TestCa ca;
  const auto state = database_state(ca.conninfo);
  EXPECT_EQ(state.ca, 1);
  EXPECT_EQ(state.certificates, 1);
  EXPECT_EQ(state.admin_keys, 1);
  EXPECT_EQ(state.hosts, 0);
  EXPECT_EQ(state.tokens, 0);
  EXPECT_EQ(query_value<std::string>(ca.conninfo, "SELECT kind FROM certificates"), "server");
  EXPECT_EQ(
      query_value<std::string>(ca.conninfo,
                               "SELECT string_agg(action || '/' || actor || '/' || outcome, ' '"
                               " ORDER BY sequence) FROM audit_log"),
      "ca.init/init/ok certificate.issue/init/ok admin_key.create/init/ok");
  EXPECT_EQ(query_value<std::string>(ca.conninfo, "SELECT key_id::text FROM admin_keys"),
            ca.init.admin_key_id);
  EXPECT_EQ(query_value<int>(ca.conninfo, "SELECT crl_shards FROM ca"), 16);
  EXPECT_EQ(query_value<std::string>(ca.conninfo, "SELECT key_algorithm FROM ca"), "ecdsa-p256");
  // The fingerprints init printed are those of the stored certificate.
  Botan::DataSource_Memory pem(ca.init.ca_certificate_pem);
  const Botan::X509_Certificate printed(pem);
  EXPECT_EQ(query_value<std::string>(ca.conninfo,
                                     "SELECT encode(sha256(certificate_der), 'hex') FROM ca"),
            ca.init.sha256_fingerprint);
  EXPECT_EQ(query_value<std::string>(ca.conninfo, "SELECT sha256_fingerprint FROM ca"),
            ca.init.sha256_fingerprint);
  EXPECT_EQ(query_value<std::string>(ca.conninfo, "SELECT spki_sha256 FROM ca"),
            ca.init.spki_sha256);
  EXPECT_EQ(printed.fingerprint("SHA-256"), [&] {
    std::string colons;
    for (std::size_t i = 0; i < ca.init.sha256_fingerprint.size(); i += 2) {
      if (i) colons += ':';
      colons += ca.init.sha256_fingerprint.substr(i, 2);
    }
    for (auto& c : colons) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return colons;
  }());
  // The server certificate is signed by the CA.
  Botan::DataSource_Memory server_pem(ca.init.server_certificate_pem);
  const Botan::X509_Certificate server(server_pem);
  EXPECT_TRUE(server.check_signature(*printed.load_subject_public_key()));
  EXPECT_EQ(server.subject_alt_name().get_attribute("DNS"), std::vector<std::string>{"localhost"});
}

TEST(InitializeCa, TwiceIsAlreadyExistsAndLeavesTheCaAsItWas) {
  TestCa ca;
  const auto before = database_state(ca.conninfo);
  InitOptions options;
  options.passphrase = "another passphrase, long enough";
  const std::string msg = HOSTCA_EXPECT_ERROR(
      initialize_ca(ca.store, options, ca.clock, testing::rng()), ErrorKind::kAlreadyExists);
  EXPECT_NE(msg.find(ca.init.sha256_fingerprint), std::string::npos) << msg;
  EXPECT_NE(msg.find("never overwrites"), std::string::npos) << msg;
  EXPECT_EQ(database_state(ca.conninfo), before);
  // The CA still opens with its own passphrase.
  EXPECT_NO_THROW(open_ca(ca.store, kTestPassphrase, testing::rng()));
}

TEST(InitializeCa, RefusesBadOptionsAndWritesNothing) {
  const std::string db = PostgresCluster::instance().fresh_database();
  store::PgStore store(store::PgStoreOptions{db, 1});
  const FakeClock clock(testing::test_start_time());
  const auto before = database_state(db);
  InitOptions options;
  options.passphrase = "short";
  std::string msg = HOSTCA_EXPECT_ERROR(initialize_ca(store, options, clock, testing::rng()),
                                        ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("passphrase"), std::string::npos) << msg;
  options.passphrase = kTestPassphrase;
  options.crl_shards = 0;
  HOSTCA_EXPECT_ERROR(initialize_ca(store, options, clock, testing::rng()),
                      ErrorKind::kInvalidArgument);
  options.crl_shards = kMostCrlShards + 1;
  msg = HOSTCA_EXPECT_ERROR(initialize_ca(store, options, clock, testing::rng()),
                            ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("between 1 and 65536"), std::string::npos) << msg;
  options.crl_shards = 16;
  options.profile.crl_base_url = "ftp://example/crl";
  HOSTCA_EXPECT_ERROR(initialize_ca(store, options, clock, testing::rng()),
                      ErrorKind::kInvalidArgument);
  EXPECT_EQ(database_state(db), before);
  EXPECT_EQ(before.ca, 0);
}

// The authority a server would build over an opened CA.
Authority authority_of(store::Store& store, const OpenedCa& opened, const Clock& clock) {
  AuthorityConfig config;
  config.crl_shards = opened.crl_shards;
  return Authority(
      store,
      std::make_shared<CertificateIssuer>(CertificateProfile{}, opened.signer, testing::rng()),
      clock, testing::rng(), config);
}

// A million revocations over 16,384 shards keep a shard near 61 entries
// (docs/operator-guide.md); the schema allowed 4,096 before migration 0012.
TEST(InitializeCa, ACaWithMoreThan4096ShardsInitsAndOpensWithEveryShard) {
  const std::string db = PostgresCluster::instance().fresh_database();
  store::PgStore store(store::PgStoreOptions{db, 2});
  FakeClock clock(testing::test_start_time());
  InitOptions options;
  options.passphrase = kTestPassphrase;
  options.crl_shards = 16384;
  initialize_ca(store, options, clock, testing::rng());
  const OpenedCa opened = open_ca(store, kTestPassphrase, testing::rng());
  EXPECT_EQ(opened.crl_shards, 16384);
  Authority authority = authority_of(store, opened, clock);
  const auto last = authority.crls(16383);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last.front().shard, 16383);
  EXPECT_EQ(last.front().crl_number, 0);  // published when the server first serves
  HOSTCA_EXPECT_ERROR(authority.crls(16384), ErrorKind::kNotFound);
}

TEST(InitializeCa, Ed25519AndP384CasInitOpenAndIssue) {
  for (CaKeyAlgorithm algorithm : {CaKeyAlgorithm::kEd25519, CaKeyAlgorithm::kEcdsaP384}) {
    const std::string db = PostgresCluster::instance().fresh_database();
    store::PgStore store(store::PgStoreOptions{db, 2});
    FakeClock clock(testing::test_start_time());
    InitOptions options;
    options.algorithm = algorithm;
    options.passphrase = kTestPassphrase;
    options.crl_shards = 4;
    const InitResult init = initialize_ca(store, options, clock, testing::rng());
    const OpenedCa opened = open_ca(store, kTestPassphrase, testing::rng());
    EXPECT_EQ(opened.crl_shards, 4);
    EXPECT_EQ(certificate_fingerprint(opened.signer->ca_certificate()), init.sha256_fingerprint);
    Authority authority = authority_of(store, opened, clock);
    NewAuthorizationToken request;
    request.name = "t";
    const CreatedToken token =
        authority.create_authorization_token(Actor{"admin:" + init.admin_key_id}, request);
    const Enrollment e = authority.enroll(testing::enrollment("h.example", token.token.reveal()));
    EXPECT_TRUE(e.certificate.certificate().check_signature(
        *opened.signer->ca_certificate().load_subject_public_key()))
        << to_string(algorithm);
  }
}

TEST(InitializeCa, TwoAtOnceLeaveExactlyOneCa) {
  const std::string db = PostgresCluster::instance().fresh_database();
  const FakeClock clock(testing::test_start_time());
  auto init = [&] {
    store::PgStore store(store::PgStoreOptions{db, 1});
    InitOptions options;
    options.passphrase = kTestPassphrase;
    return testing::thrown_by_or_nothing(
        [&] { initialize_ca(store, options, clock, testing::rng()); });
  };
  auto other = std::async(std::launch::async, init);
  const testing::Thrown mine = init();
  const testing::Thrown theirs = other.get();
  EXPECT_NE(mine.threw, theirs.threw) << "exactly one init must win";
  const testing::Thrown& loser = mine.threw ? mine : theirs;
  EXPECT_EQ(loser.kind, ErrorKind::kAlreadyExists) << loser.message;
  const auto state = database_state(db);
  EXPECT_EQ(state.ca, 1);
  EXPECT_EQ(state.admin_keys, 1);
  EXPECT_EQ(state.certificates, 1);
  EXPECT_EQ(state.audit_log, 3);
}

TEST(OpenCa, WithTheRightPassphraseGivesTheStoredCaAndItsShards) {
  TestCa ca;
  const OpenedCa opened = open_ca(ca.store, kTestPassphrase, testing::rng());
  EXPECT_EQ(opened.crl_shards, 16);
  EXPECT_EQ(certificate_fingerprint(opened.signer->ca_certificate()), ca.init.sha256_fingerprint);
}

TEST(OpenCa, WithAWrongPassphraseIsFailedPrecondition) {
  TestCa ca;
  const std::string wrong = "not the CA passphrase at all";
  const std::string msg =
      HOSTCA_EXPECT_ERROR(open_ca(ca.store, wrong, testing::rng()), ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("passphrase"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(wrong), std::string::npos) << msg;
}

TEST(OpenCa, OnAnEmptyDatabaseIsFailedPreconditionSayingToInit) {
  const std::string db = PostgresCluster::instance().fresh_database();
  store::PgStore store(store::PgStoreOptions{db, 1});
  const std::string msg = HOSTCA_EXPECT_ERROR(open_ca(store, kTestPassphrase, testing::rng()),
                                              ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("hostca-server init"), std::string::npos) << msg;
}

TEST(CaKeyAtRest, IsOnlyEverStoredAsEncryptedPkcs8) {
  TestCa ca;
  EXPECT_EQ(query_value<int>(ca.conninfo,
                             "SELECT count(*) FROM ca WHERE encrypted_private_key_pem"
                             " LIKE '-----BEGIN ENCRYPTED PRIVATE KEY-----%'"),
            1);
  for (const char* table : {"ca", "certificates", "admin_keys", "audit_log"}) {
    EXPECT_EQ(query_value<int>(ca.conninfo, std::string("SELECT count(*) FROM ") + table +
                                                " x WHERE strpos(row_to_json(x)::text,"
                                                " 'BEGIN PRIVATE KEY') > 0"),
              0)
        << table;
  }
  // init hands the server's TLS key back to be written to a file; it is not stored.
  const std::string server_key_body = ca.init.server_private_key_pem.substr(28, 40);
  EXPECT_EQ(query_value<int>(ca.conninfo,
                             "SELECT count(*) FROM ca x WHERE strpos(row_to_json(x)::text, $1) > 0",
                             server_key_body),
            0);
}

TEST(CaKeyAtRest, TheDatabaseRefusesAPlaintextCaKey) {
  const std::string db = PostgresCluster::instance().fresh_database();
  store::PgStore store(store::PgStoreOptions{db, 1});
  store::CaRow row;
  row.ca_id = "0f1e2d3c-4b5a-4697-8877-665544332211";
  row.key_algorithm = "ecdsa-p256";
  row.certificate_der = Bytes{0x30, 0x00};
  row.encrypted_private_key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  row.sha256_fingerprint = "00";
  row.spki_sha256 = "00";
  row.crl_shards = 1;
  row.created_at = testing::test_start_time();
  HOSTCA_EXPECT_ERROR(store.transact([&](store::Tx& tx) { tx.insert_ca(row); }),
                      ErrorKind::kInternal);
  EXPECT_EQ(database_state(db).ca, 0);
}

}  // namespace
}  // namespace hostca
