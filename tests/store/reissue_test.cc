// Reissue against the real PostgreSQL: one unit of work that checks the
// reissue token (or the host's auto-reissue window), revokes every
// still-valid certificate of the host, publishes the shard's CRL and issues
// the new certificate; a failure at any step, the last included, leaves the
// database as it was.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <botan/hex.h>
#include <botan/system_rng.h>
#include <nlohmann/json.hpp>

#include "common/uuid.h"
#include "support/crypto_fixtures.h"
#include "support/expect_error.h"
#include "support/fault_injecting_store.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::current_crl;
using testing::database_state;
using testing::FaultInjectingStore;
using testing::query_value;
using testing::TestCa;

constexpr int kSuperseded = 4;

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::int64_t max_audit(const TestCa& ca) {
  return query_value<std::int64_t>(ca.conninfo, "SELECT max(sequence) FROM audit_log");
}

std::vector<std::string> audit_actions_after(TestCa& ca, std::int64_t after) {
  std::vector<std::string> out;
  for (const auto& row : ca.authority->list_audit(static_cast<std::uint64_t>(after), 100)) {
    out.push_back(row.action);
  }
  return out;
}

int token_uses(const TestCa& ca, const std::string& token_id) {
  return query_value<int>(ca.conninfo, "SELECT uses FROM tokens WHERE token_id = $1::uuid",
                          token_id);
}

TEST(Reissue, RevokesEveryEarlierValidCertificateAndListsThemOnTheShardCrl) {
  TestCa ca;
  const TestCa::Host host = ca.enrol("web-01.example");
  // A year on, the enrolment certificate expired exactly now; two renewals
  // are valid at once.
  ca.clock.set(host.certificate.not_after);
  const IssuedCertificate renewal_1 = ca.insert_renewal(host.host_id);
  const IssuedCertificate renewal_2 = ca.insert_renewal(host.host_id);
  const CreatedToken token = ca.new_reissue_token(host.host_id);
  const std::int64_t crl_number_before = ca.authority->crls(host.crl_shard)[0].crl_number;
  const auto before = database_state(ca.conninfo);
  const std::int64_t stream_head = ca.authority->revocation_stream_head();
  const std::int64_t last_audit = max_audit(ca);

  const Reissue r = ca.authority->reissue(ca.reissue_request(host.host_id, token.token.reveal()));

  // The response names every still-valid certificate, and only those.
  EXPECT_EQ(sorted(r.revoked_serials), sorted({renewal_1.serial_hex, renewal_2.serial_hex}));
  // The new certificate: same host ID, a new serial.
  EXPECT_EQ(r.host_id, host.host_id);
  const std::set<std::string> earlier = {host.serial_hex, renewal_1.serial_hex,
                                         renewal_2.serial_hex};
  EXPECT_EQ(earlier.count(r.certificate.serial_hex), 0u);
  EXPECT_EQ(r.certificate.certificate().subject_info("X520.CommonName"),
            std::vector<std::string>{host.host_id});
  EXPECT_EQ(r.certificate.certificate().subject_alt_name().get_attribute("URI"),
            std::vector<std::string>{"urn:uuid:" + host.host_id});
  EXPECT_EQ(r.certificate.certificate().subject_alt_name().get_attribute("DNS"),
            std::vector<std::string>{"web-01.example"});

  // In the database: superseded at this instant; the expired one untouched.
  const auto state = [&](const std::string& serial) {
    return query_value<std::string>(
        ca.conninfo,
        "SELECT kind || ' ' || coalesce(revocation_reason::text, '-') || ' ' ||"
        " coalesce((revoked_at = $2::timestamptz)::text, '-') || ' ' || crl_shard || ' ' ||"
        " host_id::text FROM certificates WHERE serial_hex = $1",
        serial, format_rfc3339(ca.clock.now()));
  };
  const std::string tail = " " + std::to_string(host.crl_shard) + " " + host.host_id;
  EXPECT_EQ(state(host.serial_hex), "enroll - -" + tail);
  EXPECT_EQ(state(renewal_1.serial_hex), "renew 4 true" + tail);
  EXPECT_EQ(state(renewal_2.serial_hex), "renew 4 true" + tail);
  EXPECT_EQ(state(r.certificate.serial_hex), "reissue - -" + tail);
  EXPECT_EQ(token_uses(ca, token.token_id), 1);

  // The shard's CRL: the next number, listing both as superseded.
  const auto crl = current_crl(*ca.authority, host.crl_shard);
  EXPECT_EQ(crl.row.crl_number, crl_number_before + 1);
  EXPECT_EQ(crl.crl.crl_number(), static_cast<std::uint32_t>(crl.row.crl_number));
  EXPECT_EQ(crl.entries, (std::map<std::string, int>{{renewal_1.serial_hex, kSuperseded},
                                                     {renewal_2.serial_hex, kSuperseded}}));
  EXPECT_TRUE(crl.crl.is_revoked(renewal_1.certificate()));
  EXPECT_TRUE(crl.crl.is_revoked(renewal_2.certificate()));
  EXPECT_FALSE(crl.crl.is_revoked(host.certificate.certificate()));
  EXPECT_FALSE(crl.crl.is_revoked(r.certificate.certificate()));
  EXPECT_EQ(crl.row.this_update, ca.clock.now());
  EXPECT_TRUE(crl.crl.check_signature(
      *Botan::X509_Certificate(ca.authority->ca_certificate().der).load_subject_public_key()));

  // Exactly one CRL published, one certificate more, two revoked.
  const auto after = database_state(ca.conninfo);
  EXPECT_EQ(after.crl_numbers, before.crl_numbers + 1);
  EXPECT_EQ(after.certificates, before.certificates + 1);
  EXPECT_EQ(after.revoked_certificates, before.revoked_certificates + 2);
  EXPECT_EQ(after.token_uses, before.token_uses + 1);

  // The stream says the same.
  const auto events = ca.authority->revocation_events(stream_head, 100);
  ASSERT_EQ(events.size(), 2u);
  std::vector<std::string> event_serials;
  for (const auto& e : events) {
    event_serials.push_back(e.serial_hex);
    EXPECT_EQ(e.host_id, host.host_id);
    EXPECT_EQ(e.reason, kSuperseded);
    EXPECT_EQ(e.shard, host.crl_shard);
    EXPECT_EQ(e.crl_number, crl.row.crl_number);
    EXPECT_EQ(e.revoked_at, ca.clock.now());
  }
  EXPECT_EQ(sorted(event_serials), sorted(r.revoked_serials));

  // And the audit log, in the order things happened.
  EXPECT_EQ(audit_actions_after(ca, last_audit),
            (std::vector<std::string>{"certificate.revoke", "certificate.revoke", "crl.publish",
                                      "token.use", "certificate.reissue"}));
  const auto audit = ca.authority->list_audit(static_cast<std::uint64_t>(last_audit), 100);
  const auto details = nlohmann::json::parse(audit.back().details_json);
  EXPECT_EQ(audit.back().actor, "token:" + token.token_id);
  EXPECT_EQ(audit.back().subject, host.host_id);
  EXPECT_EQ(details.at("serial"), r.certificate.serial_hex);
  EXPECT_EQ(sorted(details.at("revoked").get<std::vector<std::string>>()),
            sorted(r.revoked_serials));
}

TEST(Reissue, RevokedHostIsTrustedAgainWithoutPublishingACrl) {
  TestCa ca;
  const TestCa::Host host = ca.enrol("db.example");
  RevocationRequest revoke;
  revoke.host_id = host.host_id;
  revoke.reason_code = 1;
  ca.authority->revoke(ca.admin(), revoke);
  const std::int64_t crl_number = ca.authority->crls(host.crl_shard)[0].crl_number;
  const CreatedToken token = ca.new_reissue_token(host.host_id);

  const Reissue r = ca.authority->reissue(ca.reissue_request(host.host_id, token.token.reveal()));

  EXPECT_TRUE(r.revoked_serials.empty());
  EXPECT_EQ(ca.authority->crls(host.crl_shard)[0].crl_number, crl_number);
  EXPECT_TRUE(ca.authority->get_host(host.host_id).host.has_valid_certificate);
  // The revocation for keyCompromise stays as it was.
  EXPECT_EQ(current_crl(*ca.authority, host.crl_shard).entries,
            (std::map<std::string, int>{{host.serial_hex, 1}}));
}

// The reissue runs over a FaultInjectingStore that throws at one step; the
// database must be exactly as before, and the same token must then work.
class ReissueFault : public ::testing::Test {
 protected:
  ReissueFault()
      : faulty_(ca_.store), authority_(ca_.make_authority(faulty_)), host_(ca_.enrol("a.example")) {
    other_ = ca_.enrol("b.example");
    // Something already on a CRL.
    RevocationRequest r;
    r.host_id = other_.host_id;
    ca_.authority->revoke(ca_.admin(), r);
    token_ = std::make_unique<CreatedToken>(ca_.new_reissue_token(host_.host_id));
  }

  // A reissue that renames the host too, so the rename must be undone as well.
  ReissueRequest request() const {
    ReissueRequest r = ca_.reissue_request(host_.host_id, token_->token.reveal());
    r.hostname = "a-renamed.example";
    r.aliases = {"alias.example"};
    return r;
  }

  void expect_nothing_changed(const testing::DatabaseState& before,
                              const std::vector<store::CrlShardRow>& crls_before,
                              const std::vector<store::RevocationEventRow>& events_before) {
    EXPECT_EQ(database_state(ca_.conninfo), before);
    const auto crls_after = ca_.authority->crls(std::nullopt);
    ASSERT_EQ(crls_after.size(), crls_before.size());
    for (std::size_t i = 0; i < crls_after.size(); ++i) {
      EXPECT_EQ(crls_after[i].crl_number, crls_before[i].crl_number) << "shard " << i;
      EXPECT_EQ(crls_after[i].der, crls_before[i].der) << "shard " << i;
      EXPECT_EQ(crls_after[i].this_update, crls_before[i].this_update) << "shard " << i;
    }
    const auto events_after = ca_.authority->revocation_events(0, 1000);
    EXPECT_EQ(events_after.size(), events_before.size());
    EXPECT_EQ(token_uses(ca_, token_->token_id), 0);
    EXPECT_EQ(ca_.authority->get_host(host_.host_id).host.host.hostname, "a.example");
    EXPECT_EQ(
        query_value<std::string>(
            ca_.conninfo,
            "SELECT coalesce(revoked_at::text, 'valid') FROM certificates WHERE serial_hex = $1",
            host_.serial_hex),
        "valid");
  }

  TestCa ca_;
  FaultInjectingStore faulty_;
  std::unique_ptr<Authority> authority_;
  TestCa::Host host_;
  TestCa::Host other_;
  std::unique_ptr<CreatedToken> token_;
};

TEST_F(ReissueFault, FailureAtTheLastAuditAppendLeavesEverythingAsItWasAndTheTokenStillWorks) {
  const auto before = database_state(ca_.conninfo);
  const auto crls_before = ca_.authority->crls(std::nullopt);
  const auto events_before = ca_.authority->revocation_events(0, 1000);
  faulty_.fail_at_audit("certificate.reissue");

  const std::string msg = HOSTCA_EXPECT_ERROR(authority_->reissue(request()), ErrorKind::kInternal);
  EXPECT_NE(msg.find("fault injected"), std::string::npos) << msg;
  ASSERT_TRUE(faulty_.fault_fired());
  // The fault came last: after the certificate was inserted, the CRL saved,
  // the event appended and the token counted.
  const auto calls = faulty_.last_calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), "append_audit");
  for (const char* step : {"revoke_host_certificates", "assign_host_names", "save_crl",
                           "append_revocation_event", "insert_certificate", "count_token_use"}) {
    EXPECT_NE(std::find(calls.begin(), calls.end(), step), calls.end()) << step;
  }
  EXPECT_TRUE(faulty_.committed_crls().empty());
  expect_nothing_changed(before, crls_before, events_before);

  // The same token then works, and does everything once.
  const Reissue r = authority_->reissue(request());
  EXPECT_EQ(r.revoked_serials, std::vector<std::string>{host_.serial_hex});
  EXPECT_EQ(token_uses(ca_, token_->token_id), 1);
  const auto after = database_state(ca_.conninfo);
  EXPECT_EQ(after.crl_numbers, before.crl_numbers + 1);
  EXPECT_EQ(after.certificates, before.certificates + 1);
  EXPECT_EQ(after.revocation_events, before.revocation_events + 1);
  EXPECT_EQ(ca_.authority->get_host(host_.host_id).host.host.hostname, "a-renamed.example");
}

TEST_F(ReissueFault, FailureAtAnyStepLeavesEverythingAsItWas) {
  const auto before = database_state(ca_.conninfo);
  const auto crls_before = ca_.authority->crls(std::nullopt);
  const auto events_before = ca_.authority->revocation_events(0, 1000);
  const std::vector<std::string> steps = {
      "find_token_for_update", "lock_host", "revoke_host_certificates", "assign_host_names",
      "lock_crl_shard", "list_crl_entries", "save_crl",
      // retire_expired_crl_entries runs only when an entry
      // expired: CrlPublication tests fail it there.
      "append_revocation_event", "insert_certificate", "count_token_use"};
  for (const auto& step : steps) {
    SCOPED_TRACE(step);
    faulty_.fail_at(step);
    HOSTCA_EXPECT_ERROR(authority_->reissue(request()), ErrorKind::kInternal);
    EXPECT_TRUE(faulty_.fault_fired());
    expect_nothing_changed(before, crls_before, events_before);
  }
  for (const char* action : {"certificate.revoke", "crl.publish", "token.use"}) {
    SCOPED_TRACE(action);
    faulty_.fail_at_audit(action);
    HOSTCA_EXPECT_ERROR(authority_->reissue(request()), ErrorKind::kInternal);
    EXPECT_TRUE(faulty_.fault_fired());
    expect_nothing_changed(before, crls_before, events_before);
  }
  EXPECT_NO_THROW(authority_->reissue(request()));
}

// Refusals: each gets its precise kind and leaves every table as it was.
class ReissueRefusal : public ::testing::Test {
 protected:
  ReissueRefusal() : a_(ca_.enrol("a.example")), b_(ca_.enrol("b.example")) {}

  std::string refused(const ReissueRequest& request, ErrorKind kind) {
    const auto before = database_state(ca_.conninfo);
    const std::string msg = HOSTCA_EXPECT_ERROR(ca_.authority->reissue(request), kind);
    EXPECT_EQ(database_state(ca_.conninfo), before);
    return msg;
  }

  TestCa ca_;
  TestCa::Host a_;
  TestCa::Host b_;
};

TEST_F(ReissueRefusal, TokenForAnotherHostIsPermissionDeniedAndStillWorksForItsHost) {
  const CreatedToken for_a = ca_.new_reissue_token(a_.host_id);
  const std::string msg =
      refused(ca_.reissue_request(b_.host_id, for_a.token.reveal()), ErrorKind::kPermissionDenied);
  EXPECT_NE(msg.find("another host"), std::string::npos) << msg;
  EXPECT_NE(msg.find(b_.host_id), std::string::npos) << msg;
  EXPECT_TRUE(ca_.authority->get_host(b_.host_id).host.has_valid_certificate);

  const Reissue r = ca_.authority->reissue(ca_.reissue_request(a_.host_id, for_a.token.reveal()));
  EXPECT_EQ(r.revoked_serials, std::vector<std::string>{a_.serial_hex});
}

TEST_F(ReissueRefusal, SecondUseOfAReissueTokenIsResourceExhausted) {
  const CreatedToken token = ca_.new_reissue_token(a_.host_id);
  ca_.authority->reissue(ca_.reissue_request(a_.host_id, token.token.reveal()));
  const std::string msg =
      refused(ca_.reissue_request(a_.host_id, token.token.reveal()), ErrorKind::kResourceExhausted);
  EXPECT_NE(msg.find("used up (1 of 1 uses)"), std::string::npos) << msg;
}

TEST_F(ReissueRefusal, ExpiredTokenIsPermissionDeniedAndWorksOneSecondBefore) {
  const CreatedToken token = ca_.new_reissue_token(a_.host_id, std::chrono::hours(2));
  EXPECT_EQ(token.expires_at, ca_.clock.now() + std::chrono::hours(2));
  ca_.clock.set(token.expires_at);
  const std::string msg =
      refused(ca_.reissue_request(a_.host_id, token.token.reveal()), ErrorKind::kPermissionDenied);
  EXPECT_NE(msg.find("expired at " + format_rfc3339(token.expires_at)), std::string::npos) << msg;

  ca_.clock.set(token.expires_at - std::chrono::seconds(1));
  EXPECT_NO_THROW(ca_.authority->reissue(ca_.reissue_request(a_.host_id, token.token.reveal())));
}

TEST_F(ReissueRefusal, DeletedTokenIsPermissionDenied) {
  const CreatedToken token = ca_.new_reissue_token(a_.host_id);
  ca_.authority->delete_token(ca_.admin(), token.token_id);
  refused(ca_.reissue_request(a_.host_id, token.token.reveal()), ErrorKind::kPermissionDenied);
}

TEST_F(ReissueRefusal, AuthorizationTokenAdminKeyOrUnknownTokenIsUnauthenticated) {
  const CreatedToken authorization = ca_.new_token(5);
  refused(ca_.reissue_request(a_.host_id, authorization.token.reveal()),
          ErrorKind::kUnauthenticated);
  refused(ca_.reissue_request(a_.host_id, ca_.init.admin_key.reveal()),
          ErrorKind::kUnauthenticated);
  Botan::System_RNG rng;
  const SecretToken unknown = SecretToken::generate(SecretKind::kReissueToken, rng);
  const std::string msg =
      refused(ca_.reissue_request(a_.host_id, unknown.reveal()), ErrorKind::kUnauthenticated);
  EXPECT_EQ(msg.find(unknown.reveal()), std::string::npos) << msg;
  EXPECT_EQ(token_uses(ca_, authorization.token_id), 0);
}

TEST_F(ReissueRefusal, NoTokenAndNoAutoReissueWindowIsUnauthenticated) {
  const std::string msg = refused(ca_.reissue_request(a_.host_id, ""), ErrorKind::kUnauthenticated);
  EXPECT_NE(msg.find("reissue token"), std::string::npos) << msg;
}

TEST_F(ReissueRefusal, MalformedHostIdOrCsrIsInvalidArgument) {
  const CreatedToken token = ca_.new_reissue_token(a_.host_id);
  refused(ca_.reissue_request("not-a-uuid", token.token.reveal()), ErrorKind::kInvalidArgument);
  ReissueRequest bad_csr = ca_.reissue_request(a_.host_id, token.token.reveal());
  bad_csr.csr = Bytes{0x30, 0x03, 0x02, 0x01, 0x00};
  refused(bad_csr, ErrorKind::kInvalidArgument);
  ReissueRequest bad_name = ca_.reissue_request(a_.host_id, token.token.reveal());
  bad_name.hostname = "bad_name.example";
  refused(bad_name, ErrorKind::kInvalidArgument);
  EXPECT_EQ(token_uses(ca_, token.token_id), 0);
}

TEST_F(ReissueRefusal, CsrWithAnotherHostsKeyIsInvalidArgumentAskingForANewKeyPair) {
  const CreatedToken token = ca_.new_reissue_token(a_.host_id);
  ReissueRequest request = ca_.reissue_request(a_.host_id, token.token.reveal());
  request.csr = testing::csr_der(*b_.key);
  std::string msg = refused(request, ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("key pair"), std::string::npos) << msg;
  EXPECT_NE(msg.find("new"), std::string::npos) << msg;
  EXPECT_NE(msg.find(b_.host_id), std::string::npos) << msg;

  // Enrolment too.
  const CreatedToken authorization = ca_.new_token(1);
  EnrollmentRequest enrolment = testing::enrollment("c.example", authorization.token.reveal());
  enrolment.csr = testing::csr_der(*b_.key);
  const auto before = database_state(ca_.conninfo);
  msg = HOSTCA_EXPECT_ERROR(ca_.authority->enroll(enrolment), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("key pair"), std::string::npos) << msg;
  EXPECT_NE(msg.find("new"), std::string::npos) << msg;
  EXPECT_EQ(database_state(ca_.conninfo), before);
}

TEST_F(ReissueRefusal, CsrWithTheHostsOwnEarlierKeyIsInvalidArgument) {
  const CreatedToken token = ca_.new_reissue_token(a_.host_id);
  ReissueRequest request = ca_.reissue_request(a_.host_id, token.token.reveal());
  request.csr = testing::csr_der(*a_.key);
  std::string msg = refused(request, ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("new key pair"), std::string::npos) << msg;

  // Nor the key of the certificate a reissue just gave it.
  std::shared_ptr<const Botan::Private_Key> second_key;
  ca_.authority->reissue(ca_.reissue_request(a_.host_id, token.token.reveal(), &second_key));
  const CreatedToken again = ca_.new_reissue_token(a_.host_id);
  request = ca_.reissue_request(a_.host_id, again.token.reveal());
  request.csr = testing::csr_der(*second_key);
  msg = refused(request, ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("new key pair"), std::string::npos) << msg;
}

TEST_F(ReissueRefusal, ReissueTokenForAnUnknownHostIsNotFound) {
  const std::string unknown = new_uuid(testing::rng());
  const auto before = database_state(ca_.conninfo);
  HOSTCA_EXPECT_ERROR(ca_.authority->create_reissue_token(ca_.admin(), {unknown, {}, ""}),
                      ErrorKind::kNotFound);
  EXPECT_EQ(database_state(ca_.conninfo), before);
}

// Runs every request at once, each on its own thread; returns how many
// succeeded and the kinds of the refusals.
std::pair<int, std::map<ErrorKind, int>> reissue_at_once(
    Authority& authority, const std::vector<ReissueRequest>& requests) {
  std::promise<void> go;
  const std::shared_future<void> start = go.get_future().share();
  std::vector<std::future<std::optional<ErrorKind>>> outcomes;
  for (const auto& request : requests) {
    outcomes.push_back(std::async(std::launch::async, [&]() -> std::optional<ErrorKind> {
      start.wait();
      try {
        authority.reissue(request);
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
  return {ok, refused};
}

void expect_one_new_certificate(const TestCa& ca, const TestCa::Host& host,
                                std::int64_t crl_number_before) {
  EXPECT_EQ(query_value<int>(ca.conninfo,
                             "SELECT count(*) FROM certificates WHERE host_id = $1::uuid"
                             " AND kind = 'reissue'",
                             host.host_id),
            1);
  EXPECT_EQ(query_value<int>(ca.conninfo,
                             "SELECT count(*) FROM certificates WHERE host_id = $1::uuid"
                             " AND revoked_at IS NULL",
                             host.host_id),
            1);
  EXPECT_EQ(query_value<std::int64_t>(
                ca.conninfo, "SELECT crl_number FROM crl_shards WHERE shard = $1", host.crl_shard),
            crl_number_before + 1);
}

TEST(ReissueRace, TenConcurrentReissuesWithOneTokenGiveExactlyOne) {
  constexpr int kThreads = 10;
  TestCa ca(kThreads + 2);
  const TestCa::Host host = ca.enrol("race.example");
  const CreatedToken token = ca.new_reissue_token(host.host_id);
  std::vector<ReissueRequest> requests;
  for (int i = 0; i < kThreads; ++i) {
    requests.push_back(ca.reissue_request(host.host_id, token.token.reveal()));
  }
  const std::int64_t crl_number = ca.authority->crls(host.crl_shard)[0].crl_number;

  const auto [ok, refused] = reissue_at_once(*ca.authority, requests);

  EXPECT_EQ(ok, 1);
  EXPECT_EQ(refused.size(), 1u);
  EXPECT_EQ(
      refused.count(ErrorKind::kResourceExhausted) ? refused.at(ErrorKind::kResourceExhausted) : 0,
      kThreads - 1);
  EXPECT_EQ(token_uses(ca, token.token_id), 1);
  expect_one_new_certificate(ca, host, crl_number);
}

TEST(ReissueRace, TenConcurrentReissuesInOneAutoReissueWindowGiveExactlyOne) {
  constexpr int kThreads = 10;
  TestCa ca(kThreads + 2);
  const TestCa::Host host = ca.enrol("race.example");
  ca.authority->allow_auto_reissue(ca.admin(), host.host_id, std::chrono::hours(1));
  std::vector<ReissueRequest> requests;
  for (int i = 0; i < kThreads; ++i) requests.push_back(ca.reissue_request(host.host_id, ""));
  const std::int64_t crl_number = ca.authority->crls(host.crl_shard)[0].crl_number;

  const auto [ok, refused] = reissue_at_once(*ca.authority, requests);

  EXPECT_EQ(ok, 1);
  EXPECT_EQ(refused.size(), 1u);
  EXPECT_EQ(
      refused.count(ErrorKind::kUnauthenticated) ? refused.at(ErrorKind::kUnauthenticated) : 0,
      kThreads - 1);
  expect_one_new_certificate(ca, host, crl_number);
}

TEST(ReissueRename, NewHostNameRenamesTheHostAndItsCertificate) {
  TestCa ca;
  const TestCa::Host host = ca.enrol("old-name.example");
  const CreatedToken token = ca.new_reissue_token(host.host_id);
  ReissueRequest request = ca.reissue_request(host.host_id, token.token.reveal());
  request.hostname = "New-Name.Example";
  request.aliases = {"alias.example"};
  const std::int64_t last_audit = max_audit(ca);

  const Reissue r = ca.authority->reissue(request);

  const HostDetails details = ca.authority->get_host(host.host_id);
  EXPECT_EQ(details.host.host.hostname, "new-name.example");
  EXPECT_EQ(details.host.host.aliases, std::vector<std::string>{"alias.example"});
  EXPECT_EQ(r.certificate.certificate().subject_alt_name().get_attribute("DNS"),
            (std::vector<std::string>{"new-name.example", "alias.example"}));
  EXPECT_EQ(r.host_id, host.host_id);
  const auto audit = ca.authority->list_audit(static_cast<std::uint64_t>(last_audit), 100);
  ASSERT_FALSE(audit.empty());
  const auto details_json = nlohmann::json::parse(audit.back().details_json);
  EXPECT_EQ(details_json.at("renamed"), true);
  EXPECT_EQ(details_json.at("hostname"), "new-name.example");

  // The old name is free again: its certificate was revoked by the reissue.
  EXPECT_NO_THROW(ca.enrol("old-name.example"));
}

TEST(ReissueRename, NameAnotherHostHoldsIsAlreadyExistsWhateverItsCertificates) {
  TestCa ca;
  const TestCa::Host host = ca.enrol("a.example");
  const TestCa::Host holder = ca.enrol("taken.example");
  const CreatedToken token = ca.new_reissue_token(host.host_id);
  ReissueRequest request = ca.reissue_request(host.host_id, token.token.reveal());
  request.hostname = "TAKEN.example.";
  const auto before = database_state(ca.conninfo);

  const std::string msg =
      HOSTCA_EXPECT_ERROR(ca.authority->reissue(request), ErrorKind::kAlreadyExists);

  EXPECT_NE(msg.find("taken.example"), std::string::npos) << msg;
  // The holder's host ID is not the token holder's business.
  EXPECT_EQ(msg.find(holder.host_id), std::string::npos) << msg;
  EXPECT_EQ(database_state(ca.conninfo), before);
  // A revoked certificate does not free the name: it stays with its host.
  RevocationRequest revoke;
  revoke.host_id = holder.host_id;
  ca.authority->revoke(ca.admin(), revoke);
  const auto revoked = database_state(ca.conninfo);
  HOSTCA_EXPECT_ERROR(ca.authority->reissue(request), ErrorKind::kAlreadyExists);
  EXPECT_EQ(database_state(ca.conninfo), revoked);
  // Once an admin releases it, it can move.
  NameRelease release;
  release.host_id = holder.host_id;
  release.name = "taken.example";
  EXPECT_TRUE(ca.authority->release_host_name(ca.admin(), release).empty());
  EXPECT_NO_THROW(ca.authority->reissue(request));
  EXPECT_EQ(ca.authority->get_host(host.host_id).host.host.hostname, "taken.example");
}

class AutoReissue : public ::testing::Test {
 protected:
  AutoReissue() : host_(ca_.enrol("auto.example")) {}
  TestCa ca_;
  TestCa::Host host_;
};

TEST_F(AutoReissue, WindowAllowsOneReissueWithoutAToken) {
  const TimePoint until =
      ca_.authority->allow_auto_reissue(ca_.admin(), host_.host_id, std::chrono::hours(12));
  EXPECT_EQ(until, ca_.clock.now() + std::chrono::hours(12));
  EXPECT_EQ(ca_.authority->get_host(host_.host_id).host.host.auto_reissue_until, until);
  const std::int64_t last_audit = max_audit(ca_);

  const Reissue r = ca_.authority->reissue(ca_.reissue_request(host_.host_id, ""));

  EXPECT_EQ(r.revoked_serials, std::vector<std::string>{host_.serial_hex});
  const auto audit = ca_.authority->list_audit(static_cast<std::uint64_t>(last_audit), 100);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back().action, "certificate.reissue");
  EXPECT_EQ(audit.back().actor, "host:" + host_.host_id);
  EXPECT_EQ(nlohmann::json::parse(audit.back().details_json).at("auto_reissue"), true);
  // The window closes with its one use.
  EXPECT_EQ(ca_.authority->get_host(host_.host_id).host.host.auto_reissue_until, std::nullopt);
  const auto before = database_state(ca_.conninfo);
  HOSTCA_EXPECT_ERROR(ca_.authority->reissue(ca_.reissue_request(host_.host_id, "")),
                      ErrorKind::kUnauthenticated);
  EXPECT_EQ(database_state(ca_.conninfo), before);
}

TEST_F(AutoReissue, AReissueWithATokenClosesAnOpenWindowToo) {
  ca_.authority->allow_auto_reissue(ca_.admin(), host_.host_id, std::chrono::hours(12));
  const std::string token = ca_.new_reissue_token(host_.host_id).token.reveal();
  ca_.authority->reissue(ca_.reissue_request(host_.host_id, token));
  EXPECT_EQ(ca_.authority->get_host(host_.host_id).host.host.auto_reissue_until, std::nullopt);
  const auto before = database_state(ca_.conninfo);
  HOSTCA_EXPECT_ERROR(ca_.authority->reissue(ca_.reissue_request(host_.host_id, "")),
                      ErrorKind::kUnauthenticated);
  EXPECT_EQ(database_state(ca_.conninfo), before);
}

TEST_F(AutoReissue, WindowIsAtMost48Hours) {
  const auto before = database_state(ca_.conninfo);
  std::string msg = HOSTCA_EXPECT_ERROR(
      ca_.authority->allow_auto_reissue(ca_.admin(), host_.host_id,
                                        std::chrono::hours(48) + std::chrono::seconds(1)),
      ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("48h"), std::string::npos) << msg;
  HOSTCA_EXPECT_ERROR(
      ca_.authority->allow_auto_reissue(ca_.admin(), host_.host_id, std::chrono::hours(24 * 7)),
      ErrorKind::kInvalidArgument);
  HOSTCA_EXPECT_ERROR(
      ca_.authority->allow_auto_reissue(ca_.admin(), host_.host_id, Duration::zero()),
      ErrorKind::kInvalidArgument);
  EXPECT_EQ(database_state(ca_.conninfo), before);
  EXPECT_EQ(ca_.authority->allow_auto_reissue(ca_.admin(), host_.host_id, std::chrono::hours(48)),
            ca_.clock.now() + std::chrono::hours(48));
}

TEST_F(AutoReissue, WindowEndsAtItsEndAndWorksOneSecondBefore) {
  const TimePoint until =
      ca_.authority->allow_auto_reissue(ca_.admin(), host_.host_id, std::chrono::hours(12));
  ca_.clock.set(until);
  const auto before = database_state(ca_.conninfo);
  HOSTCA_EXPECT_ERROR(ca_.authority->reissue(ca_.reissue_request(host_.host_id, "")),
                      ErrorKind::kUnauthenticated);
  EXPECT_EQ(database_state(ca_.conninfo), before);

  ca_.clock.set(until - std::chrono::seconds(1));
  EXPECT_NO_THROW(ca_.authority->reissue(ca_.reissue_request(host_.host_id, "")));
}

TEST_F(AutoReissue, WindowOnlyOpensForItsHost) {
  const TestCa::Host other = ca_.enrol("other.example");
  ca_.authority->allow_auto_reissue(ca_.admin(), host_.host_id, std::chrono::hours(12));
  const auto before = database_state(ca_.conninfo);
  HOSTCA_EXPECT_ERROR(ca_.authority->reissue(ca_.reissue_request(other.host_id, "")),
                      ErrorKind::kUnauthenticated);
  EXPECT_EQ(database_state(ca_.conninfo), before);
}

TEST_F(AutoReissue, UnknownHostIsNotFoundAndMalformedHostIdInvalidArgument) {
  const auto before = database_state(ca_.conninfo);
  const std::string unknown = new_uuid(testing::rng());
  const std::string msg = HOSTCA_EXPECT_ERROR(
      ca_.authority->allow_auto_reissue(ca_.admin(), unknown, std::chrono::hours(1)),
      ErrorKind::kNotFound);
  EXPECT_NE(msg.find(unknown), std::string::npos) << msg;
  HOSTCA_EXPECT_ERROR(
      ca_.authority->allow_auto_reissue(ca_.admin(), "host-1", std::chrono::hours(1)),
      ErrorKind::kInvalidArgument);
  EXPECT_EQ(database_state(ca_.conninfo), before);
}

}  // namespace
}  // namespace hostca
