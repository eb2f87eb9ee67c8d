// The CA key in a PKCS#11 token (issue 17), against SoftHSM2 and the real
// PostgreSQL: init makes or finds the key in the token and records where it
// is, never the PIN; the CA opens it with the PIN only; the authority
// issues and publishes CRLs through it; a software CA rolls over to a
// token key and back; a refused step leaves the database as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <botan/data_src.h>
#include <botan/x509cert.h>

#include "domain/ca_link.h"
#include "domain/ca_rollover.h"
#include "pki/keys.h"
#include "support/crypto_fixtures.h"
#include "support/expect_error.h"
#include "support/postgres_cluster.h"
#include "support/softhsm_token.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::database_state;
using testing::kTestPassphrase;
using testing::PostgresCluster;
using testing::query_value;
using testing::SoftHsmToken;
using testing::TestCa;

#define EXPECT_REFUSED(expr, kind, phrase) \
  EXPECT_THAT(HOSTCA_EXPECT_ERROR(expr, kind), ::testing::HasSubstr(phrase))

Botan::X509_Certificate certificate_of(const Bytes& der) {
  return Botan::X509_Certificate(std::vector<std::uint8_t>(der.begin(), der.end()));
}

Botan::X509_Certificate pem_certificate(const std::string& pem) {
  Botan::DataSource_Memory source(pem);
  return Botan::X509_Certificate(source);
}

bool signed_by(const Botan::X509_Object& object, const Botan::X509_Certificate& ca) {
  const std::unique_ptr<Botan::Public_Key> key(ca.subject_public_key());
  return object.check_signature(*key);
}

// Every text the database holds for the CA, its keys and the audit log.
std::string ca_rows_text(const std::string& conninfo) {
  return query_value<std::string>(
      conninfo,
      "SELECT concat((SELECT string_agg(row_to_json(c)::text, '') FROM ca c),"
      " (SELECT string_agg(row_to_json(k)::text, '') FROM ca_keys k),"
      " (SELECT string_agg(row_to_json(a)::text, '') FROM audit_log a))");
}

CaKeySecrets with_pin(const SoftHsmToken& token) {
  CaKeySecrets s;
  s.pkcs11_pin = token.pin();
  s.pkcs11_sessions = 4;
  return s;
}

struct TokenCa {
  std::string conninfo;
  store::PgStore store;
  FakeClock clock{testing::test_start_time()};
  InitResult init;
};

InitOptions token_init(const SoftHsmToken& token, const std::string& key_label) {
  InitOptions options;
  options.pkcs11 = token.key(key_label);
  return options;
}

TEST(CaKeyInToken, InitMakesTheKeyThereAndRecordsWhereItIsNeverThePin) {
  SoftHsmToken token;
  const std::string conninfo = PostgresCluster::instance().fresh_database();
  store::PgStore store({conninfo, 2});
  FakeClock clock(testing::test_start_time());
  InitOptions options = token_init(token, "ca-2026");
  options.algorithm = CaKeyAlgorithm::kEcdsaP384;
  const InitResult init = initialize_ca(store, options, clock, testing::rng());
  EXPECT_TRUE(init.token_key_made);
  EXPECT_EQ(init.key_algorithm, "ecdsa-p384");

  EXPECT_EQ(query_value<std::string>(
                conninfo,
                "SELECT concat_ws('|', key_algorithm, pkcs11_module, pkcs11_token_label,"
                " pkcs11_key_label, encrypted_private_key_pem IS NULL) FROM ca_keys"),
            std::string("ecdsa-p384|") + testing::kSoftHsmModule + "|hostca|ca-2026|t");
  EXPECT_TRUE(query_value<bool>(conninfo, "SELECT encrypted_private_key_pem IS NULL FROM ca"));
  const std::string text = ca_rows_text(conninfo);
  EXPECT_EQ(text.find(token.pin()), std::string::npos) << "the PIN is in the database";
  EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos) << "a private key is in the database";

  // The CA certificate is the token key's, self-signed by it with the CA
  // extensions; the server certificate init made is signed through the token.
  const auto ca_cert = pem_certificate(init.ca_certificate_pem);
  const auto token_key = Pkcs11Key::open(token.key("ca-2026"));
  EXPECT_EQ(ca_cert.subject_public_key_info(), token_key->public_key_spki());
  EXPECT_TRUE(signed_by(ca_cert, ca_cert));
  EXPECT_TRUE(ca_cert.is_CA_cert());
  EXPECT_EQ(ca_cert.path_limit(), 0u);
  EXPECT_TRUE(ca_cert.allowed_usage(Botan::KEY_CERT_SIGN));
  EXPECT_EQ(ca_cert.subject_dn().get_first_attribute("X520.CommonName"), "hostca CA");
  EXPECT_TRUE(signed_by(pem_certificate(init.server_certificate_pem), ca_cert));
}

TEST(CaKeyInToken, TheAuthorityIssuesAndPublishesCrlsThroughTheToken) {
  SoftHsmToken token;
  const std::string conninfo = PostgresCluster::instance().fresh_database();
  store::PgStore store({conninfo, 4});
  FakeClock clock(testing::test_start_time());
  InitOptions options = token_init(token, "issuing");
  options.crl_shards = 2;
  const InitResult init = initialize_ca(store, options, clock, testing::rng());
  const auto ca_cert = pem_certificate(init.ca_certificate_pem);

  const OpenedCa opened = open_ca(store, with_pin(token), testing::rng());
  EXPECT_EQ(opened.ring->active().held_in, "pkcs11:hostca/issuing");
  CertificateProfile profile;
  profile.crl_base_url = opened.crl_base_url;
  AuthorityConfig config;
  config.crl_shards = opened.crl_shards;
  Authority authority(store, opened.ring, profile, clock, testing::rng(), config);

  const Actor admin{"admin:test"};
  const CreatedToken auth = authority.create_authorization_token(admin, [] {
    NewAuthorizationToken t;
    t.name = "hsm";
    return t;
  }());
  const auto key = testing::ecdsa_key("secp256r1");
  const Enrollment e =
      authority.enroll(testing::enrollment("web1.example.com", auth.token.reveal()));
  const auto issued = certificate_of(e.certificate.der);
  EXPECT_TRUE(signed_by(issued, ca_cert));

  // A revocation publishes a CRL signed by the token key, listing it.
  RevocationRequest revoke;
  revoke.serial_hex = e.certificate.serial_hex;
  revoke.reason_code = 1;
  authority.revoke(admin, revoke);
  const int shard = crl_shard_of(e.host_id, opened.crl_shards);
  const testing::ShardCrl crl = testing::current_crl(authority, shard);
  EXPECT_TRUE(signed_by(crl.crl, ca_cert));
  EXPECT_EQ(crl.entries.count(e.certificate.serial_hex), 1u);
}

TEST(CaKeyInToken, InitUsesTheKeyTheTokenHoldsAndRefusesAnotherAlgorithmWritingNothing) {
  SoftHsmToken token;
  {
    const auto made = Pkcs11Key::generate(token.key("existing"), Pkcs11KeyAlgorithm::kEcdsaP384);
    ASSERT_EQ(made->algorithm(), Pkcs11KeyAlgorithm::kEcdsaP384);
  }
  const std::string conninfo = PostgresCluster::instance().fresh_database();
  store::PgStore store({conninfo, 2});
  FakeClock clock(testing::test_start_time());

  InitOptions wrong = token_init(token, "existing");
  wrong.algorithm = CaKeyAlgorithm::kRsa3072;
  EXPECT_REFUSED(initialize_ca(store, wrong, clock, testing::rng()), ErrorKind::kFailedPrecondition,
                 "holds \"existing\" as an ecdsa-p384 key");
  EXPECT_FALSE(store.transact([](store::Tx& tx) { return tx.find_ca(); }).has_value());

  InitOptions relative = token_init(token, "other");
  relative.pkcs11->module_path = "./libsofthsm2.so";
  EXPECT_REFUSED(initialize_ca(store, relative, clock, testing::rng()), ErrorKind::kInvalidArgument,
                 "absolute path");
  EXPECT_FALSE(store.transact([](store::Tx& tx) { return tx.find_ca(); }).has_value());

  InitOptions ed = token_init(token, "other");
  ed.algorithm = CaKeyAlgorithm::kEd25519;
  EXPECT_REFUSED(initialize_ca(store, ed, clock, testing::rng()), ErrorKind::kInvalidArgument,
                 "ecdsa-p256, ecdsa-p384 or rsa-3072");

  const InitResult init =
      initialize_ca(store, token_init(token, "existing"), clock, testing::rng());
  EXPECT_FALSE(init.token_key_made);
  EXPECT_EQ(init.key_algorithm, "ecdsa-p384");
  const auto key = Pkcs11Key::open(token.key("existing"));
  EXPECT_EQ(pem_certificate(init.ca_certificate_pem).subject_public_key_info(),
            key->public_key_spki());
}

TEST(CaKeyInToken, OpeningNeedsThePinAndNamesAWrongOneWithoutSayingIt) {
  SoftHsmToken token;
  const std::string conninfo = PostgresCluster::instance().fresh_database();
  store::PgStore store({conninfo, 2});
  FakeClock clock(testing::test_start_time());
  initialize_ca(store, token_init(token, "ca"), clock, testing::rng());

  CaKeySecrets none;
  none.passphrase = kTestPassphrase;  // a passphrase opens no token key
  EXPECT_REFUSED(open_ca(store, none, testing::rng()), ErrorKind::kFailedPrecondition,
                 "--pkcs11-pin-file");
  CaKeySecrets wrong;
  wrong.pkcs11_pin = "0000-wrong-pin";
  const std::string msg =
      HOSTCA_EXPECT_ERROR(open_ca(store, wrong, testing::rng()), ErrorKind::kFailedPrecondition);
  EXPECT_THAT(msg, ::testing::HasSubstr("refused the PIN"));
  EXPECT_EQ(msg.find("0000-wrong-pin"), std::string::npos) << msg;
  EXPECT_NO_THROW(open_ca(store, with_pin(token), testing::rng()));
}

TEST(CaKeyInToken, TheSchemaHoldsEveryKeyInExactlyOnePlace) {
  TestCa ca;
  const auto write = [&](const std::string& sql) {
    pqxx::connection conn(ca.conninfo);
    pqxx::work tx(conn);
    tx.exec0(sql);
    tx.commit();
  };
  // A software key that also claims a token key, and a key held nowhere.
  EXPECT_THROW(write("UPDATE ca_keys SET pkcs11_module = 'm', pkcs11_token_label = 't',"
                     " pkcs11_key_label = 'k'"),
               pqxx::check_violation);
  EXPECT_THROW(write("UPDATE ca_keys SET encrypted_private_key_pem = NULL"), pqxx::check_violation);
  // A token key without its module.
  EXPECT_THROW(write("UPDATE ca_keys SET encrypted_private_key_pem = NULL,"
                     " pkcs11_token_label = 't', pkcs11_key_label = 'k'"),
               pqxx::check_violation);
  EXPECT_NO_THROW(
      write("UPDATE ca_keys SET encrypted_private_key_pem = NULL,"
            " pkcs11_module = 'm', pkcs11_token_label = 't', pkcs11_key_label = 'k'"));
}

TEST(CaKeyInToken, ASoftwareCaRollsOverToATokenKeyAndBack) {
  SoftHsmToken token;
  TestCa ca;
  CaKeySecrets both = with_pin(token);
  both.passphrase = kTestPassphrase;

  // start: the next key is made in the token, linked both ways.
  RolloverStart to_token;
  to_token.pkcs11 = token.key("ca-next");
  const auto ring1 = open_ca(ca.store, kTestPassphrase, testing::rng()).ring;
  const RolloverStep started = start_rollover(ca.store, *ring1, to_token, ca.clock, testing::rng());
  ASSERT_TRUE(started.changed);
  EXPECT_EQ(started.generation, 2);
  EXPECT_TRUE(query_value<bool>(ca.conninfo,
                                "SELECT encrypted_private_key_pem IS NULL AND pkcs11_key_label ="
                                " 'ca-next' FROM ca_keys WHERE generation = 2"));
  EXPECT_EQ(ca_rows_text(ca.conninfo).find(token.pin()), std::string::npos);

  // The servers now need both secrets, and say which one is missing.
  EXPECT_REFUSED(open_ca(ca.store, kTestPassphrase, testing::rng()), ErrorKind::kFailedPrecondition,
                 "CA key 2 is in the PKCS#11 token");
  const auto ring2 = open_ca(ca.store, both, testing::rng()).ring;
  const CaKey* next = ring2->find(2);
  ASSERT_NE(next, nullptr);
  const auto old_cert = ring2->find(1)->certificate();
  EXPECT_EQ(next->certificate().subject_dn(), old_cert.subject_dn());
  ASSERT_TRUE(next->new_with_old && next->old_with_new);
  EXPECT_TRUE(signed_by(*next->new_with_old, old_cert));             // signed by key 1
  EXPECT_TRUE(signed_by(*next->old_with_new, next->certificate()));  // signed in the token

  // A second start names the same label: it is the next key already.
  RolloverStart again;
  again.pkcs11 = token.key("ca-next");
  EXPECT_FALSE(start_rollover(ca.store, *ring2, again, ca.clock, testing::rng()).changed);

  // activate: the authority issues through the token.
  activate_rollover(ca.store, ca.clock);
  ca.authority->reload(open_ca(ca.store, both, testing::rng()).ring);
  const TestCa::Host host = ca.enrol("web1.example.com");
  const auto issued = certificate_of(host.certificate.der);
  EXPECT_TRUE(signed_by(issued, ring2->find(2)->certificate()));
  EXPECT_FALSE(signed_by(issued, old_cert));
  // Admins see where each key is.
  const CaStatus status = ca.authority->ca_status(false);
  ASSERT_EQ(status.keys.size(), 2u);
  EXPECT_EQ(status.keys[0].held_in, "database");
  EXPECT_EQ(status.keys[1].held_in, "pkcs11:hostca/ca-next");

  // finish, revoking what key 1 issued: its CRL is signed by key 1 still.
  RolloverFinish finish;
  finish.revoke_remaining = true;
  EXPECT_TRUE(ca.authority->finish_rollover(finish).changed);

  // And back: a software key, encrypted with the passphrase, which must
  // open the other key kept in the database (key 1).
  const auto ring3 = open_ca(ca.store, both, testing::rng()).ring;
  RolloverStart wrong_passphrase;
  wrong_passphrase.passphrase = "another passphrase, long enough";
  const auto before = database_state(ca.conninfo);
  EXPECT_REFUSED(start_rollover(ca.store, *ring3, wrong_passphrase, ca.clock, testing::rng()),
                 ErrorKind::kFailedPrecondition, "passphrase does not open");
  EXPECT_EQ(database_state(ca.conninfo), before);

  RolloverStart to_software;
  to_software.passphrase = kTestPassphrase;
  const RolloverStep back = start_rollover(ca.store, *ring3, to_software, ca.clock, testing::rng());
  EXPECT_EQ(back.generation, 3);
  EXPECT_TRUE(query_value<bool>(ca.conninfo,
                                "SELECT encrypted_private_key_pem IS NOT NULL AND pkcs11_key_label"
                                " IS NULL FROM ca_keys WHERE generation = 3"));
  activate_rollover(ca.store, ca.clock);
  const auto ring4 = open_ca(ca.store, both, testing::rng()).ring;
  ca.authority->reload(ring4);
  const TestCa::Host host2 = ca.enrol("web2.example.com");
  EXPECT_TRUE(signed_by(certificate_of(host2.certificate.der), ring4->find(3)->certificate()));
}

TEST(CaKeyInToken, ANextKeyMayNotBeAKeyTheCaHasAndARefusedStartWritesNothing) {
  SoftHsmToken token;
  const std::string conninfo = PostgresCluster::instance().fresh_database();
  store::PgStore store({conninfo, 2});
  FakeClock clock(testing::test_start_time());
  initialize_ca(store, token_init(token, "ca-1"), clock, testing::rng());
  const auto ring = open_ca(store, with_pin(token), testing::rng()).ring;
  const auto before = database_state(conninfo);

  RolloverStart same;
  same.pkcs11 = token.key("ca-1");
  EXPECT_REFUSED(start_rollover(store, *ring, same, clock, testing::rng()),
                 ErrorKind::kFailedPrecondition, "is CA key 1 already");
  RolloverStart no_passphrase;  // a software next key needs one
  EXPECT_REFUSED(start_rollover(store, *ring, no_passphrase, clock, testing::rng()),
                 ErrorKind::kInvalidArgument, "at least");
  EXPECT_EQ(database_state(conninfo), before);
}

}  // namespace
}  // namespace hostca
