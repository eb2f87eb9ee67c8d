// Issue 12 against the real database: what callers without a credential
// can no longer do (lock out a valid token, make the database grow), the
// bound on valid certificates per host and a host revoked whatever it holds,
// one clock for correctness, the server role's least privilege and the CA's
// one CRL base URL.
#include <gtest/gtest.h>

#include <botan/system_rng.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <future>
#include <set>
#include <thread>

#include "domain/bootstrap.h"
#include "service/admin_credential.h"
#include "support/crypto_fixtures.h"
#include "support/expect_error.h"
#include "support/fault_injecting_store.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::database_state;
using testing::query_value;
using testing::TestCa;

const std::string kNat = "ipv4:203.0.113.5";  // a thousand honest hosts share it

std::string port(const std::string& address, int p) { return address + ":" + std::to_string(p); }

std::string guess(SecretKind kind) {
  Botan::System_RNG rng;
  return SecretToken::generate(kind, rng).reveal();  // well formed, never issued
}

EnrollmentRequest enrolment_from(const std::string& peer, const std::string& hostname,
                                 const std::string& token) {
  EnrollmentRequest r = testing::enrollment(hostname, token);
  r.peer = peer;
  return r;
}

std::vector<store::AuditRow> audit_after(TestCa& ca, std::int64_t sequence) {
  return ca.authority->list_audit(static_cast<std::uint64_t>(sequence), 1000);
}

std::int64_t last_audit(const TestCa& ca) {
  return query_value<std::int64_t>(ca.conninfo, "SELECT max(sequence) FROM audit_log");
}

RenewalRequest renewal_with(const IssuedCertificate& current) {
  RenewalRequest r;
  r.client_certificate_pem = current.pem();
  r.csr = testing::csr_der(*testing::ecdsa_key("secp256r1"));
  return r;
}

TimePoint database_now(const TestCa& ca) {
  return from_unix_micros(query_value<std::int64_t>(
      ca.conninfo, "SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint"));
}

// ---------------------------------------------------------------- tokens

// The attack of issue 12: guesses from an address a fleet shares (NAT, a
// proxy) must not stop a valid token from that address, then or later.
TEST(TokenGuessing, FortyGuessesThenAValidTokenFromTheSameAddressSucceedsAtOnce) {
  TestCa ca;
  const CreatedToken valid = ca.new_token(1);
  const auto before = database_state(ca.conninfo);
  const int budget = ca.authority->config().token_attempts.budget;
  for (int i = 0; i < 40; ++i) {
    const auto code = i < budget ? ErrorKind::kUnauthenticated : ErrorKind::kResourceExhausted;
    const std::string msg = HOSTCA_EXPECT_ERROR(
        ca.authority->enroll(enrolment_from(port(kNat, 1000 + i), "g.example",
                                            guess(SecretKind::kAuthorizationToken))),
        code);
    if (i >= budget) {
      EXPECT_NE(msg.find("a valid token is accepted"), std::string::npos) << msg;
    }
  }
  EXPECT_EQ(database_state(ca.conninfo), before);
  const Enrollment e =
      ca.authority->enroll(enrolment_from(port(kNat, 2000), "valid.example", valid.token.reveal()));
  EXPECT_FALSE(e.host_id.empty());
  // And a reissue token from that address too.
  const CreatedToken reissue = ca.new_reissue_token(e.host_id);
  ReissueRequest r = ca.reissue_request(e.host_id, reissue.token.reveal());
  r.peer = port(kNat, 2001);
  EXPECT_EQ(ca.authority->reissue(r).host_id, e.host_id);
}

// Counts units of work on the way to the real store.
class CountingStore final : public store::Store {
 public:
  explicit CountingStore(store::Store& inner) : inner_(inner) {}
  void transact(const std::function<void(store::Tx&)>& work) override {
    ++units_;
    inner_.transact(work);
  }
  void autocommit(const std::function<void(store::Tx&)>& work) override {
    ++units_;
    inner_.autocommit(work);
  }
  int units() const { return units_; }

 private:
  store::Store& inner_;
  int units_ = 0;
};

// "Never slower", without timing anything: a valid token from an address
// past its budget takes the same units of work and the same statements as
// from an address that never failed (no extra lookup, no wait).
TEST(TokenGuessing, AValidTokenFromALockedOutAddressCostsWhatItCostsAnyone) {
  TestCa ca;
  testing::FaultInjectingStore recorder(ca.store);
  CountingStore counting(recorder);
  auto authority = ca.make_authority(counting);
  for (int i = 0; i < 40; ++i) {
    try {
      authority->enroll(
          enrolment_from(port(kNat, i), "g.example", guess(SecretKind::kAuthorizationToken)));
    } catch (const Error&) {
    }
  }
  const auto cost = [&](const std::string& peer, const std::string& name) {
    const std::string token = ca.new_token(1).token.reveal();
    const int before = counting.units();
    authority->enroll(enrolment_from(peer, name, token));
    return std::make_pair(counting.units() - before, recorder.last_calls());
  };
  const auto locked = cost(port(kNat, 99), "locked.example");
  const auto fresh = cost(port("ipv4:192.0.2.44", 1), "fresh.example");
  EXPECT_EQ(locked.first, 1);  // one call: hostca_enrol_batch (migration 0009)
  EXPECT_EQ(locked, fresh);
}

TEST(TokenGuessing, MalformedTokensCountAsGuessesToo) {
  TestCa ca;
  const int budget = ca.authority->config().token_attempts.budget;
  for (int i = 0; i < budget; ++i) {
    HOSTCA_EXPECT_ERROR(ca.authority->enroll(enrolment_from(port(kNat, i), "g.example", "nope")),
                        ErrorKind::kUnauthenticated);
  }
  HOSTCA_EXPECT_ERROR(ca.authority->enroll(enrolment_from(port(kNat, 99), "g.example", "nope")),
                      ErrorKind::kResourceExhausted);
}

// Expired, used-up, deleted and another host's tokens are real tokens:
// refused with their own message, audited (in aggregate), never counted.
TEST(TokenGuessing, RealTokensRefusedAreAuditedButNeverCountedAsGuesses) {
  TestCa ca;
  const auto a = ca.enrol("a.example");
  const auto b = ca.enrol("b.example");
  const CreatedToken expired = ca.new_token(1, std::chrono::hours(1));
  const CreatedToken used_up = ca.new_token(1);
  ca.authority->enroll(enrolment_from(port(kNat, 1), "used.example", used_up.token.reveal()));
  const CreatedToken deleted = ca.new_token(1);
  ca.authority->delete_token(ca.admin(), deleted.token_id);
  const CreatedToken b_token = ca.new_reissue_token(b.host_id);
  ca.clock.advance(std::chrono::hours(1));  // `expired` expires now; the others stay valid
  const auto before = database_state(ca.conninfo);
  const std::int64_t last = last_audit(ca);

  const int rounds = ca.authority->config().token_attempts.budget * 2;
  for (int i = 0; i < rounds; ++i) {
    const std::string p = port(kNat, 100 + i);
    EXPECT_NE(HOSTCA_EXPECT_ERROR(
                  ca.authority->enroll(enrolment_from(p, "x.example", expired.token.reveal())),
                  ErrorKind::kPermissionDenied)
                  .find("expired"),
              std::string::npos);
    EXPECT_NE(HOSTCA_EXPECT_ERROR(
                  ca.authority->enroll(enrolment_from(p, "x.example", used_up.token.reveal())),
                  ErrorKind::kResourceExhausted)
                  .find("used up"),
              std::string::npos);
    HOSTCA_EXPECT_ERROR(
        ca.authority->enroll(enrolment_from(p, "x.example", deleted.token.reveal())),
        ErrorKind::kPermissionDenied);
    ReissueRequest wrong_host = ca.reissue_request(a.host_id, b_token.token.reveal());
    wrong_host.peer = p;
    HOSTCA_EXPECT_ERROR(ca.authority->reissue(wrong_host), ErrorKind::kPermissionDenied);
  }
  EXPECT_EQ(database_state(ca.conninfo), before);
  // Not one of those was a guess: an unknown token is still just unknown.
  HOSTCA_EXPECT_ERROR(ca.authority->enroll(enrolment_from(port(kNat, 9), "x.example",
                                                          guess(SecretKind::kAuthorizationToken))),
                      ErrorKind::kUnauthenticated);
  // Audited once the window closes: one row per token and address, with the count.
  ca.clock.advance(ca.authority->config().refusal_audit.window);
  EXPECT_EQ(ca.authority->flush_refusals(false), 4u);
  std::map<std::string, std::string> reasons;
  for (const auto& row : audit_after(ca, last)) {
    ASSERT_EQ(row.action, "token.refused");
    EXPECT_EQ(row.actor, "peer:" + kNat);
    const auto details = nlohmann::json::parse(row.details_json);
    EXPECT_EQ(details["count"].get<int>(), rounds);
    reasons[row.subject] = details["reasons"].begin().key();
  }
  EXPECT_EQ(reasons,
            (std::map<std::string, std::string>{{expired.token_id, "expired"},
                                                {used_up.token_id, "used_up"},
                                                {deleted.token_id, "deleted"},
                                                {b_token.token_id, "another host's token"}}));
}

// 20 hosts behind one address race for a 5-use token: the 15 refused as
// used up are no guesses, and reissues from that address still work.
TEST(TokenGuessing, TokensUsedUpInARaceDoNotLockTheAddressOut) {
  TestCa ca(8);
  const auto host = ca.enrol("held.example");
  const CreatedToken shared = ca.new_token(5);
  std::vector<std::future<bool>> racers;
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  for (int i = 0; i < 20; ++i) {
    racers.push_back(std::async(std::launch::async, [&, i] {
      start.wait();
      try {
        ca.authority->enroll(enrolment_from(
            port(kNat, 3000 + i), "race" + std::to_string(i) + ".example", shared.token.reveal()));
        return true;
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kResourceExhausted) << e.what();
        return false;
      }
    }));
  }
  go.set_value();
  int won = 0;
  for (auto& r : racers) won += r.get() ? 1 : 0;
  EXPECT_EQ(won, 5);
  for (int i = 0; i < 30; ++i) {
    HOSTCA_EXPECT_ERROR(ca.authority->enroll(enrolment_from(port(kNat, 4000 + i), "late.example",
                                                            shared.token.reveal())),
                        ErrorKind::kResourceExhausted);
  }
  ReissueRequest r = ca.reissue_request(host.host_id, guess(SecretKind::kReissueToken));
  r.peer = port(kNat, 5000);
  HOSTCA_EXPECT_ERROR(ca.authority->reissue(r), ErrorKind::kUnauthenticated);  // not locked out
  ReissueRequest ok =
      ca.reissue_request(host.host_id, ca.new_reissue_token(host.host_id).token.reveal());
  ok.peer = port(kNat, 5001);
  EXPECT_EQ(ca.authority->reissue(ok).host_id, host.host_id);
}

// No buckets by token prefix: guessers at many addresses do not lock out
// an address that has not guessed.
TEST(TokenGuessing, GuessesElsewhereNeverCountAgainstAnotherAddress) {
  TestCa ca;
  const auto host = ca.enrol("h.example");
  // 2,000 guesses, ten from each of 200 addresses (the old per-prefix
  // buckets, 64 for all reissue tokens, would each be far past 20).
  for (int i = 0; i < 2000; ++i) {
    ReissueRequest r = ca.reissue_request(host.host_id, guess(SecretKind::kReissueToken));
    r.peer =
        port("ipv4:198.51." + std::to_string(i % 200 / 100) + "." + std::to_string(i % 100), 1);
    try {
      ca.authority->reissue(r);
    } catch (const Error&) {
    }
  }
  ReissueRequest r = ca.reissue_request(host.host_id, guess(SecretKind::kReissueToken));
  r.peer = port("ipv4:192.0.2.1", 1);
  HOSTCA_EXPECT_ERROR(ca.authority->reissue(r), ErrorKind::kUnauthenticated);
}

TEST(TokenGuessing, ALockoutIsAuditedOncePerAddressPerWindowWithoutAnyToken) {
  TestCa ca;
  const std::int64_t last = last_audit(ca);
  std::vector<std::string> guesses;
  for (int i = 0; i < 100; ++i) {
    guesses.push_back(guess(SecretKind::kAuthorizationToken));
    try {
      ca.authority->enroll(enrolment_from(port(kNat, i), "g.example", guesses.back()));
    } catch (const Error&) {
    }
  }
  EXPECT_EQ(last_audit(ca), last);  // nothing written while it happens
  ca.clock.advance(ca.authority->config().refusal_audit.window);
  EXPECT_EQ(ca.authority->flush_refusals(false), 1u);
  const auto rows = audit_after(ca, last);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].action, "token.rate_limited");
  EXPECT_EQ(rows[0].actor, "peer:" + kNat);
  EXPECT_EQ(nlohmann::json::parse(rows[0].details_json)["count"].get<int>(),
            100 - ca.authority->config().token_attempts.budget);
  for (const auto& g : guesses) {
    EXPECT_EQ(rows[0].details_json.find(g.substr(9)), std::string::npos);
  }
}

// ---------------------------------------------------------------- renewal

TEST(RenewalBound, AHostHoldsAtMostNValidCertificatesAndIsToldWhenItMayRenew) {
  TestCa ca;
  const auto host = ca.enrol("bounded.example");
  const int limit = ca.authority->config().max_valid_certificates_per_host;
  ASSERT_EQ(limit, 3);
  IssuedCertificate newest = host.certificate;
  for (int i = 1; i < limit; ++i) {
    ca.clock.advance(std::chrono::seconds(1));
    newest = ca.authority->renew(renewal_with(newest)).certificate;
  }
  ca.clock.advance(std::chrono::seconds(1));
  const auto before = database_state(ca.conninfo);
  const std::string msg = HOSTCA_EXPECT_ERROR(ca.authority->renew(renewal_with(newest)),
                                              ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("renewal is possible again at " + format_rfc3339(host.certificate.not_after)),
            std::string::npos)
      << msg;
  EXPECT_EQ(database_state(ca.conninfo), before);

  // One second before the oldest expires: still refused; at its expiry: renewed.
  ca.clock.set(host.certificate.not_after - std::chrono::seconds(1));
  HOSTCA_EXPECT_ERROR(ca.authority->renew(renewal_with(newest)), ErrorKind::kFailedPrecondition);
  ca.clock.set(host.certificate.not_after);
  newest = ca.authority->renew(renewal_with(newest)).certificate;
  EXPECT_EQ(query_value<int>(ca.conninfo,
                             "SELECT count(*) FROM certificates WHERE host_id = $1::uuid"
                             " AND revoked_at IS NULL AND not_after > to_timestamp($2)",
                             host.host_id, to_unix_seconds(ca.clock.now())),
            limit);
}

TEST(RenewalBound, RevokingAnOlderCertificateMakesRoomAtOnce) {
  TestCa ca;
  const auto host = ca.enrol("room.example");
  IssuedCertificate newest = host.certificate;
  for (int i = 0; i < 2; ++i) {
    ca.clock.advance(std::chrono::seconds(1));
    newest = ca.authority->renew(renewal_with(newest)).certificate;
  }
  ca.clock.advance(std::chrono::seconds(1));
  HOSTCA_EXPECT_ERROR(ca.authority->renew(renewal_with(newest)), ErrorKind::kFailedPrecondition);
  RevocationRequest r;
  r.serial_hex = host.serial_hex;
  ca.authority->revoke(ca.admin(), r);
  EXPECT_NO_THROW(ca.authority->renew(renewal_with(newest)));
}

// However many certificates a host holds, revoking it by host ID is one
// unit of work that revokes, lists and streams every one.
TEST(HostRevocation, AHostWithMoreThan4096ValidCertificatesIsRevokedAsOne) {
  TestCa ca;
  const auto host = ca.enrol("many.example");
  {
    pqxx::connection conn(ca.conninfo);
    pqxx::work w(conn);
    w.exec_params(
        "INSERT INTO certificates (serial_hex, host_id, kind, not_before, not_after, der,"
        " created_at, crl_shard, ca_generation) SELECT 'ab' || lpad(to_hex(g), 14, '0'),"
        " $1::uuid, 'renew', to_timestamp($2), to_timestamp($2) + interval '1 year',"
        " '\\x00'::bytea, to_timestamp($2), $3, 1 FROM generate_series(1, 5000) AS g",
        host.host_id, to_unix_seconds(ca.clock.now()), host.crl_shard);
    w.commit();
  }
  const std::int64_t head = ca.authority->revocation_stream_head();
  const auto serials = ca.authority->revoke(ca.admin(), [&] {
    RevocationRequest r;
    r.host_id = host.host_id;
    return r;
  }());
  EXPECT_EQ(serials.size(), 5001u);
  const auto crl = testing::current_crl(*ca.authority, host.crl_shard);
  EXPECT_EQ(crl.entries.size(), 5001u);
  // The stream delivers every one, in order, each sequence once.
  std::vector<store::RevocationEventRow> events;
  std::int64_t cursor = head;
  for (;;) {
    const auto batch = ca.authority->revocation_events(cursor, 1000);
    if (batch.empty()) break;
    for (const auto& e : batch) {
      EXPECT_GT(e.sequence, cursor);
      cursor = e.sequence;
      events.push_back(e);
    }
  }
  EXPECT_EQ(events.size(), 5001u);
  std::set<std::string> streamed;
  for (const auto& e : events) streamed.insert(e.serial_hex);
  EXPECT_EQ(streamed, std::set<std::string>(serials.begin(), serials.end()));
}

// ---------------------------------------------------------------- certificate failures

CertificateFailureReport report_for(const std::string& host_id, const std::string& peer) {
  CertificateFailureReport r;
  r.host_id = host_id;
  r.pinned_spki_sha256 = std::string(64, 'a');
  r.presented_spki_sha256 = std::string(64, 'b');
  r.server = "ca.example:8443";
  r.peer = peer;
  return r;
}

TEST(CertificateFailureReports, UnverifiedReportsAreLimitedPerAddressAndAuditedInAggregate) {
  TestCa ca;
  const auto host = ca.enrol("reported.example");
  const std::int64_t last = last_audit(ca);
  const int budget = ca.authority->config().failure_reports.budget;
  for (int i = 0; i < budget; ++i) {
    EXPECT_TRUE(ca.authority->record_certificate_failure(report_for(host.host_id, port(kNat, i))));
  }
  const auto before = database_state(ca.conninfo);
  HOSTCA_EXPECT_ERROR(
      ca.authority->record_certificate_failure(report_for(host.host_id, port(kNat, 77))),
      ErrorKind::kResourceExhausted);
  EXPECT_EQ(database_state(ca.conninfo), before);
  const auto details = ca.authority->get_host(host.host_id).host.host;
  EXPECT_TRUE(details.certificate_failure_at);
  EXPECT_FALSE(details.certificate_failure_verified);
  EXPECT_EQ(last_audit(ca), last);  // nothing yet: one row per address and window
  ca.clock.advance(ca.authority->config().refusal_audit.window);
  EXPECT_EQ(ca.authority->flush_refusals(false), 2u);  // reports taken, and the refusal
  for (const auto& row : audit_after(ca, last)) {
    EXPECT_EQ(row.action, "host.certificate_failure");
    EXPECT_EQ(row.actor, "peer:" + kNat);
  }
}

TEST(CertificateFailureReports, AnAdminAcknowledgesAReportWithANoteThatTheAuditKeeps) {
  TestCa ca;
  const auto host = ca.enrol("acknowledged.example");
  const auto clean = ca.enrol("clean.example");
  ca.authority->record_certificate_failure(report_for(host.host_id, port(kNat, 1)));
  ASSERT_TRUE(ca.authority->get_host(host.host_id).host.host.certificate_failure_at);
  // Refusals first, each changing nothing.
  const auto before = database_state(ca.conninfo);
  HOSTCA_EXPECT_ERROR(
      ca.authority->acknowledge_certificate_failure(ca.admin(), clean.host_id, "checked"),
      ErrorKind::kFailedPrecondition);
  HOSTCA_EXPECT_ERROR(ca.authority->acknowledge_certificate_failure(
                          ca.admin(), "0f1e2d3c-4b5a-4697-8877-665544332211", "checked"),
                      ErrorKind::kNotFound);
  HOSTCA_EXPECT_ERROR(
      ca.authority->acknowledge_certificate_failure(ca.admin(), "not-a-host", "checked"),
      ErrorKind::kInvalidArgument);
  HOSTCA_EXPECT_ERROR(
      ca.authority->acknowledge_certificate_failure(ca.admin(), host.host_id, "line\nbreak"),
      ErrorKind::kInvalidArgument);
  EXPECT_EQ(database_state(ca.conninfo), before);
  ca.authority->flush_refusals(true);  // the report's own aggregated row, out of the way
  const std::int64_t last = last_audit(ca);
  ca.authority->acknowledge_certificate_failure(ca.admin(), host.host_id,
                                                "proxy in front of the CA; fixed");
  EXPECT_FALSE(ca.authority->get_host(host.host_id).host.host.certificate_failure_at);
  const auto rows = audit_after(ca, last);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].action, "host.failure_acknowledged");
  EXPECT_EQ(rows[0].actor, ca.admin().id);
  EXPECT_EQ(rows[0].subject, host.host_id);
  const auto details = nlohmann::json::parse(rows[0].details_json);
  EXPECT_EQ(details.at("note"), "proxy in front of the CA; fixed");
  EXPECT_EQ(details.at("verified"), false);
  EXPECT_NE(details.at("detail").get<std::string>(), "");
  // Once acknowledged there is nothing left to acknowledge.
  HOSTCA_EXPECT_ERROR(
      ca.authority->acknowledge_certificate_failure(ca.admin(), host.host_id, "again"),
      ErrorKind::kFailedPrecondition);
}

TEST(CertificateFailureReports, OnlyTheHostsOwnValidCertificateMakesAReportVerified) {
  TestCa ca;
  const auto host = ca.enrol("mine.example");
  const auto other = ca.enrol("other.example");
  // Another host's certificate: unverified.
  CertificateFailureReport r = report_for(host.host_id, port(kNat, 1));
  r.client_certificate_pem = other.certificate.certificate().PEM_encode();
  ca.authority->record_certificate_failure(r);
  EXPECT_FALSE(ca.authority->get_host(host.host_id).host.host.certificate_failure_verified);
  // Flood the address's budget: the host itself still gets through, verified.
  for (int i = 0; i < 50; ++i) {
    try {
      ca.authority->record_certificate_failure(report_for(host.host_id, port(kNat, i)));
    } catch (const Error&) {
    }
  }
  const std::int64_t last = last_audit(ca);
  r.client_certificate_pem = host.certificate.certificate().PEM_encode();
  EXPECT_TRUE(ca.authority->record_certificate_failure(r));
  const auto h = ca.authority->get_host(host.host_id).host.host;
  EXPECT_TRUE(h.certificate_failure_verified);
  const auto rows = audit_after(ca, last);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].actor, "host:" + host.host_id);
  // An unverified report from elsewhere never replaces it.
  CertificateFailureReport u = report_for(host.host_id, "ipv4:192.0.2.9:1");
  u.server = "rogue.example:1";
  ca.authority->record_certificate_failure(u);
  const auto after = ca.authority->get_host(host.host_id).host.host;
  EXPECT_TRUE(after.certificate_failure_verified);
  EXPECT_EQ(after.certificate_failure_detail, h.certificate_failure_detail);
  // A revoked certificate verifies nothing.
  RevocationRequest rev;
  rev.host_id = other.host_id;
  ca.authority->revoke(ca.admin(), rev);
  CertificateFailureReport o = report_for(other.host_id, "ipv4:192.0.2.10:1");
  o.client_certificate_pem = other.certificate.certificate().PEM_encode();
  ca.authority->record_certificate_failure(o);
  EXPECT_FALSE(ca.authority->get_host(other.host_id).host.host.certificate_failure_verified);
}

// ---------------------------------------------------------------- one clock

TEST(OneClock, AServerOutOfStepWithTheDatabaseIssuesAndPublishesNothing) {
  TestCa ca;
  const auto host = ca.enrol("before.example");
  const CreatedToken early = ca.new_token(1);
  ca.clock.set(database_now(ca) + std::chrono::seconds(30));
  EXPECT_GT(ca.authority->check_clock(), std::chrono::seconds(29));
  ASSERT_TRUE(ca.authority->clock_problem());
  const auto before = database_state(ca.conninfo);
  HOSTCA_EXPECT_ERROR(ca.authority->enroll(testing::enrollment("x.example", early.token.reveal())),
                      ErrorKind::kUnavailable);
  HOSTCA_EXPECT_ERROR(ca.authority->renew(renewal_with(host.certificate)), ErrorKind::kUnavailable);
  RevocationRequest r;
  r.host_id = host.host_id;
  const std::string msg =
      HOSTCA_EXPECT_ERROR(ca.authority->revoke(ca.admin(), r), ErrorKind::kUnavailable);
  EXPECT_NE(msg.find("ahead of the database's"), std::string::npos) << msg;
  HOSTCA_EXPECT_ERROR(ca.authority->republish_due_crls(), ErrorKind::kUnavailable);
  EXPECT_EQ(database_state(ca.conninfo), before);

  // Back in step (one second off, within the 2 s tolerance): it works again.
  ca.clock.set(database_now(ca) + std::chrono::seconds(1));
  ca.authority->check_clock();
  EXPECT_FALSE(ca.authority->clock_problem());
  const CreatedToken token = ca.new_token(1);
  EXPECT_NO_THROW(ca.authority->enroll(testing::enrollment("x.example", token.token.reveal())));
}

TEST(OneClock, NoCrlIsDatedPastTheDatabasesTimeNorCarriesSuchADateForward) {
  TestCa ca;
  ca.clock.set(database_now(ca));
  const auto a = ca.enrol("a.example");
  // A server running an hour fast (between two clock checks).
  ca.clock.set(database_now(ca) + std::chrono::hours(1));
  RevocationRequest r;
  r.host_id = a.host_id;
  ca.authority->revoke(ca.admin(), r);
  const TimePoint db = database_now(ca);
  const auto crl = testing::current_crl(*ca.authority, a.crl_shard);
  EXPECT_LE(crl.row.this_update, db);
  EXPECT_GT(crl.row.this_update, db - std::chrono::minutes(1));
  // The next CRL of the shard, from a server in step, is not dated in the future either.
  ca.clock.set(database_now(ca));
  ca.enrol("b.example");
  ca.authority->republish_due_crls();
  for (const auto& row : ca.authority->crls(std::nullopt)) {
    EXPECT_LE(row.this_update, database_now(ca)) << row.shard;
  }
}

TEST(OneClock, ExpiredEntriesAreRetiredByTheDatabasesTimeNotAFastClock) {
  TestCa ca;
  const TimePoint db = database_now(ca);
  // Certificates that expire an hour from now, by the database's clock.
  ca.clock.set(db - std::chrono::hours(24 * 365) + std::chrono::hours(1));
  const auto a = ca.enrol("expiring.example");
  RevocationRequest r;
  r.host_id = a.host_id;
  ca.authority->revoke(ca.admin(), r);
  ASSERT_GT(a.certificate.not_after, db + std::chrono::minutes(50));
  // A server a day fast republishes: by its clock the entry expired a day
  // ago, by the database's it has not: it stays on the CRL.
  ca.clock.set(a.certificate.not_after + std::chrono::hours(24));
  for (int i = 0; i < 3; ++i) ca.authority->republish_due_crls();
  ASSERT_LT(database_now(ca), a.certificate.not_after);
  EXPECT_EQ(testing::current_crl(*ca.authority, a.crl_shard).entries.count(a.serial_hex), 1u);
  EXPECT_EQ(query_value<bool>(ca.conninfo, "SELECT off_crl FROM certificates WHERE serial_hex = $1",
                              a.serial_hex),
            false);
}

// ---------------------------------------------------------------- least privilege

std::string as_server_role(const std::string& conninfo) { return conninfo + " user=hostca_server"; }

TEST(LeastPrivilege, TheServerRoleCannotChangeTheAuditLogNorSwitchOffItsGuard) {
  TestCa ca;
  ca.enrol("audited.example");
  const std::int64_t rows = database_state(ca.conninfo).audit_log;
  pqxx::connection conn(as_server_role(ca.conninfo));
  EXPECT_EQ(conn.username(), std::string("hostca_server"));
  for (const char* sql :
       {"UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log",
        "TRUNCATE audit_log", "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete",
        "DROP TRIGGER audit_log_no_update_or_delete ON audit_log",
        "CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RETURN NULL; END; $$",
        "DROP TABLE audit_log", "SELECT hostca_grant_server_role()"}) {
    pqxx::work w(conn);
    EXPECT_THROW(w.exec(sql), pqxx::sql_error) << sql;
  }
  pqxx::read_transaction r(conn);
  EXPECT_EQ(r.exec1("SELECT count(*) FROM audit_log")[0].as<std::int64_t>(), rows);
  EXPECT_EQ(r.exec1("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND"
                    " tableowner = current_user")[0]
                .as<int>(),
            0);
  EXPECT_FALSE(r.exec1("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE"
                       " rolname = current_user")[0]
                   .as<bool>());
}

TEST(LeastPrivilege, TheServerRoleCanDoEverythingTheServerDoes) {
  TestCa ca;
  ca.clock.set(database_now(ca));  // in step: check_clock lets it issue
  store::PgStore store({as_server_role(ca.conninfo), 2});
  auto authority = ca.make_authority(store);
  EXPECT_NO_THROW(open_ca(store, testing::kTestPassphrase, testing::rng()));
  authority->check_clock();
  authority->republish_due_crls();
  const CreatedToken token = authority->create_authorization_token(ca.admin(), [] {
    NewAuthorizationToken t;
    t.name = "least privilege";
    return t;
  }());
  EnrollmentRequest e = testing::enrollment("lp.example", token.token.reveal());
  e.peer = "ipv4:127.0.0.1:1";
  const Enrollment enrolled = authority->enroll(e);
  ca.clock.advance(std::chrono::seconds(1));
  const Renewal renewed = authority->renew(renewal_with(enrolled.certificate));
  EXPECT_EQ(renewed.host_id, enrolled.host_id);
  const CreatedToken reissue_token = authority->create_reissue_token(ca.admin(), [&] {
    NewReissueToken t;
    t.host_id = enrolled.host_id;
    return t;
  }());
  EXPECT_EQ(authority->reissue(ca.reissue_request(enrolled.host_id, reissue_token.token.reveal()))
                .revoked_serials.size(),
            2u);
  RevocationRequest r;
  r.host_id = enrolled.host_id;
  EXPECT_EQ(authority->revoke(ca.admin(), r).size(), 1u);
  authority->record_certificate_failure(report_for(enrolled.host_id, "ipv4:127.0.0.1:1"));
  HOSTCA_EXPECT_ERROR(authority->authenticate_admin(hostca::service::admin_credential(""),
                                                    "ipv4:127.0.0.1:1", "ListHosts"),
                      ErrorKind::kUnauthenticated);
  EXPECT_EQ(authority->flush_refusals(true), 2u);
  EXPECT_FALSE(authority->list_audit(0, 10).empty());
  EXPECT_FALSE(authority->revocation_events(0, 10).empty());
  create_admin_key(store, ca.clock, testing::rng(), ca.admin(), "made by the server role");
}

// ---------------------------------------------------------------- the CA's CRL base URL

TEST(CrlBaseUrl, IsTheCasAndAServerConfiguredWithAnotherRefusesToStart) {
  TestCa ca;
  const OpenedCa opened = open_ca(ca.store, testing::kTestPassphrase, testing::rng());
  EXPECT_EQ(opened.crl_base_url, CertificateProfile{}.crl_base_url);
  EXPECT_EQ(crl_base_url_to_serve(opened, ""), opened.crl_base_url);
  EXPECT_EQ(crl_base_url_to_serve(opened, opened.crl_base_url), opened.crl_base_url);
  const std::string msg = HOSTCA_EXPECT_ERROR(
      crl_base_url_to_serve(opened, "http://10.0.0.9:8080/crl"), ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("differs from the CA's"), std::string::npos) << msg;
  // Recorded once, never changed.
  const auto before = database_state(ca.conninfo);
  HOSTCA_EXPECT_ERROR(record_crl_base_url(ca.store, "http://other.example/crl", ca.clock),
                      ErrorKind::kFailedPrecondition);
  EXPECT_EQ(database_state(ca.conninfo), before);
}

TEST(CrlBaseUrl, ACaFromBeforeTheUrlWasRecordedMustHaveItRecordedBeforeServing) {
  TestCa ca;
  {
    pqxx::connection conn(ca.conninfo);
    pqxx::work w(conn);
    w.exec("UPDATE ca SET crl_base_url = NULL");
    w.commit();
  }
  const OpenedCa opened = open_ca(ca.store, testing::kTestPassphrase, testing::rng());
  const std::string msg = HOSTCA_EXPECT_ERROR(
      crl_base_url_to_serve(opened, "http://crl.example/crl"), ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("migrate --crl-base-url"), std::string::npos) << msg;
  HOSTCA_EXPECT_ERROR(record_crl_base_url(ca.store, "http://0.0.0.0:8080/crl", ca.clock),
                      ErrorKind::kInvalidArgument);
  record_crl_base_url(ca.store, "http://crl.example/crl", ca.clock);
  EXPECT_EQ(open_ca(ca.store, testing::kTestPassphrase, testing::rng()).crl_base_url,
            "http://crl.example/crl");
}

TEST(CrlBaseUrl, InitDerivesItOnlyForLoopbackServerNames) {
  EXPECT_EQ(default_crl_base_url({"localhost", "127.0.0.1"}), "http://127.0.0.1:8080/crl");
  EXPECT_FALSE(default_crl_base_url({"ca.example.com"}));
  EXPECT_FALSE(default_crl_base_url({"localhost", "10.0.0.1"}));
}

}  // namespace
}  // namespace hostca
