// Enrolment against the real PostgreSQL: what a successful one stores, that
// token uses are counted atomically under concurrency, and that every
// refusal leaves the database as it was.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <botan/certstor.h>
#include <botan/hex.h>
#include <botan/system_rng.h>
#include <botan/x509path.h>
#include <nlohmann/json.hpp>

#include "store/pg_tx.h"
#include "support/crypto_fixtures.h"
#include "support/expect_error.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::database_state;
using testing::enrollment;
using testing::query_value;
using testing::TestCa;

std::chrono::system_clock::time_point system_time(TimePoint t) {
  return std::chrono::system_clock::time_point(t.time_since_epoch());
}

TEST(Enrollment, StoresHostCertificateTokenUseAndAuditRows) {
  TestCa ca;
  const CreatedToken token = ca.new_token(2);
  const auto before = database_state(ca.conninfo);
  const std::int64_t last_audit =
      query_value<std::int64_t>(ca.conninfo, "SELECT max(sequence) FROM audit_log");

  const Enrollment e = ca.authority->enroll(
      enrollment("Web-01.Example.com", token.token.reveal(), {"web-01", "www.example.com"}));

  // The host.
  EXPECT_EQ(query_value<std::string>(ca.conninfo,
                                     "SELECT hostname || ' ' || aliases::text FROM hosts"
                                     " WHERE host_id = $1::uuid",
                                     e.host_id),
            "web-01.example.com [\"web-01\", \"www.example.com\"]");
  // The certificate: stored DER parses and is the one returned.
  pqxx::connection conn(ca.conninfo);
  pqxx::read_transaction tx(conn);
  const auto row = tx.exec_params1(
      "SELECT serial_hex, host_id::text, kind, der,"
      " extract(epoch from not_before)::bigint, extract(epoch from not_after)::bigint,"
      " revoked_at IS NULL FROM certificates WHERE host_id = $1::uuid",
      e.host_id);
  const pqxx::binarystring der(row[3]);
  const Botan::X509_Certificate stored(std::vector<std::uint8_t>(der.begin(), der.end()));
  EXPECT_EQ(row[0].as<std::string>(), e.certificate.serial_hex);
  EXPECT_EQ(Botan::hex_encode(stored.serial_number(), false), e.certificate.serial_hex);
  EXPECT_EQ(stored.BER_encode(), e.certificate.certificate().BER_encode());
  EXPECT_EQ(stored.subject_info("X520.CommonName"), std::vector<std::string>{e.host_id});
  EXPECT_EQ(row[2].as<std::string>(), "enroll");
  EXPECT_EQ(row[4].as<std::int64_t>(),
            std::chrono::duration_cast<std::chrono::seconds>(
                stored.not_before().to_std_timepoint().time_since_epoch())
                .count());
  EXPECT_EQ(row[5].as<std::int64_t>(), std::chrono::duration_cast<std::chrono::seconds>(
                                           stored.not_after().to_std_timepoint().time_since_epoch())
                                           .count());
  EXPECT_TRUE(row[6].as<bool>());
  // The certificate chains to the CA the authority shows hosts.
  const Botan::X509_Certificate ca_cert(ca.authority->ca_certificate().der);
  Botan::Certificate_Store_In_Memory trusted(ca_cert);
  const auto path = Botan::x509_path_validate(
      stored, Botan::Path_Validation_Restrictions(), trusted, "www.example.com",
      Botan::Usage_Type::TLS_CLIENT_AUTH, system_time(ca.clock.now()));
  EXPECT_TRUE(path.successful_validation()) << path.result_string();

  // One use counted.
  EXPECT_EQ(query_value<int>(ca.conninfo, "SELECT uses FROM tokens WHERE token_id = $1::uuid",
                             token.token_id),
            1);
  // Exactly one host, one certificate and two audit rows more.
  const auto after = database_state(ca.conninfo);
  EXPECT_EQ(after.hosts, before.hosts + 1);
  EXPECT_EQ(after.certificates, before.certificates + 1);
  EXPECT_EQ(after.token_uses, before.token_uses + 1);
  EXPECT_EQ(after.audit_log, before.audit_log + 2);
  const auto audit = ca.authority->list_audit(static_cast<std::uint64_t>(last_audit), 10);
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].action, "token.use");
  EXPECT_EQ(audit[0].actor, "token:" + token.token_id);
  EXPECT_EQ(audit[0].subject, token.token_id);
  EXPECT_EQ(audit[0].outcome, "ok");
  EXPECT_EQ(nlohmann::json::parse(audit[0].details_json).at("uses"), 1);
  EXPECT_EQ(audit[1].action, "certificate.issue");
  EXPECT_EQ(audit[1].actor, "token:" + token.token_id);
  EXPECT_EQ(audit[1].subject, e.host_id);
  EXPECT_EQ(audit[1].outcome, "ok");
  EXPECT_EQ(nlohmann::json::parse(audit[1].details_json).at("serial"), e.certificate.serial_hex);
  EXPECT_EQ(audit[1].at, ca.clock.now());
}

TEST(Enrollment, TwentyConcurrentEnrolmentsWithFiveUsesGiveExactlyFive) {
  constexpr int kThreads = 20;
  TestCa ca(kThreads + 2);
  const CreatedToken token = ca.new_token(5);
  std::vector<EnrollmentRequest> requests;
  for (int i = 0; i < kThreads; ++i) {
    requests.push_back(enrollment("race-" + std::to_string(i) + ".example", token.token.reveal()));
  }
  std::promise<void> go;
  const std::shared_future<void> start = go.get_future().share();
  std::vector<std::future<std::optional<ErrorKind>>> outcomes;
  for (int i = 0; i < kThreads; ++i) {
    outcomes.push_back(std::async(std::launch::async, [&, i]() -> std::optional<ErrorKind> {
      start.wait();
      try {
        ca.authority->enroll(requests[static_cast<std::size_t>(i)]);
        return std::nullopt;
      } catch (const Error& e) {
        return e.kind();
      }
    }));
  }
  go.set_value();
  int ok = 0;
  std::map<ErrorKind, int> refused;
  for (auto& f : outcomes) {
    const auto kind = f.get();
    if (kind) {
      ++refused[*kind];
    } else {
      ++ok;
    }
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(refused[ErrorKind::kResourceExhausted], kThreads - 5);
  EXPECT_EQ(refused.size(), 1u);
  EXPECT_EQ(query_value<int>(ca.conninfo, "SELECT uses FROM tokens WHERE token_id = $1::uuid",
                             token.token_id),
            5);
  EXPECT_EQ(
      query_value<int>(ca.conninfo, "SELECT count(*) FROM certificates WHERE kind = 'enroll'"), 5);
  EXPECT_EQ(query_value<int>(ca.conninfo, "SELECT count(*) FROM hosts"), 5);
  EXPECT_EQ(
      query_value<int>(ca.conninfo, "SELECT count(*) FROM audit_log WHERE action = 'token.use'"),
      5);
}

// Migration 0009's hostca_enrol_batch (a batch of one), called directly as the server calls it
// (one statement, no transaction around it): every check it makes again
// under the token's lock refuses alone, says which, and writes nothing.
class EnrolmentCall : public ::testing::Test {
 protected:
  store::HostRow host(const std::string& name,
                      const std::string& id = "7d1f1c36-0c4f-4d3e-9b36-3a4f0f5e0a01") const {
    store::HostRow h;
    h.host_id = id;
    h.hostname = name;
    h.created_at = ca_.clock.now();
    h.crl_shard = 3;
    return h;
  }
  store::CertificateRow certificate(const store::HostRow& h, std::uint8_t key_byte) const {
    store::CertificateRow c;
    c.serial_hex = "0a0b0c" + to_hex(Bytes{key_byte});
    c.host_id = h.host_id;
    c.kind = store::CertificateKind::kEnroll;
    c.not_before = h.created_at;
    c.not_after = h.created_at + std::chrono::hours(24);
    c.der = Bytes{0x30, 0x00};
    c.created_at = h.created_at;
    c.crl_shard = h.crl_shard;
    c.spki_sha256 = Bytes(32, key_byte);
    return c;
  }
  std::vector<store::AuditRow> audit() const {
    store::AuditRow use;
    use.at = ca_.clock.now();
    use.action = "token.use";  // the call fills in the actor, subject and counts
    use.outcome = "ok";
    use.details_json = R"({"uses": 99})";
    return {use};
  }
  store::EnrolmentResult call(const store::HostRow& h, const store::CertificateRow& c,
                              const Bytes& token_hash) {
    return ca_.store.autocommit(
        [&](store::Tx& tx) { return tx.enrol(token_hash, false, h, c, audit()); });
  }
  TestCa ca_;
};

TEST_F(EnrolmentCall, EachFailedCheckSaysWhichAndWritesNothing) {
  const Enrollment first =
      ca_.authority->enroll(enrollment("held.example", ca_.new_token(1).token.reveal()));
  const CreatedToken token = ca_.new_token(1);
  const auto before = database_state(ca_.conninfo);

  // A name another host holds.
  auto h = host("held.example");
  auto r = call(h, certificate(h, 0x11), token.token.hash());
  EXPECT_EQ(r.outcome, store::EnrolmentResult::Outcome::kNamesHeld);
  ASSERT_EQ(r.names_held.size(), 1u);
  EXPECT_EQ(r.names_held[0].name, "held.example");
  EXPECT_EQ(r.names_held[0].host_id, first.host_id);
  EXPECT_EQ(database_state(ca_.conninfo), before);

  // A key another host's certificate certifies.
  h = host("new.example");
  auto c = certificate(h, 0x11);
  c.spki_sha256 = sha256(first.certificate.certificate().subject_public_key_info());
  r = call(h, c, token.token.hash());
  EXPECT_EQ(r.outcome, store::EnrolmentResult::Outcome::kKeyHeld);
  EXPECT_EQ(r.key_holder, first.host_id);
  EXPECT_EQ(database_state(ca_.conninfo), before);

  // A token that is used up, or expired at the host's time, or unknown.
  const CreatedToken spent = ca_.new_token(1);
  ca_.authority->enroll(enrollment("spends.example", spent.token.reveal()));
  const auto before_spent = database_state(ca_.conninfo);
  r = call(h, certificate(h, 0x22), spent.token.hash());
  EXPECT_EQ(r.outcome, store::EnrolmentResult::Outcome::kTokenUnusable);
  EXPECT_EQ(r.token_id, spent.token_id);
  auto late = host("new.example");
  late.created_at = token.expires_at;
  r = call(late, certificate(late, 0x22), token.token.hash());
  EXPECT_EQ(r.outcome, store::EnrolmentResult::Outcome::kTokenUnusable);
  r = call(h, certificate(h, 0x22), Bytes(32, 0x5a));
  EXPECT_EQ(r.outcome, store::EnrolmentResult::Outcome::kUnknownToken);
  EXPECT_EQ(database_state(ca_.conninfo), before_spent);

  // Everything in order: written, and the token's use audited with the
  // count under the lock, not the count the caller sent.
  r = call(h, certificate(h, 0x22), token.token.hash());
  EXPECT_EQ(r.outcome, store::EnrolmentResult::Outcome::kEnrolled);
  EXPECT_EQ(r.token_id, token.token_id);
  EXPECT_EQ(query_value<int>(ca_.conninfo, "SELECT uses FROM tokens WHERE token_id = $1::uuid",
                             token.token_id),
            1);
  EXPECT_EQ(query_value<std::string>(
                ca_.conninfo, "SELECT host_id::text FROM host_names WHERE name = 'new.example'"),
            h.host_id);
  EXPECT_EQ(query_value<std::string>(ca_.conninfo,
                                     "SELECT actor || ' ' || (details->>'uses') || ' of ' ||"
                                     " (details->>'max_uses') FROM audit_log WHERE action ="
                                     " 'token.use' AND subject = $1",
                                     token.token_id),
            "token:" + token.token_id + " 1 of 1");
}

// Migration 0009's batch: each item is checked in order against the
// database and the items before it, gets its own outcome, and only the
// items that pass are written.
TEST_F(EnrolmentCall, ABatchChecksEachItemAfterTheOnesBeforeItAndWritesOnlyThoseThatPass) {
  const CreatedToken token = ca_.new_token(2);
  const CreatedToken other = ca_.new_token(1);
  const auto id = [](int i) { return "7d1f1c36-0c4f-4d3e-9b36-3a4f0f5e0a0" + std::to_string(i); };
  const auto item = [&](const std::string& name, int host, std::uint8_t key,
                        const CreatedToken* t) {
    const auto h = this->host(name, id(host));
    store::EnrolmentCall c{t ? t->token.hash() : Bytes(32, 0x5a), false, h, certificate(h, key),
                           audit()};
    return c;
  };
  const std::vector<store::EnrolmentCall> calls = {
      item("a.example", 1, 0x01, &token),   // passes: the token's first use
      item("b.example", 2, 0x01, &token),   // the key the item before took
      item("a.example", 3, 0x02, &token),   // the name the first item took
      item("c.example", 4, 0x03, &token),   // passes: the token's second use
      item("d.example", 5, 0x04, &token),   // the token is used up now
      item("e.example", 6, 0x05, nullptr),  // no such token
      item("f.example", 7, 0x06, &other),   // passes: another token
  };
  std::vector<const store::EnrolmentCall*> batch;
  for (const auto& c : calls) batch.push_back(&c);
  const auto results = ca_.store.autocommit(
      [&](store::Tx& tx) { return static_cast<store::PgTx&>(tx).enrol_batch(batch); });
  using Outcome = store::EnrolmentResult::Outcome;
  ASSERT_EQ(results.size(), calls.size());
  EXPECT_EQ(results[0].outcome, Outcome::kEnrolled);
  EXPECT_EQ(results[0].token_id, token.token_id);
  EXPECT_EQ(results[1].outcome, Outcome::kKeyHeld);
  EXPECT_EQ(results[1].key_holder, id(1));
  EXPECT_EQ(results[2].outcome, Outcome::kNamesHeld);
  ASSERT_EQ(results[2].names_held.size(), 1u);
  EXPECT_EQ(results[2].names_held[0].name, "a.example");
  EXPECT_EQ(results[2].names_held[0].host_id, id(1));
  EXPECT_EQ(results[3].outcome, Outcome::kEnrolled);
  EXPECT_EQ(results[4].outcome, Outcome::kTokenUnusable);
  EXPECT_EQ(results[4].token_id, token.token_id);
  EXPECT_EQ(results[5].outcome, Outcome::kUnknownToken);
  EXPECT_EQ(results[6].outcome, Outcome::kEnrolled);
  EXPECT_EQ(results[6].token_id, other.token_id);

  EXPECT_EQ(query_value<std::string>(
                ca_.conninfo, "SELECT string_agg(hostname, ' ' ORDER BY hostname) FROM hosts"),
            "a.example c.example f.example");
  EXPECT_EQ(query_value<std::string>(
                ca_.conninfo,
                "SELECT string_agg(name || '=' || host_id, ' ' ORDER BY name) FROM host_names"),
            "a.example=" + id(1) + " c.example=" + id(4) + " f.example=" + id(7));
  EXPECT_EQ(
      query_value<int>(ca_.conninfo, "SELECT count(*) FROM certificates WHERE kind = 'enroll'"), 3);
  EXPECT_EQ(query_value<int>(ca_.conninfo, "SELECT uses FROM tokens WHERE token_id = $1::uuid",
                             token.token_id),
            2);
  EXPECT_EQ(query_value<std::string>(
                ca_.conninfo,
                "SELECT string_agg((details->>'uses') || ' of ' || (details->>'max_uses'), ', '"
                " ORDER BY sequence) FROM audit_log WHERE action = 'token.use' AND subject = $1",
                token.token_id),
            "1 of 2, 2 of 2");

  // A batch in which nothing passes writes nothing.
  const auto before = database_state(ca_.conninfo);
  const std::vector<store::EnrolmentCall> refused = {item("g.example", 8, 0x07, &token),
                                                     item("a.example", 9, 0x08, &other)};
  const auto none = ca_.store.autocommit([&](store::Tx& tx) {
    return static_cast<store::PgTx&>(tx).enrol_batch({&refused[0], &refused[1]});
  });
  ASSERT_EQ(none.size(), 2u);
  EXPECT_EQ(none[0].outcome, Outcome::kTokenUnusable);
  EXPECT_EQ(none[1].outcome, Outcome::kTokenUnusable);
  EXPECT_EQ(database_state(ca_.conninfo), before);
}

// Refusals: each gets its precise kind and leaves every table as it was.
class EnrollmentRefusal : public ::testing::Test {
 protected:
  std::string refused(const EnrollmentRequest& request, ErrorKind kind) {
    const auto before = database_state(ca_.conninfo);
    const std::string msg = HOSTCA_EXPECT_ERROR(ca_.authority->enroll(request), kind);
    EXPECT_EQ(database_state(ca_.conninfo), before);
    return msg;
  }
  TestCa ca_;
};

TEST_F(EnrollmentRefusal, UnknownTokenIsUnauthenticated) {
  Botan::System_RNG rng;
  const SecretToken unknown = SecretToken::generate(SecretKind::kAuthorizationToken, rng);
  ca_.new_token(1);  // another token exists; it is not the one given
  const std::string msg =
      refused(enrollment("host.example", unknown.reveal()), ErrorKind::kUnauthenticated);
  EXPECT_NE(msg.find("unknown authorization token"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(unknown.reveal().substr(9)), std::string::npos) << msg;
}

TEST_F(EnrollmentRefusal, MalformedOrWrongKindOfTokenIsUnauthenticated) {
  refused(enrollment("host.example", ""), ErrorKind::kUnauthenticated);
  refused(enrollment("host.example", "hca_auth_tooshort"), ErrorKind::kUnauthenticated);
  const std::string msg =
      refused(enrollment("host.example", ca_.init.admin_key.reveal()), ErrorKind::kUnauthenticated);
  EXPECT_NE(msg.find("admin key, not a"), std::string::npos) << msg;
}

TEST_F(EnrollmentRefusal, TokenIsPermissionDeniedFromItsExpiryAndWorksOneSecondBefore) {
  const CreatedToken token = ca_.new_token(1, std::chrono::hours(1));
  EXPECT_EQ(token.expires_at, ca_.clock.now() + std::chrono::hours(1));
  ca_.clock.set(token.expires_at);
  std::string msg =
      refused(enrollment("host.example", token.token.reveal()), ErrorKind::kPermissionDenied);
  EXPECT_NE(msg.find("expired at " + format_rfc3339(token.expires_at)), std::string::npos) << msg;
  ca_.clock.set(token.expires_at + std::chrono::hours(24));
  refused(enrollment("host.example", token.token.reveal()), ErrorKind::kPermissionDenied);

  ca_.clock.set(token.expires_at - std::chrono::seconds(1));
  const Enrollment e = ca_.authority->enroll(enrollment("host.example", token.token.reveal()));
  EXPECT_FALSE(e.host_id.empty());
}

TEST_F(EnrollmentRefusal, DeletedTokenIsPermissionDenied) {
  const CreatedToken token = ca_.new_token(3);
  ca_.authority->delete_token(ca_.admin(), token.token_id);
  const std::string msg =
      refused(enrollment("host.example", token.token.reveal()), ErrorKind::kPermissionDenied);
  EXPECT_NE(msg.find("deleted"), std::string::npos) << msg;
}

TEST_F(EnrollmentRefusal, UsedUpTokenIsResourceExhausted) {
  const CreatedToken token = ca_.new_token(1);
  ca_.authority->enroll(enrollment("first.example", token.token.reveal()));
  const std::string msg =
      refused(enrollment("second.example", token.token.reveal()), ErrorKind::kResourceExhausted);
  EXPECT_NE(msg.find("used up (1 of 1 uses)"), std::string::npos) << msg;
}

TEST_F(EnrollmentRefusal, GarbageOrWeakCsrIsInvalidArgument) {
  const CreatedToken token = ca_.new_token(1);
  EnrollmentRequest request = enrollment("host.example", token.token.reveal());
  request.csr = Bytes{0x30, 0x82, 0x01, 0x00, 0x01, 0x02};
  std::string msg = refused(request, ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("PKCS#10"), std::string::npos) << msg;
  request.csr.clear();
  refused(request, ErrorKind::kInvalidArgument);
  request.csr = testing::csr_der(testing::shared_rsa_key(1024));
  msg = refused(request, ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("too weak"), std::string::npos) << msg;
  request.csr = testing::csr_der(*testing::ecdsa_key("secp256r1"));
  request.csr.back() ^= 0x01;
  msg = refused(request, ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("proof of possession"), std::string::npos) << msg;
}

TEST_F(EnrollmentRefusal, BadHostNameOrAliasIsInvalidArgument) {
  const CreatedToken token = ca_.new_token(1);
  for (const char* bad : {"", "under_score.example", "-lead.example", "a..b", "host.example.."}) {
    refused(enrollment(bad, token.token.reveal()), ErrorKind::kInvalidArgument);
  }
  refused(enrollment("host.example", token.token.reveal(), {"host.example"}),
          ErrorKind::kInvalidArgument);
  refused(enrollment("host.example", token.token.reveal(), {"a.example", "A.example"}),
          ErrorKind::kInvalidArgument);
  const std::string msg = refused(enrollment("host.example", token.token.reveal(), {"bad alias"}),
                                  ErrorKind::kInvalidArgument);
  EXPECT_EQ(msg.rfind("alias", 0), 0u) << msg;
}

TEST_F(EnrollmentRefusal, HostNameOfAnotherHostIsAlreadyExistsSaysToReissueAndHidesTheHost) {
  const CreatedToken token = ca_.new_token(5);
  const Enrollment first = ca_.authority->enroll(enrollment("db.example", token.token.reveal()));
  const std::string msg =
      refused(enrollment("DB.Example.", token.token.reveal()), ErrorKind::kAlreadyExists);
  EXPECT_NE(msg.find("reissue"), std::string::npos) << msg;
  EXPECT_NE(msg.find("release"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(first.host_id), std::string::npos) << msg;
}

TEST_F(EnrollmentRefusal, NameStaysWithItsHostAfterItsCertificateExpiredUntilReleased) {
  const CreatedToken token = ca_.new_token(1);
  const Enrollment first = ca_.authority->enroll(enrollment("db.example", token.token.reveal()));
  const TimePoint not_after = first.certificate.not_after;
  ASSERT_EQ(not_after, ca_.clock.now() + std::chrono::hours(24 * 365));

  ca_.clock.set(not_after - std::chrono::seconds(1));
  const CreatedToken late = ca_.new_token(2, std::chrono::hours(48));
  refused(enrollment("db.example", late.token.reveal()), ErrorKind::kAlreadyExists);
  ca_.clock.set(not_after + std::chrono::hours(24));
  refused(enrollment("db.example", late.token.reveal()), ErrorKind::kAlreadyExists);

  NameRelease release;
  release.host_id = first.host_id;
  release.name = "db.example";
  EXPECT_TRUE(ca_.authority->release_host_name(ca_.admin(), release).empty());
  const Enrollment second = ca_.authority->enroll(enrollment("db.example", late.token.reveal()));
  EXPECT_NE(second.host_id, first.host_id);
  EXPECT_EQ(
      query_value<std::string>(ca_.conninfo, "SELECT host_id::text FROM host_names WHERE name = $1",
                               std::string("db.example")),
      second.host_id);
  // The first host's record no longer names it.
  EXPECT_EQ(ca_.authority->get_host(first.host_id).host.host.hostname, "");
}

}  // namespace
}  // namespace hostca
