// Names and identities no caller can take, against the real PostgreSQL: a
// DNS name belongs to one host (the register of names, migration 0005),
// reserved names are never a host's, the name policy is data, an
// auto-reissue window keeps a host's names, and only an admin releases one.
// Each attack is written the way a token holder would try it.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <botan/x509cert.h>
#include <nlohmann/json.hpp>

#include "domain/bootstrap.h"
#include "support/crypto_fixtures.h"
#include "support/expect_error.h"
#include "support/postgres_cluster.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::database_state;
using testing::enrollment;
using testing::query_value;
using testing::TestCa;

// Who holds `name` in the register: a host ID, "server", or "" for nobody.
std::string holder_of(const TestCa& ca, const std::string& name) {
  return query_value<std::string>(ca.conninfo,
                                  "SELECT coalesce((SELECT coalesce(host_id::text, 'server')"
                                  " FROM host_names WHERE name = $1), '')",
                                  name);
}

// Every DNS name in a valid certificate, with the hosts whose valid
// certificates carry it: the invariant is one host per name.
std::map<std::string, std::set<std::string>> valid_names(TestCa& ca) {
  pqxx::connection conn(ca.conninfo);
  pqxx::read_transaction tx(conn);
  std::map<std::string, std::set<std::string>> out;
  const auto now = to_unix_micros(ca.clock.now());
  for (const auto& row : tx.exec_params(
           "SELECT host_id::text, der FROM certificates WHERE host_id IS NOT NULL"
           " AND revoked_at IS NULL AND not_after > 'epoch'::timestamptz + $1 * interval '1 "
           "microsecond'",
           now)) {
    const pqxx::binarystring der(row[1]);
    const Botan::X509_Certificate cert(std::vector<std::uint8_t>(der.begin(), der.end()));
    for (const auto& n : cert.subject_alt_name().get_attribute("DNS")) {
      out[n].insert(row[0].as<std::string>());
    }
  }
  return out;
}

void expect_one_host_per_name(TestCa& ca) {
  for (const auto& [name, hosts] : valid_names(ca)) {
    EXPECT_EQ(hosts.size(), 1u) << name << " is in valid certificates of " << hosts.size()
                                << " hosts";
  }
}

class Names : public ::testing::Test {
 protected:
  // The victim of the issue: victim.example.com with alias victim-alias.example.com.
  Names() {
    const CreatedToken token = ca_.new_token(1);
    victim_ = ca_.authority
                  ->enroll(enrollment("victim.example.com", token.token.reveal(),
                                      {"victim-alias.example.com"}))
                  .host_id;
  }

  // Refused with `kind`, the database exactly as it was.
  std::string refused_enrolment(const EnrollmentRequest& request, ErrorKind kind) {
    const auto before = database_state(ca_.conninfo);
    const std::string msg = HOSTCA_EXPECT_ERROR(ca_.authority->enroll(request), kind);
    EXPECT_EQ(database_state(ca_.conninfo), before);
    EXPECT_EQ(msg.find(victim_), std::string::npos) << "reveals the victim's host ID: " << msg;
    return msg;
  }
  std::string refused_reissue(const ReissueRequest& request, ErrorKind kind) {
    const auto before = database_state(ca_.conninfo);
    const std::string msg = HOSTCA_EXPECT_ERROR(ca_.authority->reissue(request), kind);
    EXPECT_EQ(database_state(ca_.conninfo), before);
    if (request.host_id != victim_) {
      EXPECT_EQ(msg.find(victim_), std::string::npos) << "reveals the victim's host ID: " << msg;
    }
    return msg;
  }

  TestCa ca_;
  std::string victim_;
};

TEST_F(Names, AnEnrolmentCannotTakeAnotherHostsNameOrAliasInAnySpelling) {
  const CreatedToken token = ca_.new_token(10);
  const std::string t = token.token.reveal();
  for (const auto& request : {
           enrollment("evil.example.com", t, {"victim.example.com"}),
           enrollment("evil.example.com", t, {"VICTIM.Example.com."}),
           enrollment("victim-alias.example.com", t),
           enrollment("Victim-Alias.example.COM.", t),
           enrollment("evil.example.com", t, {"victim-alias.example.com"}),
           enrollment("evil.example.com", t, {"ok.example.com", "victim-alias.example.com"}),
       }) {
    SCOPED_TRACE(request.hostname);
    const std::string msg = refused_enrolment(request, ErrorKind::kAlreadyExists);
    EXPECT_NE(msg.find("belong"), std::string::npos) << msg;
    EXPECT_NE(msg.find("reissue that host"), std::string::npos) << msg;
    EXPECT_NE(msg.find("release"), std::string::npos) << msg;
  }
  EXPECT_EQ(holder_of(ca_, "victim.example.com"), victim_);
  EXPECT_EQ(holder_of(ca_, "victim-alias.example.com"), victim_);
  // The token was not used by any of them.
  EXPECT_EQ(query_value<int>(ca_.conninfo, "SELECT uses FROM tokens WHERE token_id = $1::uuid",
                             token.token_id),
            0);
  expect_one_host_per_name(ca_);
}

TEST_F(Names, AReissueCannotAddAnotherHostsAliasOrTakeItsName) {
  const TestCa::Host evil = ca_.enrol("evil.example.com");
  const CreatedToken token = ca_.new_reissue_token(evil.host_id);
  ReissueRequest add_alias = ca_.reissue_request(evil.host_id, token.token.reveal());
  add_alias.aliases = {"victim-alias.example.com"};
  refused_reissue(add_alias, ErrorKind::kAlreadyExists);
  ReissueRequest rename = ca_.reissue_request(evil.host_id, token.token.reveal());
  rename.hostname = "victim.example.com";
  refused_reissue(rename, ErrorKind::kAlreadyExists);
  ReissueRequest rename_to_alias = ca_.reissue_request(evil.host_id, token.token.reveal());
  rename_to_alias.hostname = "evil2.example.com";
  rename_to_alias.aliases = {"Victim-Alias.example.com."};
  refused_reissue(rename_to_alias, ErrorKind::kAlreadyExists);
  // Nothing was revoked by the refused reissues: evil's certificate is still valid.
  EXPECT_EQ(query_value<int>(ca_.conninfo,
                             "SELECT count(*) FROM certificates WHERE host_id = $1::uuid"
                             " AND revoked_at IS NULL",
                             evil.host_id),
            1);
  expect_one_host_per_name(ca_);
}

TEST_F(Names, ANameStaysWithAHostWhoseCertificateWasRevoked) {
  RevocationRequest revoke;
  revoke.host_id = victim_;
  revoke.reason_code = static_cast<int>(RevocationReason::kKeyCompromise);
  ca_.authority->revoke(ca_.admin(), revoke);

  const CreatedToken token = ca_.new_token(5);
  refused_enrolment(enrollment("victim.example.com", token.token.reveal()),
                    ErrorKind::kAlreadyExists);
  refused_enrolment(enrollment("x.example.com", token.token.reveal(), {"victim-alias.example.com"}),
                    ErrorKind::kAlreadyExists);
  const TestCa::Host evil = ca_.enrol("evil.example.com");
  const CreatedToken reissue = ca_.new_reissue_token(evil.host_id);
  ReissueRequest rename = ca_.reissue_request(evil.host_id, reissue.token.reveal());
  rename.hostname = "victim.example.com";
  refused_reissue(rename, ErrorKind::kAlreadyExists);

  // The victim comes back with a plain reissue and its names.
  const CreatedToken mine = ca_.new_reissue_token(victim_);
  const Reissue back = ca_.authority->reissue(ca_.reissue_request(victim_, mine.token.reveal()));
  EXPECT_EQ(back.certificate.certificate().subject_alt_name().get_attribute("DNS"),
            (std::vector<std::string>{"victim.example.com", "victim-alias.example.com"}));
  expect_one_host_per_name(ca_);
}

TEST_F(Names, ReservedNamesAreRefusedAsHostNamesAndAliasesAndChangeNothing) {
  const CreatedToken token = ca_.new_token(50);
  const std::string t = token.token.reveal();
  const std::vector<std::pair<std::string, std::string>> reserved = {
      {"localhost", "localhost"},  {"LocalHost.", "localhost"}, {"db.localhost", "localhost"},
      {"127.0.0.1", "IP address"}, {"10.0.0.5", "IP address"},  {"::1", "IP address"},
      {"[::1]", "IP address"},     {"127.1", "IP address"},     {"*.example.com", "wildcard"},
      {"*", "wildcard"},
  };
  for (const auto& [name, rule] : reserved) {
    SCOPED_TRACE(name);
    const std::string as_host = refused_enrolment(enrollment(name, t), ErrorKind::kInvalidArgument);
    EXPECT_NE(as_host.find(rule), std::string::npos) << as_host;
    const std::string as_alias =
        refused_enrolment(enrollment("ok.example.com", t, {name}), ErrorKind::kInvalidArgument);
    EXPECT_NE(as_alias.find(rule), std::string::npos) << as_alias;
    EXPECT_EQ(as_alias.rfind("alias", 0), 0u) << as_alias;
  }
  // Nor may a reissue rename a host to one.
  const CreatedToken reissue = ca_.new_reissue_token(victim_);
  for (const auto& [name, rule] : reserved) {
    ReissueRequest rename = ca_.reissue_request(victim_, reissue.token.reveal());
    rename.hostname = name;
    refused_reissue(rename, ErrorKind::kInvalidArgument);
    ReissueRequest alias = ca_.reissue_request(victim_, reissue.token.reveal());
    alias.aliases = {name};
    refused_reissue(alias, ErrorKind::kInvalidArgument);
  }
}

TEST_F(Names, TheServersOwnNamesAreNeverGivenToAHost) {
  // The names of the TLS certificate a server serves are reserved when it starts.
  const auto key = testing::ecdsa_key("secp256r1");
  const auto server = ca_.issuer().issue_server_certificate(
      {"ca.example.com", "localhost", "127.0.0.1"}, *key, ca_.clock.now());
  const ServerTlsCheck check = reserve_server_names(ca_.store, server.pem(), ca_.clock);
  EXPECT_TRUE(check.has_marker);
  EXPECT_EQ(check.reserved, std::vector<std::string>{"ca.example.com"});
  EXPECT_TRUE(check.held_by_hosts.empty());
  EXPECT_EQ(holder_of(ca_, "ca.example.com"), "server");

  const CreatedToken token = ca_.new_token(5);
  for (const auto& request :
       {enrollment("CA.example.com.", token.token.reveal()),
        enrollment("web.example.com", token.token.reveal(), {"ca.example.com"})}) {
    const std::string msg = refused_enrolment(request, ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("the CA server's own name"), std::string::npos) << msg;
  }
  const CreatedToken reissue = ca_.new_reissue_token(victim_);
  ReissueRequest rename = ca_.reissue_request(victim_, reissue.token.reveal());
  rename.hostname = "ca.example.com";
  refused_reissue(rename, ErrorKind::kInvalidArgument);
  // Nor can an admin release a name of the server's as a host's.
  NameRelease release;
  release.host_id = victim_;
  release.name = "ca.example.com";
  HOSTCA_EXPECT_ERROR(ca_.authority->release_host_name(ca_.admin(), release), ErrorKind::kNotFound);
  EXPECT_EQ(holder_of(ca_, "ca.example.com"), "server");
}

TEST_F(Names, AServerNameAHostAlreadyHoldsStaysTheHostsAndIsReported) {
  const auto key = testing::ecdsa_key("secp256r1");
  const auto server = ca_.issuer().issue_server_certificate({"victim.example.com", "ca.example"},
                                                            *key, ca_.clock.now());
  const ServerTlsCheck check = reserve_server_names(ca_.store, server.pem(), ca_.clock);
  EXPECT_EQ(check.held_by_hosts, std::vector<std::string>{"victim.example.com"});
  EXPECT_EQ(check.reserved, std::vector<std::string>{"ca.example"});
  EXPECT_EQ(holder_of(ca_, "victim.example.com"), victim_);
  // A host certificate, for whatever name, is no server certificate.
  const auto host_pem = ca_.authority->get_host(victim_).certificates.front().certificate.der;
  const Botan::X509_Certificate host_cert(host_pem);
  EXPECT_FALSE(is_server_certificate(host_cert));
  EXPECT_FALSE(reserve_server_names(ca_.store, host_cert.PEM_encode(), ca_.clock).has_marker);
}

TEST(NamesAtInit, InitReservesTheServersDnsNames) {
  const std::string db = testing::PostgresCluster::instance().fresh_database();
  store::PgStore store(store::PgStoreOptions{db, 1});
  const FakeClock clock(testing::test_start_time());
  InitOptions options;
  options.passphrase = testing::kTestPassphrase;
  options.server_names = {"CA.Internal.Example", "localhost", "127.0.0.1"};
  initialize_ca(store, options, clock, testing::rng());
  EXPECT_EQ(query_value<std::string>(db,
                                     "SELECT string_agg(name || '=' ||"
                                     " coalesce(host_id::text, 'server'), ',') FROM host_names"),
            "ca.internal.example=server");
}

class AutoReissueNames : public Names {
 protected:
  AutoReissueNames() {
    ca_.authority->allow_auto_reissue(ca_.admin(), victim_, std::chrono::hours(12));
  }
};

TEST_F(AutoReissueNames, AWindowWithoutATokenCannotRenameOrChangeAliases) {
  // Whoever knows the host ID (every certificate's CN) can use the window.
  ReissueRequest rename = ca_.reissue_request(victim_, "");
  rename.hostname = "attacker.example.com";
  std::string msg = refused_reissue(rename, ErrorKind::kPermissionDenied);
  EXPECT_NE(msg.find("reissue token"), std::string::npos) << msg;
  ReissueRequest new_alias = ca_.reissue_request(victim_, "");
  new_alias.aliases = {"victim-alias.example.com", "extra.example.com"};
  refused_reissue(new_alias, ErrorKind::kPermissionDenied);
  ReissueRequest drop_alias = ca_.reissue_request(victim_, "");
  drop_alias.hostname = "victim.example.com";  // same name, but a rename drops the alias
  refused_reissue(drop_alias, ErrorKind::kPermissionDenied);

  // The same names, given again or not at all, are a plain reissue.
  ReissueRequest same = ca_.reissue_request(victim_, "");
  same.aliases = {"VICTIM-ALIAS.example.com."};
  const Reissue r = ca_.authority->reissue(same);
  EXPECT_EQ(r.certificate.certificate().subject_alt_name().get_attribute("DNS"),
            (std::vector<std::string>{"victim.example.com", "victim-alias.example.com"}));
}

TEST_F(Names, ARenameWithAReissueTokenReleasesTheOldNames) {
  const CreatedToken token = ca_.new_reissue_token(victim_);
  ReissueRequest rename = ca_.reissue_request(victim_, token.token.reveal());
  rename.hostname = "renamed.example.com";
  const Reissue r = ca_.authority->reissue(rename);
  EXPECT_EQ(r.certificate.certificate().subject_alt_name().get_attribute("DNS"),
            std::vector<std::string>{"renamed.example.com"});
  EXPECT_EQ(holder_of(ca_, "renamed.example.com"), victim_);
  EXPECT_EQ(holder_of(ca_, "victim.example.com"), "");
  EXPECT_EQ(holder_of(ca_, "victim-alias.example.com"), "");
  const auto audit = ca_.authority->list_audit(0, 1000);
  const auto& last = audit.back();
  ASSERT_EQ(last.action, "certificate.reissue");
  EXPECT_EQ(nlohmann::json::parse(last.details_json).at("released_names"),
            nlohmann::json({"victim-alias.example.com", "victim.example.com"}))
      << last.details_json;
  // Every certificate that carried them was revoked by the reissue.
  EXPECT_NO_THROW(ca_.enrol("victim.example.com"));
  expect_one_host_per_name(ca_);
}

TEST(NamePolicyData, TheCasAllowedSuffixesBindEnrolmentReissueAndRenewal) {
  TestCa ca;
  AuthorityConfig config = ca.config();
  config.names.allowed_suffixes = {"example.com"};
  store::PgStore other(store::PgStoreOptions{ca.conninfo, 2});
  const auto strict = ca.make_authority(other, config);
  const CreatedToken token = ca.new_token(5);
  const auto before = database_state(ca.conninfo);
  for (const auto& request : {enrollment("web.example.org", token.token.reveal()),
                              enrollment("web.example.com", token.token.reveal(), {"w.corp"}),
                              enrollment("example.com.evil.net", token.token.reveal())}) {
    const std::string msg =
        HOSTCA_EXPECT_ERROR(strict->enroll(request), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("names.allowed_suffixes: example.com"), std::string::npos) << msg;
  }
  EXPECT_EQ(database_state(ca.conninfo), before);
  const Enrollment ok = strict->enroll(enrollment("web.example.com", token.token.reveal()));
  const CreatedToken reissue = ca.new_reissue_token(ok.host_id);
  ReissueRequest rename = ca.reissue_request(ok.host_id, reissue.token.reveal());
  rename.hostname = "web.example.net";
  HOSTCA_EXPECT_ERROR(strict->reissue(rename), ErrorKind::kInvalidArgument);
}

TEST(TokenNamePolicy, AHostEnrolsOnlyWithNamesItsTokenAllows) {
  TestCa ca;
  NewAuthorizationToken request;
  request.name = "lab";
  request.max_uses = 5;
  request.allowed_names = {"*.lab.example.com", "DB01.example.com."};
  const CreatedToken token = ca.authority->create_authorization_token(ca.admin(), request);
  const auto listed = ca.authority->list_tokens(false);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed.front().token.allowed_names,
            (std::vector<std::string>{"*.lab.example.com", "db01.example.com"}));

  const auto before = database_state(ca.conninfo);
  for (const auto& bad :
       {enrollment("web.example.com", token.token.reveal()),
        enrollment("lab.example.com", token.token.reveal()),
        enrollment("a.lab.example.com", token.token.reveal(), {"db02.example.com"})}) {
    const std::string msg =
        HOSTCA_EXPECT_ERROR(ca.authority->enroll(bad), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("this authorization token allows (*.lab.example.com, db01.example.com)"),
              std::string::npos)
        << msg;
  }
  EXPECT_EQ(database_state(ca.conninfo), before);
  EXPECT_NO_THROW(ca.authority->enroll(
      enrollment("a.lab.example.com", token.token.reveal(), {"db01.example.com"})));
  EXPECT_NO_THROW(ca.authority->enroll(enrollment("b.c.lab.example.com", token.token.reveal())));
}

TEST(TokenNamePolicy, PatternsOutsideTheCasPolicyAreRefusedAtCreation) {
  TestCa ca;
  AuthorityConfig config = ca.config();
  config.names.allowed_suffixes = {"example.com"};
  store::PgStore other(store::PgStoreOptions{ca.conninfo, 2});
  const auto strict = ca.make_authority(other, config);
  const auto before = database_state(ca.conninfo);
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"db.example.org"},
                                             {"*.example.net"},
                                             {"localhost"},
                                             {"a*.example.com"},
                                             {"10.0.0.1"}}) {
    NewAuthorizationToken request;
    request.name = "t";
    request.allowed_names = bad;
    HOSTCA_EXPECT_ERROR(strict->create_authorization_token(ca.admin(), request),
                        ErrorKind::kInvalidArgument);
  }
  EXPECT_EQ(database_state(ca.conninfo), before);
}

TEST_F(Names, ReleaseRefusesWhileAValidCertificateCarriesTheNameUnlessItRevokesIt) {
  const std::string serial =
      ca_.authority->get_host(victim_).certificates.front().certificate.serial_hex;
  NameRelease release;
  release.host_id = victim_;
  release.name = "victim-alias.example.com";
  const auto before = database_state(ca_.conninfo);
  const std::string msg = HOSTCA_EXPECT_ERROR(
      ca_.authority->release_host_name(ca_.admin(), release), ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find(serial), std::string::npos) << msg;
  EXPECT_NE(msg.find("--revoke"), std::string::npos) << msg;
  EXPECT_EQ(database_state(ca_.conninfo), before);

  release.revoke_certificates = true;
  EXPECT_EQ(ca_.authority->release_host_name(ca_.admin(), release),
            std::vector<std::string>{serial});
  EXPECT_EQ(holder_of(ca_, "victim-alias.example.com"), "");
  EXPECT_EQ(holder_of(ca_, "victim.example.com"), victim_);
  const auto host = ca_.authority->get_host(victim_);
  EXPECT_TRUE(host.host.host.aliases.empty());
  // Revoked (cessationOfOperation) and on the published CRL of its shard.
  const auto crl = testing::current_crl(*ca_.authority, host.host.host.crl_shard);
  ASSERT_EQ(crl.entries.count(serial), 1u);
  EXPECT_EQ(crl.entries.at(serial), static_cast<int>(RevocationReason::kCessationOfOperation));
  const auto audit = ca_.authority->list_audit(0, 1000);
  EXPECT_EQ(audit.back().action, "host.release_name");
  EXPECT_EQ(audit.back().actor, ca_.admin().id);

  // Now another host may have it.
  const CreatedToken token = ca_.new_token(1);
  const Enrollment other = ca_.authority->enroll(
      enrollment("other.example.com", token.token.reveal(), {"victim-alias.example.com"}));
  EXPECT_EQ(holder_of(ca_, "victim-alias.example.com"), other.host_id);
  expect_one_host_per_name(ca_);
}

TEST_F(Names, ReleaseOfANameTheHostDoesNotHoldIsNotFoundAndChangesNothing) {
  const TestCa::Host other = ca_.enrol("other.example.com");
  const auto before = database_state(ca_.conninfo);
  NameRelease release;
  release.host_id = other.host_id;
  release.name = "victim.example.com";
  release.revoke_certificates = true;
  HOSTCA_EXPECT_ERROR(ca_.authority->release_host_name(ca_.admin(), release), ErrorKind::kNotFound);
  release.host_id = "00000000-0000-4000-8000-000000000000";
  HOSTCA_EXPECT_ERROR(ca_.authority->release_host_name(ca_.admin(), release), ErrorKind::kNotFound);
  release.host_id = "not a uuid";
  HOSTCA_EXPECT_ERROR(ca_.authority->release_host_name(ca_.admin(), release),
                      ErrorKind::kInvalidArgument);
  EXPECT_EQ(database_state(ca_.conninfo), before);
}

TEST_F(Names, AHostWhoseHostNameWasReleasedMustBeRenamedToReissue) {
  NameRelease release;
  release.host_id = victim_;
  release.name = "victim.example.com";
  release.revoke_certificates = true;
  ca_.authority->release_host_name(ca_.admin(), release);
  EXPECT_EQ(ca_.authority->get_host(victim_).host.host.hostname, "");
  const CreatedToken token = ca_.new_reissue_token(victim_);
  const std::string msg = refused_reissue(ca_.reissue_request(victim_, token.token.reveal()),
                                          ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("--hostname"), std::string::npos) << msg;
  ReissueRequest rename = ca_.reissue_request(victim_, token.token.reveal());
  rename.hostname = "victim2.example.com";
  rename.aliases = {"victim-alias.example.com"};
  const Reissue r = ca_.authority->reissue(rename);
  EXPECT_EQ(r.certificate.certificate().subject_alt_name().get_attribute("DNS"),
            (std::vector<std::string>{"victim2.example.com", "victim-alias.example.com"}));
}

TEST(NamesRace, ServersRacingToGiveOneNameToManyHostsGiveItToExactlyOne) {
  TestCa ca(8);
  store::PgStore second_store(store::PgStoreOptions{ca.conninfo, 8});
  const auto second = ca.make_authority(second_store);
  const CreatedToken token = ca.new_token(100);
  constexpr int kThreads = 16;
  std::atomic<int> ok{0}, taken{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Authority& server = i % 2 == 0 ? *ca.authority : *second;
      // Half ask for it as a host name, half as an alias, in varied spellings.
      const EnrollmentRequest request =
          i % 4 < 2 ? enrollment(i % 3 == 0 ? "Contested.Example.com." : "contested.example.com",
                                 token.token.reveal())
                    : enrollment("host" + std::to_string(i) + ".example.com", token.token.reveal(),
                                 {"CONTESTED.example.com"});
      try {
        server.enroll(request);
        ++ok;
      } catch (const Error& e) {
        (e.kind() == ErrorKind::kAlreadyExists ? taken : other)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(taken.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(
      query_value<int>(ca.conninfo,
                       "SELECT count(*) FROM host_names WHERE name = 'contested.example.com'"),
      1);
  EXPECT_EQ(query_value<int>(ca.conninfo, "SELECT count(*) FROM hosts"), 1);
  EXPECT_EQ(query_value<int>(ca.conninfo, "SELECT uses FROM tokens WHERE token_id = $1::uuid",
                             token.token_id),
            1);
  expect_one_host_per_name(ca);
}

TEST(NamesRace, ReissuesRacingToRenameTwoHostsToOneNameGiveItToExactlyOne) {
  TestCa ca(8);
  store::PgStore second_store(store::PgStoreOptions{ca.conninfo, 8});
  const auto second = ca.make_authority(second_store);
  constexpr int kHosts = 6;
  std::vector<ReissueRequest> requests;
  for (int i = 0; i < kHosts; ++i) {
    const TestCa::Host h = ca.enrol("h" + std::to_string(i) + ".example.com");
    ReissueRequest r =
        ca.reissue_request(h.host_id, ca.new_reissue_token(h.host_id).token.reveal());
    r.hostname = "wanted.example.com";
    requests.push_back(std::move(r));
  }
  std::atomic<int> ok{0}, taken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kHosts; ++i) {
    threads.emplace_back([&, i] {
      try {
        (i % 2 == 0 ? *ca.authority : *second).reissue(requests[static_cast<std::size_t>(i)]);
        ++ok;
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::kAlreadyExists) ++taken;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(taken.load(), kHosts - 1);
  expect_one_host_per_name(ca);
}

TEST(NamesInTheDatabase, TheRegisterRefusesTwoHoldersAndNamesNotInTheFormTheyAreComparedIn) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example.com");
  const TestCa::Host b = ca.enrol("b.example.com");
  pqxx::connection conn(ca.conninfo);
  for (const std::string& sql : std::vector<std::string>{
           "INSERT INTO host_names VALUES ('a.example.com', '" + b.host_id + "', now())",
           "UPDATE host_names SET name = 'a.example.com' WHERE name = 'b.example.com'",
           "INSERT INTO host_names VALUES ('A.example.com', '" + b.host_id + "', now())",
           "INSERT INTO host_names VALUES ('c.example.com.', '" + b.host_id + "', now())",
           "INSERT INTO host_names VALUES ('', '" + b.host_id + "', now())",
       }) {
    pqxx::work w(conn);
    EXPECT_THROW(w.exec(sql), pqxx::sql_error) << sql;
  }
  EXPECT_EQ(
      query_value<std::string>(ca.conninfo, "SELECT host_id::text FROM host_names WHERE name = $1",
                               std::string("a.example.com")),
      a.host_id);
}

}  // namespace
}  // namespace hostca
