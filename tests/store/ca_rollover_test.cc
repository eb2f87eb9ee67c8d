// The CA key rollover's steps against the real PostgreSQL (issue 14): what
// each step writes, that each can run again, that every refusal and every
// fault in the middle of a step leaves the database as it was, and that the
// authority issues, renews and publishes with the right key in each phase.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <botan/x509_ca.h>

#include "domain/ca_link.h"
#include "domain/ca_rollover.h"
#include "pki/keys.h"
#include "support/crypto_fixtures.h"
#include "support/expect_error.h"
#include "support/fault_injecting_store.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::database_state;
using testing::FaultInjectingStore;
using testing::kTestPassphrase;
using testing::query_value;
using testing::TestCa;

// The call is refused with `kind` and a message that says `phrase`.
#define EXPECT_REFUSED(expr, kind, phrase) \
  EXPECT_THAT(HOSTCA_EXPECT_ERROR(expr, kind), ::testing::HasSubstr(phrase))

RolloverStart planned() {
  RolloverStart s;
  s.passphrase = kTestPassphrase;
  return s;
}

std::shared_ptr<const CaKeyRing> ring_of(TestCa& ca) {
  return open_ca(ca.store, kTestPassphrase, testing::rng()).ring;
}

RolloverStep start(TestCa& ca, store::Store& over, const RolloverStart& request = planned()) {
  return start_rollover(over, *ring_of(ca), request, ca.clock, testing::rng());
}

std::string key_states(const TestCa& ca) {
  return query_value<std::string>(
      ca.conninfo,
      "SELECT string_agg(generation || ':' || state, ' ' ORDER BY generation)"
      " FROM ca_keys");
}

// The authority as a server holds it after following the database.
void follow(TestCa& ca) { ca.authority->reload(ring_of(ca)); }

bool signed_by(const Botan::X509_Certificate& cert, const Botan::X509_Certificate& ca) {
  std::unique_ptr<Botan::Public_Key> key(ca.subject_public_key());
  return cert.check_signature(*key);
}

TEST(CaRollover, StartMakesTheNextKeyWithBothLinksAndNothingIssuesWithItYet) {
  TestCa ca;
  const RolloverStep step = start(ca, ca.store);
  EXPECT_TRUE(step.changed);
  EXPECT_EQ(step.generation, 2);
  EXPECT_EQ(key_states(ca), "1:active 2:next");
  // Its CRL scopes exist (every host shard and the CA scope), due at once.
  EXPECT_EQ(
      query_value<int>(ca.conninfo, "SELECT count(*)::int FROM crl_shards WHERE ca_generation = 2"),
      ca.authority->crl_shards() + 1);
  follow(ca);
  const auto ring = ca.authority->ring();
  const CaKey* next = ring->find(2);
  ASSERT_NE(next, nullptr);
  ASSERT_TRUE(next->new_with_old && next->old_with_new);
  const auto& old_ca = ring->find(1)->certificate();
  EXPECT_TRUE(signed_by(*next->new_with_old, old_ca));
  EXPECT_TRUE(signed_by(*next->old_with_new, next->certificate()));
  EXPECT_EQ(next->new_with_old->subject_public_key_bits(),
            next->certificate().subject_public_key_bits());
  // The private key is stored encrypted, never as plain PKCS#8.
  EXPECT_EQ(query_value<int>(ca.conninfo,
                             "SELECT count(*)::int FROM ca_keys WHERE generation = 2 AND"
                             " encrypted_private_key_pem LIKE '%BEGIN ENCRYPTED PRIVATE KEY%'"),
            1);
  const TestCa::Host host = ca.enrol("during.example");
  EXPECT_TRUE(signed_by(host.certificate.certificate(), old_ca));
  EXPECT_EQ(ca.authority->announced_keys().size(), 2u);
}

TEST(CaRollover, StartAgainFindsTheNextKeyAndChangesNothing) {
  TestCa ca;
  const RolloverStep first = start(ca, ca.store);
  const auto before = database_state(ca.conninfo);
  const RolloverStep again = start(ca, ca.store);
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.generation, first.generation);
  EXPECT_EQ(again.sha256_fingerprint, first.sha256_fingerprint);
  EXPECT_EQ(database_state(ca.conninfo), before);
}

TEST(CaRollover, RefusalsSayWhatToDoAndChangeNothing) {
  TestCa ca;
  const auto before = database_state(ca.conninfo);
  EXPECT_REFUSED(activate_rollover(ca.store, ca.clock), ErrorKind::kFailedPrecondition,
                 "no rollover is started");
  EXPECT_REFUSED(finish_rollover(ca.store, RolloverFinish{}, ca.clock),
                 ErrorKind::kFailedPrecondition, "no rollover to finish");
  RolloverStart wrong = planned();
  wrong.passphrase = "another passphrase, long enough";
  EXPECT_REFUSED(start(ca, ca.store, wrong), ErrorKind::kFailedPrecondition, "passphrase");
  RolloverStart never = planned();
  never.validity = Duration::zero();
  EXPECT_REFUSED(start(ca, ca.store, never), ErrorKind::kInvalidArgument, "validity");
  EXPECT_EQ(database_state(ca.conninfo), before);

  start(ca, ca.store);
  const auto started = database_state(ca.conninfo);
  EXPECT_REFUSED(finish_rollover(ca.store, RolloverFinish{}, ca.clock),
                 ErrorKind::kFailedPrecondition, "activate");
  RolloverStart emergency = planned();
  emergency.emergency = true;
  EXPECT_REFUSED(start(ca, ca.store, emergency), ErrorKind::kFailedPrecondition,
                 "announced already");
  EXPECT_EQ(database_state(ca.conninfo), started);
}

TEST(CaRollover, ActivateMovesEnrolmentRenewalAndReissueToTheNewKey) {
  TestCa ca;
  const TestCa::Host old_host = ca.enrol("old.example");
  start(ca, ca.store);
  const RolloverStep activated = activate_rollover(ca.store, ca.clock);
  EXPECT_TRUE(activated.changed);
  EXPECT_EQ(key_states(ca), "1:retiring 2:active");
  follow(ca);
  const auto ring = ca.authority->ring();
  const auto& new_ca = ring->find(2)->certificate();
  EXPECT_EQ(ca.authority->ca_certificate().generation, 2);

  const TestCa::Host fresh = ca.enrol("new.example");
  EXPECT_TRUE(signed_by(fresh.certificate.certificate(), new_ca));
  EXPECT_EQ(
      query_value<int>(ca.conninfo, "SELECT ca_generation FROM certificates WHERE serial_hex = $1",
                       fresh.serial_hex),
      2);
  // A certificate of the old key still renews, and the renewal is the new key's.
  RenewalRequest renewal;
  renewal.client_certificate_pem = old_host.certificate.certificate().PEM_encode();
  const auto key = generate_key(CaKeyAlgorithm::kEcdsaP256, testing::rng());
  renewal.csr = testing::csr_der(*key, "old.example");
  const Renewal renewed = ca.authority->renew(renewal);
  EXPECT_EQ(renewed.host_id, old_host.host_id);
  EXPECT_TRUE(signed_by(renewed.certificate.certificate(), new_ca));
  // So does a reissue, which revokes the old key's certificates on its own CRL.
  const auto token = ca.new_reissue_token(fresh.host_id);
  const Reissue reissued =
      ca.authority->reissue(ca.reissue_request(fresh.host_id, token.token.reveal()));
  EXPECT_TRUE(signed_by(reissued.certificate.certificate(), new_ca));

  const auto before = database_state(ca.conninfo);
  const RolloverStep again = activate_rollover(ca.store, ca.clock);
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.generation, 2);
  EXPECT_EQ(database_state(ca.conninfo), before);
}

TEST(CaRollover, AServerThatHasNotFollowedActivateYetIssuesNothingWithTheOldKey) {
  TestCa ca;
  const TestCa::Host host = ca.enrol("host.example");
  start(ca, ca.store);
  follow(ca);
  activate_rollover(ca.store, ca.clock);
  // ca.authority still holds the keys of before activate.
  ASSERT_EQ(ca.authority->ca_certificate().generation, 1);
  const auto before = database_state(ca.conninfo);
  const auto token = ca.new_token();
  const auto after_token = database_state(ca.conninfo);
  EXPECT_REFUSED(ca.authority->enroll(testing::enrollment("late.example", token.token.reveal())),
                 ErrorKind::kUnavailable, "try again");
  RenewalRequest renewal;
  renewal.client_certificate_pem = host.certificate.certificate().PEM_encode();
  const auto key = generate_key(CaKeyAlgorithm::kEcdsaP256, testing::rng());
  renewal.csr = testing::csr_der(*key, "host.example");
  EXPECT_REFUSED(ca.authority->renew(renewal), ErrorKind::kUnavailable, "rollover");
  EXPECT_EQ(database_state(ca.conninfo), after_token);
  EXPECT_NE(before, after_token);  // the token was made; nothing else changed
  // Once it follows, the same calls issue with the new key.
  follow(ca);
  const Enrollment late =
      ca.authority->enroll(testing::enrollment("late.example", token.token.reveal()));
  EXPECT_TRUE(
      signed_by(late.certificate.certificate(), ca.authority->ring()->find(2)->certificate()));
}

// Renews `host`'s certificate with a fresh key, as its agent does.
Renewal renew(TestCa& ca, const TestCa::Host& host) {
  RenewalRequest renewal;
  renewal.client_certificate_pem = host.certificate.certificate().PEM_encode();
  const auto key = generate_key(CaKeyAlgorithm::kEcdsaP256, testing::rng());
  renewal.csr = testing::csr_der(*key, host.hostname);
  return ca.authority->renew(renewal);
}

// Starts and activates a rollover, and the authority follows: the second
// key issues, the first is retiring.
void move_to_the_second_key(TestCa& ca) {
  start(ca, ca.store);
  activate_rollover(ca.store, ca.clock);
  follow(ca);
}

TEST(CaRollover, FinishWaitsForEveryHostToRenewOntoTheNewKeyAndRevokesNothing) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example");
  const TestCa::Host b = ca.enrol("b.example");
  move_to_the_second_key(ca);
  EXPECT_REFUSED(finish_rollover(ca.store, RolloverFinish{}, ca.clock),
                 ErrorKind::kFailedPrecondition, "2 host(s) still hold only certificates");
  renew(ca, a);
  EXPECT_REFUSED(finish_rollover(ca.store, RolloverFinish{}, ca.clock),
                 ErrorKind::kFailedPrecondition, "1 host(s) still hold only certificates");
  renew(ca, b);
  const RolloverStep finished = finish_rollover(ca.store, RolloverFinish{}, ca.clock);
  EXPECT_TRUE(finished.changed);
  EXPECT_EQ(finished.revoked, 0u);
  EXPECT_EQ(key_states(ca), "1:retired 2:active");
  // Renewal never revokes: the earlier certificates stay valid until they expire.
  EXPECT_EQ(query_value<int>(ca.conninfo,
                             "SELECT count(*)::int FROM certificates WHERE ca_generation = 1"
                             " AND host_id IS NOT NULL AND revoked_at IS NULL"),
            2);
}

TEST(CaRollover, FinishIsRefusedWithTheCountThenRevokesWhatRemainsOnTheOldKeysCrl) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example");
  const TestCa::Host b = ca.enrol("b.example");
  move_to_the_second_key(ca);
  const auto before = database_state(ca.conninfo);
  EXPECT_REFUSED(finish_rollover(ca.store, RolloverFinish{}, ca.clock),
                 ErrorKind::kFailedPrecondition,
                 "2 host(s) still hold only certificates of CA key 1");
  EXPECT_EQ(database_state(ca.conninfo), before);

  RolloverFinish revoke;
  revoke.revoke_remaining = true;
  const RolloverStep finished = ca.authority->finish_rollover(revoke);
  EXPECT_TRUE(finished.changed);
  EXPECT_EQ(finished.revoked, 2u);
  EXPECT_EQ(key_states(ca), "1:retired 2:active");
  for (const auto* host : {&a, &b}) {
    EXPECT_EQ(query_value<int>(ca.conninfo,
                               "SELECT count(*)::int FROM crl_shards WHERE ca_generation = 1"
                               " AND shard = $1 AND crl_number > 0",
                               host->crl_shard),
              1);
    EXPECT_EQ(query_value<int>(ca.conninfo,
                               "SELECT count(*)::int FROM revocation_events WHERE serial_hex = $1"
                               " AND ca_generation = 1",
                               host->serial_hex),
              1);
    bool listed = false;
    for (const auto& row : ca.authority->crls(host->crl_shard, 1)) {
      const auto crl = testing::parse_crl(row);
      listed = listed || crl.entries.count(host->serial_hex) == 1;
    }
    EXPECT_TRUE(listed) << host->hostname;
  }
  // The retired key is no longer announced; its CRLs are still published.
  follow(ca);
  EXPECT_EQ(ca.authority->announced_keys().size(), 1u);
  EXPECT_EQ(ca.authority->ring()->publishing(ca.clock.now()), (std::vector<int>{1, 2}));

  const auto done = database_state(ca.conninfo);
  EXPECT_FALSE(finish_rollover(ca.store, RolloverFinish{}, ca.clock).changed);
  EXPECT_EQ(database_state(ca.conninfo), done);
}

TEST(CaRollover, EmergencyStartIssuesAtOnceWithoutALink) {
  TestCa ca;
  RolloverStart emergency = planned();
  emergency.emergency = true;
  const RolloverStep step = start(ca, ca.store, emergency);
  EXPECT_TRUE(step.changed);
  EXPECT_EQ(key_states(ca), "1:retiring 2:active");
  EXPECT_EQ(query_value<int>(ca.conninfo,
                             "SELECT count(*)::int FROM ca_keys WHERE generation = 2 AND emergency"
                             " AND coalesce(length(new_with_old_der), 0) = 0"),
            1);
  // Nothing to activate: it issues already.
  EXPECT_REFUSED(activate_rollover(ca.store, ca.clock), ErrorKind::kFailedPrecondition,
                 "no rollover is started");
}

TEST(CaRollover, HostsReportTheKeysTheyTrustAndAdminsSeeTheSpread) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example");
  const TestCa::Host b = ca.enrol("b.example");
  start(ca, ca.store);
  follow(ca);
  const auto ring = ca.authority->ring();
  const std::string first = ring->find(1)->spki_sha256;
  const std::string next = ring->find(2)->spki_sha256;
  TrustReport report;
  report.client_certificate_pem = a.certificate.certificate().PEM_encode();
  report.spki_sha256 = {first, next};
  ca.authority->record_trusted_cas(report);
  const CaStatus status = ca.authority->ca_status();
  EXPECT_EQ(status.phase, "propagate");
  EXPECT_EQ(status.hosts_reporting, 1);
  ASSERT_EQ(status.keys.size(), 2u);
  EXPECT_EQ(status.keys[0].hosts_trusting, 1);
  EXPECT_EQ(status.keys[1].hosts_trusting, 1);
  EXPECT_EQ(status.keys[0].valid_certificates, 2);
  EXPECT_EQ(status.keys[1].valid_certificates, 0);
  // b has not reported: it is counted among the hosts, not the reporting ones.
  EXPECT_EQ(status.hosts, 2);
  EXPECT_FALSE(b.host_id.empty());
}

TEST(CaRollover, ATrustReportNeedsTheHostsOwnValidCertificateAndChangesNothingOtherwise) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example");
  start(ca, ca.store);
  follow(ca);
  const std::string next = ca.authority->ring()->find(2)->spki_sha256;
  const auto before = database_state(ca.conninfo);
  TrustReport none;
  none.spki_sha256 = {next};
  EXPECT_REFUSED(ca.authority->record_trusted_cas(none), ErrorKind::kUnauthenticated,
                 "certificate");
  TrustReport malformed;
  malformed.client_certificate_pem = a.certificate.certificate().PEM_encode();
  malformed.spki_sha256 = {"NOT-HEX"};
  EXPECT_REFUSED(ca.authority->record_trusted_cas(malformed), ErrorKind::kInvalidArgument,
                 "lower-case hex");
  TrustReport too_many = malformed;
  too_many.spki_sha256.assign(9, next);
  EXPECT_REFUSED(ca.authority->record_trusted_cas(too_many), ErrorKind::kInvalidArgument,
                 "between 1 and 8");
  EXPECT_EQ(database_state(ca.conninfo), before);
  // A revoked certificate speaks for no one.
  RevocationRequest revoke;
  revoke.serial_hex = a.serial_hex;
  ca.authority->revoke(ca.admin(), revoke);
  const auto revoked = database_state(ca.conninfo);
  TrustReport stale = none;
  stale.client_certificate_pem = a.certificate.certificate().PEM_encode();
  EXPECT_REFUSED(ca.authority->record_trusted_cas(stale), ErrorKind::kUnauthenticated,
                 "not a valid certificate");
  EXPECT_EQ(database_state(ca.conninfo), revoked);
  EXPECT_EQ(ca.authority->ca_status().hosts_reporting, 0);
}

TEST(CaRollover, TheServerWarnsOfAnEndingCaCertificateUntilARolloverStarts) {
  TestCa ca;
  const TimePoint end = ca.authority->ring()->active().not_after();
  const Duration host_validity = ca.issuer().profile().validity;
  const Duration margin = std::chrono::hours(24 * 30);
  EXPECT_EQ(ca.authority->expiry_warning(ca.clock.now()), "");
  EXPECT_EQ(ca.authority->expiry_warning(end - host_validity - margin - std::chrono::hours(1)), "");
  const std::string warning =
      ca.authority->expiry_warning(end - host_validity - margin + std::chrono::hours(24));
  EXPECT_THAT(warning, ::testing::HasSubstr("hostca-server ca rollover start"));
  EXPECT_THAT(warning, ::testing::HasSubstr("key 1"));
  ca.clock.set(end - host_validity);
  EXPECT_NE(ca.authority->ca_status().warning, "");
  // A next key announced: no warning, and none once it is active.
  start(ca, ca.store);
  follow(ca);
  EXPECT_EQ(ca.authority->ca_status().warning, "");
  activate_rollover(ca.store, ca.clock);
  follow(ca);
  EXPECT_EQ(ca.authority->ca_status().warning, "");
}

// A fault at any call of a step's unit of work leaves the database as it
// was; the step then runs again to the end.
class CaRolloverFault : public ::testing::TestWithParam<const char*> {};

TEST_P(CaRolloverFault, AStepThatFailsMidwayLeavesNothingAndRunsAgain) {
  TestCa ca;
  ca.enrol("host.example");
  FaultInjectingStore faulty(ca.store);
  const std::string at = GetParam();
  const auto run_step = [&](const std::string& step) {
    if (step == "start") start(ca, faulty);
    if (step == "activate") activate_rollover(faulty, ca.clock);
    if (step == "finish") {
      RolloverFinish revoke;
      revoke.revoke_remaining = true;
      auto authority = ca.make_authority(faulty);
      authority->reload(ring_of(ca));
      authority->finish_rollover(revoke);
    }
  };
  bool fired = false;
  for (const std::string step : {"start", "activate", "finish"}) {
    const auto before = database_state(ca.conninfo);
    const std::string states = key_states(ca);
    if (at.rfind("audit:", 0) == 0) {
      faulty.fail_at_audit("ca.rollover." + step);
    } else {
      faulty.fail_at(at);
    }
    try {
      run_step(step);
    } catch (const Error&) {
    }
    if (faulty.fault_fired()) {
      fired = true;
      EXPECT_EQ(database_state(ca.conninfo), before) << step << " failing at " << at;
      EXPECT_EQ(key_states(ca), states) << step << " failing at " << at;
    }
    faulty.fail_at("no such method");  // disarm
    run_step(step);
  }
  EXPECT_EQ(key_states(ca), "1:retired 2:active");
  EXPECT_TRUE(fired) << "no step calls " << at;
}

INSTANTIATE_TEST_SUITE_P(EveryCall, CaRolloverFault,
                         ::testing::Values("lock_ca", "list_ca_keys", "insert_ca_key",
                                           "create_crl_shards", "set_ca_key_state",
                                           "count_hosts_only_on_key", "revoke_certificates_of_key",
                                           "save_crl", "audit:"));

}  // namespace
}  // namespace hostca
