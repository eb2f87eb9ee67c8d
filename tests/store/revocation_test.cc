// Revocation by an admin against the real PostgreSQL: by serial or by host
// ID, with an RFC 5280 reason, a new CRL of the shard in the same unit of
// work, and a revocation stream that delivers committed revocations in
// order and resumes where a reader left off.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/uuid.h"
#include "support/crypto_fixtures.h"
#include "support/expect_error.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::current_crl;
using testing::database_state;
using testing::query_value;
using testing::TestCa;

constexpr int kKeyCompromise = 1;
constexpr int kCessationOfOperation = 5;

RevocationRequest by_serial(const std::string& serial, int reason = 0) {
  RevocationRequest r;
  r.serial_hex = serial;
  r.reason_code = reason;
  return r;
}

RevocationRequest by_host(const std::string& host_id, int reason = 0) {
  RevocationRequest r;
  r.host_id = host_id;
  r.reason_code = reason;
  return r;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(Revoke, BySerialWithKeyCompromiseListsItWithThatReasonOnTheShardCrl) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example");
  const TestCa::Host b = ca.enrol("b.example");
  ca.clock.advance(std::chrono::hours(1));
  const std::int64_t number_before = ca.authority->crls(a.crl_shard)[0].crl_number;
  const auto before = database_state(ca.conninfo);
  const std::int64_t last_audit =
      query_value<std::int64_t>(ca.conninfo, "SELECT max(sequence) FROM audit_log");

  const auto revoked = ca.authority->revoke(ca.admin(), by_serial(a.serial_hex, kKeyCompromise));

  EXPECT_EQ(revoked, std::vector<std::string>{a.serial_hex});
  const auto crl = current_crl(*ca.authority, a.crl_shard);
  EXPECT_EQ(crl.row.crl_number, number_before + 1);
  EXPECT_EQ(crl.entries, (std::map<std::string, int>{{a.serial_hex, kKeyCompromise}}));
  ASSERT_EQ(crl.crl.get_revoked().size(), 1u);
  EXPECT_EQ(crl.crl.get_revoked()[0].expire_time().to_std_timepoint(),
            std::chrono::system_clock::time_point(ca.clock.now().time_since_epoch()));
  EXPECT_TRUE(crl.crl.is_revoked(a.certificate.certificate()));
  EXPECT_FALSE(crl.crl.is_revoked(b.certificate.certificate()));
  EXPECT_TRUE(ca.authority->get_host(b.host_id).host.has_valid_certificate);
  EXPECT_FALSE(ca.authority->get_host(a.host_id).host.has_valid_certificate);

  const auto after = database_state(ca.conninfo);
  EXPECT_EQ(after.revoked_certificates, before.revoked_certificates + 1);
  EXPECT_EQ(after.crl_numbers, before.crl_numbers + 1);
  EXPECT_EQ(after.revocation_events, before.revocation_events + 1);
  const auto audit = ca.authority->list_audit(static_cast<std::uint64_t>(last_audit), 100);
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].action, "certificate.revoke");
  EXPECT_EQ(audit[0].actor, ca.admin().id);
  EXPECT_EQ(audit[0].subject, a.serial_hex);
  const auto details = nlohmann::json::parse(audit[0].details_json);
  EXPECT_EQ(details.at("reason"), "keyCompromise");
  EXPECT_EQ(details.at("crl_number"), crl.row.crl_number);
  EXPECT_EQ(audit[1].action, "crl.publish");
  EXPECT_EQ(audit[1].subject, std::to_string(a.crl_shard));
}

TEST(Revoke, SerialIsFoundWhateverItsCaseSeparatorsOrLeadingZeros) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example");
  std::string upper = a.serial_hex;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  std::string with_colons;
  for (std::size_t i = 0; i < upper.size(); i += 2) {
    with_colons += (i ? ":" : "") + upper.substr(i, 2);
  }
  const auto revoked = ca.authority->revoke(ca.admin(), by_serial("00:" + with_colons));
  EXPECT_EQ(revoked, std::vector<std::string>{a.serial_hex});
}

TEST(Revoke, ByHostIdRevokesEveryStillValidCertificate) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example");
  const TestCa::Host b = ca.enrol("b.example");
  ca.clock.set(a.certificate.not_after);  // the enrolment certificate expired just now
  const IssuedCertificate renewal_1 = ca.insert_renewal(a.host_id);
  const IssuedCertificate renewal_2 = ca.insert_renewal(a.host_id);
  const std::int64_t number_before = ca.authority->crls(a.crl_shard)[0].crl_number;

  const auto revoked = ca.authority->revoke(ca.admin(), by_host(a.host_id, kCessationOfOperation));

  EXPECT_EQ(sorted(revoked), sorted({renewal_1.serial_hex, renewal_2.serial_hex}));
  const auto crl = current_crl(*ca.authority, a.crl_shard);
  // One publication for both.
  EXPECT_EQ(crl.row.crl_number, number_before + 1);
  EXPECT_EQ(crl.entries,
            (std::map<std::string, int>{{renewal_1.serial_hex, kCessationOfOperation},
                                        {renewal_2.serial_hex, kCessationOfOperation}}));
  EXPECT_EQ(query_value<bool>(ca.conninfo,
                              "SELECT revoked_at IS NULL FROM certificates WHERE serial_hex = $1",
                              a.serial_hex),
            true);
  // The other host is untouched.
  EXPECT_EQ(query_value<bool>(ca.conninfo,
                              "SELECT revoked_at IS NULL FROM certificates WHERE serial_hex = $1",
                              b.serial_hex),
            true);
}

// Refusals: each gets its precise kind and leaves every table as it was.
class RevokeRefusal : public ::testing::Test {
 protected:
  RevokeRefusal() : a_(ca_.enrol("a.example")) {}

  std::string refused(const RevocationRequest& request, ErrorKind kind) {
    const auto before = database_state(ca_.conninfo);
    const std::string msg = HOSTCA_EXPECT_ERROR(ca_.authority->revoke(ca_.admin(), request), kind);
    EXPECT_EQ(database_state(ca_.conninfo), before);
    return msg;
  }

  TestCa ca_;
  TestCa::Host a_;
};

TEST_F(RevokeRefusal, AlreadyRevokedIsFailedPreconditionSayingWhenAndWhy) {
  const TimePoint revoked_at = ca_.clock.now();
  ca_.authority->revoke(ca_.admin(), by_serial(a_.serial_hex, kKeyCompromise));
  ca_.clock.advance(std::chrono::hours(3));
  const std::string msg =
      refused(by_serial(a_.serial_hex, kCessationOfOperation), ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("already revoked at " + format_rfc3339(revoked_at)), std::string::npos) << msg;
  EXPECT_NE(msg.find("keyCompromise"), std::string::npos) << msg;
}

TEST_F(RevokeRefusal, UnknownSerialOrHostIsNotFound) {
  std::string msg = refused(by_serial("0123456789abcdef"), ErrorKind::kNotFound);
  EXPECT_NE(msg.find("0123456789abcdef"), std::string::npos) << msg;
  const std::string unknown = new_uuid(testing::rng());
  msg = refused(by_host(unknown), ErrorKind::kNotFound);
  EXPECT_NE(msg.find(unknown), std::string::npos) << msg;
}

TEST_F(RevokeRefusal, MalformedSerialOrHostIdOrBothOrNeitherIsInvalidArgument) {
  for (const char* bad : {"xyz", "12 34", "0x1234", "-1"}) {
    refused(by_serial(bad), ErrorKind::kInvalidArgument);
  }
  refused(by_host("not-a-uuid"), ErrorKind::kInvalidArgument);
  RevocationRequest both = by_serial(a_.serial_hex);
  both.host_id = a_.host_id;
  refused(both, ErrorKind::kInvalidArgument);
  refused(RevocationRequest{}, ErrorKind::kInvalidArgument);
}

TEST_F(RevokeRefusal, HoldRemoveFromCrlAndUnassignedReasonsAreInvalidArgument) {
  for (const int reason : {6, 7, 8, 10, 11, -1}) {
    SCOPED_TRACE(reason);
    refused(by_serial(a_.serial_hex, reason), ErrorKind::kInvalidArgument);
    refused(by_host(a_.host_id, reason), ErrorKind::kInvalidArgument);
  }
  EXPECT_TRUE(ca_.authority->get_host(a_.host_id).host.has_valid_certificate);
}

TEST_F(RevokeRefusal, HostWithNothingLeftToRevokeIsFailedPrecondition) {
  ca_.authority->revoke(ca_.admin(), by_host(a_.host_id));
  std::string msg = refused(by_host(a_.host_id), ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("no certificate left"), std::string::npos) << msg;

  // Nor a host whose only certificate expired: an expired one is never revoked.
  const TestCa::Host b = ca_.enrol("b.example");
  ca_.clock.set(b.certificate.not_after);
  msg = refused(by_host(b.host_id), ErrorKind::kFailedPrecondition);
  ca_.clock.set(b.certificate.not_after - std::chrono::seconds(1));
  EXPECT_EQ(ca_.authority->revoke(ca_.admin(), by_host(b.host_id)),
            std::vector<std::string>{b.serial_hex});
}

TEST_F(RevokeRefusal, ServerTlsCertificateIsFailedPrecondition) {
  const std::string serial = ca_.server_certificate_serial();
  const std::string msg =
      refused(by_serial(serial, kKeyCompromise), ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("server TLS certificate"), std::string::npos) << msg;
}

TEST(RevokeRace, SixAdminsRevokingOneCertificateAtOnceRevokeItOnce) {
  constexpr int kThreads = 6;
  TestCa ca(kThreads + 2);
  const TestCa::Host a = ca.enrol("a.example");
  const std::int64_t number_before = ca.authority->crls(a.crl_shard)[0].crl_number;
  std::promise<void> go;
  const std::shared_future<void> start = go.get_future().share();
  std::vector<std::future<std::optional<ErrorKind>>> outcomes;
  for (int i = 0; i < kThreads; ++i) {
    outcomes.push_back(std::async(std::launch::async, [&, i]() -> std::optional<ErrorKind> {
      start.wait();
      try {
        // Half by serial, half by host ID.
        ca.authority->revoke(ca.admin(), i % 2 ? by_serial(a.serial_hex, kKeyCompromise)
                                               : by_host(a.host_id, kKeyCompromise));
        return std::nullopt;
      } catch (const Error& e) {
        return e.kind();
      }
    }));
  }
  go.set_value();
  int ok = 0;
  int failed_precondition = 0;
  for (auto& f : outcomes) {
    const auto kind = f.get();
    if (!kind) {
      ++ok;
    } else if (*kind == ErrorKind::kFailedPrecondition) {
      ++failed_precondition;
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(failed_precondition, kThreads - 1);
  EXPECT_EQ(ca.authority->crls(a.crl_shard)[0].crl_number, number_before + 1);
  EXPECT_EQ(ca.authority->revocation_events(0, 100).size(), 1u);
  EXPECT_EQ(query_value<int>(ca.conninfo,
                             "SELECT count(*) FROM audit_log WHERE action = 'certificate.revoke'"),
            1);
}

// The revocation stream.
TEST(RevocationStream, ListsCommittedRevocationsInOrderWithTheirCrlNumberAndResumes) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example");
  const TestCa::Host b = ca.enrol("b.example");
  const TestCa::Host c = ca.enrol("c.example");
  const IssuedCertificate b_renewal = ca.insert_renewal(b.host_id);
  const std::int64_t head = ca.authority->revocation_stream_head();

  struct Expected {
    std::string serial;
    std::string host_id;
    int reason;
    int shard;
    std::int64_t crl_number;
    TimePoint at;
  };
  std::vector<Expected> expected;
  const auto record = [&](const std::vector<std::string>& serials, const TestCa::Host& host,
                          int reason) {
    const auto crl = current_crl(*ca.authority, host.crl_shard);
    for (const auto& s : sorted(serials)) {
      expected.push_back(
          {s, host.host_id, reason, host.crl_shard, crl.row.crl_number, ca.clock.now()});
      // The CRL the event names lists the certificate.
      EXPECT_EQ(crl.entries.count(s), 1u) << s;
    }
  };
  record(ca.authority->revoke(ca.admin(), by_serial(a.serial_hex, kKeyCompromise)), a,
         kKeyCompromise);
  ca.clock.advance(std::chrono::minutes(1));
  record(ca.authority->revoke(ca.admin(), by_host(b.host_id, kCessationOfOperation)), b,
         kCessationOfOperation);
  ca.clock.advance(std::chrono::minutes(1));
  const CreatedToken token = ca.new_reissue_token(c.host_id);
  record(ca.authority->reissue(ca.reissue_request(c.host_id, token.token.reveal())).revoked_serials,
         c, 4);
  ASSERT_EQ(expected.size(), 4u);
  EXPECT_EQ(sorted({expected[1].serial, expected[2].serial}),
            sorted({b.serial_hex, b_renewal.serial_hex}));

  auto events = ca.authority->revocation_events(head, 100);
  ASSERT_EQ(events.size(), expected.size());
  // Within one unit of work the order is the store's; compare sets there.
  std::sort(events.begin() + 1, events.begin() + 3,
            [](const auto& x, const auto& y) { return x.serial_hex < y.serial_hex; });
  for (std::size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(events[i].serial_hex, expected[i].serial);
    EXPECT_EQ(events[i].host_id, expected[i].host_id);
    EXPECT_EQ(events[i].reason, expected[i].reason);
    EXPECT_EQ(events[i].shard, expected[i].shard);
    EXPECT_EQ(events[i].crl_number, expected[i].crl_number);
    EXPECT_EQ(events[i].revoked_at, expected[i].at);
    EXPECT_GT(events[i].sequence, head);
  }
  // In sequence order.
  events = ca.authority->revocation_events(head, 100);
  for (std::size_t i = 1; i < events.size(); ++i) {
    EXPECT_LT(events[i - 1].sequence, events[i].sequence);
  }
  // Resuming from a sequence gives exactly the later ones; a limit pages.
  const auto resumed = ca.authority->revocation_events(events[1].sequence, 100);
  ASSERT_EQ(resumed.size(), 2u);
  EXPECT_EQ(resumed[0].sequence, events[2].sequence);
  EXPECT_EQ(resumed[1].sequence, events[3].sequence);
  const auto page = ca.authority->revocation_events(head, 2);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[1].sequence, events[1].sequence);
  EXPECT_TRUE(ca.authority->revocation_events(events[3].sequence, 100).empty());
}

TEST(RevocationStream, HeadTakenBeforeARevocationIsBelowItsEvent) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example");
  const TestCa::Host b = ca.enrol("b.example");
  ca.authority->revoke(ca.admin(), by_serial(a.serial_hex));
  const std::int64_t head = ca.authority->revocation_stream_head();
  // Nothing after the head yet: "from now" skips what is already there.
  EXPECT_TRUE(ca.authority->revocation_events(head, 100).empty());

  ca.authority->revoke(ca.admin(), by_serial(b.serial_hex));

  const auto events = ca.authority->revocation_events(head, 100);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].serial_hex, b.serial_hex);
  EXPECT_GT(events[0].sequence, head);
  EXPECT_LE(events[0].sequence, ca.authority->revocation_stream_head());
}

TEST(RevocationStream, EventsWaitForEveryOlderTransactionSoNoneIsSkipped) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example");
  const std::int64_t head = ca.authority->revocation_stream_head();
  // Another server's unit of work is open (it holds a transaction ID) while
  // this revocation commits with a later one.
  pqxx::connection other(ca.conninfo);
  pqxx::work open(other);
  open.exec("SELECT pg_current_xact_id()");

  ca.authority->revoke(ca.admin(), by_serial(a.serial_hex));

  // The older transaction could still append an event below this one, so a
  // reader that passed this one would skip it: nothing is delivered yet.
  EXPECT_TRUE(ca.authority->revocation_events(head, 100).empty());
  EXPECT_LT(ca.authority->revocation_stream_head(),
            query_value<std::int64_t>(ca.conninfo, "SELECT max(sequence) FROM revocation_events"));
  open.abort();
  const auto events = ca.authority->revocation_events(head, 100);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].serial_hex, a.serial_hex);
}

}  // namespace
}  // namespace hostca
