// A host's state (migration 0015): the state of its newest certificate,
// kept on the host row by a trigger through every path that issues or
// revokes. The console's dashboard counts it and the hosts page filters
// and sorts by it, so each is held here to a recount from the certificates
// themselves, made without the trigger's columns.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "store/migrator.h"
#include "support/expect_error.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::database_state;
using testing::query_value;
using testing::TestCa;

// Hosts by the state of their newest certificate, recounted from the
// certificates table alone (the rule of migration 0015).
std::map<std::string, long long> recount(const TestCa& ca) {
  const long long now = to_unix_micros(ca.clock.now());
  const long long soon = to_unix_micros(ca.clock.now() + store::kExpiringWithin);
  std::map<std::string, long long> out;
  for (const char* state : {"valid", "expiring", "expired", "revoked", "none"}) {
    out[state] = query_value<long long>(
        ca.conninfo,
        "WITH newest AS (SELECT DISTINCT ON (host_id) host_id, not_after, revoked_at"
        " FROM certificates WHERE host_id IS NOT NULL"
        " ORDER BY host_id, not_after DESC, created_at DESC),"
        " t AS (SELECT 'epoch'::timestamptz + $1::bigint * interval '1 microsecond' AS now,"
        " 'epoch'::timestamptz + $2::bigint * interval '1 microsecond' AS soon)"
        " SELECT count(*) FROM hosts h LEFT JOIN newest n USING (host_id), t"
        " WHERE CASE WHEN n.host_id IS NULL THEN 'none' WHEN n.revoked_at IS NOT NULL"
        " THEN 'revoked' WHEN n.not_after <= t.now THEN 'expired'"
        " WHEN n.not_after <= t.soon THEN 'expiring' ELSE 'valid' END = $3",
        now, soon, std::string(state));
  }
  return out;
}

std::map<std::string, long long> dashboard_counts(const Dashboard& d) {
  return {{"valid", d.counts.valid},
          {"expiring", d.counts.expiring},
          {"expired", d.counts.expired},
          {"revoked", d.counts.revoked},
          {"none", d.counts.none}};
}

std::vector<std::string> listed(Authority& authority, const std::string& state,
                                const std::string& sort = "") {
  HostListRequest request;
  request.state = state;
  request.sort = sort;
  std::vector<std::string> out;
  for (const auto& h : authority.list_hosts(request).hosts) out.push_back(h.host.hostname);
  return out;
}

class HostStates : public ::testing::Test {
 protected:
  void SetUp() override {
    // Enrolled a day apart, so that their certificates end a day apart.
    kept_ = ca_.enrol("a-kept.example");
    ca_.clock.advance(std::chrono::hours(24));
    revoked_ = ca_.enrol("b-revoked.example");
    ca_.clock.advance(std::chrono::hours(24));
    reissued_ = ca_.enrol("c-reissued.example");
    ca_.clock.advance(std::chrono::hours(24));
    renewed_ = ca_.enrol("d-renewed.example");
    ca_.clock.advance(std::chrono::hours(1));

    RevocationRequest revoke;
    revoke.host_id = revoked_.host_id;
    revoke.reason_code = 1;
    ca_.authority->revoke(ca_.admin(), revoke);
    const CreatedToken token = ca_.new_reissue_token(reissued_.host_id);
    reissue_ = ca_.authority->reissue(ca_.reissue_request(reissued_.host_id, token.token.reveal()));
    renewal_ = ca_.insert_renewal(renewed_.host_id);
  }

  TestCa ca_;
  TestCa::Host kept_, revoked_, reissued_, renewed_;
  Reissue reissue_;
  IssuedCertificate renewal_;
};

TEST_F(HostStates, TheDashboardCountsEachHostByItsNewestCertificateAsTheCertificatesSay) {
  const Dashboard d = ca_.authority->dashboard();
  EXPECT_EQ(d.counts.hosts, 4);
  EXPECT_EQ(d.counts.valid, 3);  // kept, reissued (its old one revoked), renewed
  EXPECT_EQ(d.counts.revoked, 1);
  EXPECT_EQ(d.counts.expiring + d.counts.expired + d.counts.none, 0);
  EXPECT_EQ(dashboard_counts(d), recount(ca_));

  // The newest certificate of each: the reissue's, the renewal's.
  EXPECT_EQ(
      ca_.authority->get_host(reissued_.host_id).host.newest_certificate->certificate.serial_hex,
      reissue_.certificate.serial_hex);
  EXPECT_EQ(
      ca_.authority->get_host(renewed_.host_id).host.newest_certificate->certificate.serial_hex,
      renewal_.serial_hex);
}

TEST_F(HostStates, TimeMovesHostsFromValidToExpiringToExpiredAndTheCountsFollow) {
  const TimePoint first_end =
      ca_.authority->get_host(kept_.host_id).host.newest_certificate->certificate.not_after;
  // 30 days before the first certificate ends, less an hour: only it expires soon.
  ca_.clock.set(first_end - store::kExpiringWithin + std::chrono::hours(1));
  EXPECT_EQ(listed(*ca_.authority, "expiring"), std::vector<std::string>{"a-kept.example"});
  EXPECT_EQ(dashboard_counts(ca_.authority->dashboard()), recount(ca_));

  ca_.clock.set(first_end + std::chrono::hours(1));
  EXPECT_EQ(listed(*ca_.authority, "expired"), std::vector<std::string>{"a-kept.example"});
  EXPECT_EQ(listed(*ca_.authority, "expiring"),
            (std::vector<std::string>{"c-reissued.example", "d-renewed.example"}));
  EXPECT_EQ(listed(*ca_.authority, "revoked"), std::vector<std::string>{"b-revoked.example"});
  const Dashboard d = ca_.authority->dashboard();
  EXPECT_EQ(d.counts.expired, 1);
  EXPECT_EQ(d.counts.expiring, 2);
  EXPECT_EQ(dashboard_counts(d), recount(ca_));

  // The state ListHosts reads from the database is the one GetHost works
  // out in C++ (store::host_state), for every host.
  HostListRequest all;
  for (const auto& h : ca_.authority->list_hosts(all).hosts) {
    EXPECT_EQ(h.state, ca_.authority->get_host(h.host.host_id).host.state) << h.host.hostname;
  }
}

TEST_F(HostStates, RevokingTheNewestCertificateByItsSerialMakesTheHostRevoked) {
  RevocationRequest revoke;
  revoke.serial_hex = renewal_.serial_hex;
  revoke.reason_code = 4;
  ca_.authority->revoke(ca_.admin(), revoke);
  EXPECT_EQ(listed(*ca_.authority, "revoked"),
            (std::vector<std::string>{"b-revoked.example", "d-renewed.example"}));
  EXPECT_EQ(dashboard_counts(ca_.authority->dashboard()), recount(ca_));
}

TEST_F(HostStates, TheFailureFilterListsTheHostsWithAReportNotYetCleared) {
  CertificateFailureReport report;
  report.host_id = kept_.host_id;
  report.pinned_spki_sha256 = std::string(64, 'a');
  report.presented_spki_sha256 = std::string(64, 'b');
  report.server = "ca.example:8443";
  report.peer = "ipv4:192.0.2.7:4000";
  ASSERT_TRUE(ca_.authority->record_certificate_failure(report));
  EXPECT_EQ(listed(*ca_.authority, "failure"), std::vector<std::string>{"a-kept.example"});
  EXPECT_EQ(ca_.authority->dashboard().counts.failure_reported, 1);

  ca_.authority->acknowledge_certificate_failure(ca_.admin(), kept_.host_id, "looked at it");
  EXPECT_TRUE(listed(*ca_.authority, "failure").empty());
  EXPECT_EQ(ca_.authority->dashboard().counts.failure_reported, 0);
}

TEST_F(HostStates, SortingByExpiryPagesThroughEveryHostSoonestFirst) {
  HostListRequest request;
  request.sort = "expiry";
  request.limit = 1;
  std::vector<std::string> order;
  for (int page = 0; page < 10; ++page) {
    const HostPage p = ca_.authority->list_hosts(request);
    for (const auto& h : p.hosts) order.push_back(h.host.hostname);
    if (p.next_page_token.empty()) break;
    request.page_token = p.next_page_token;
  }
  // a's newest ends first (enrolled first), then b's (revoked); c's and d's newest were issued
  // last, at the same moment (the later issued wins a tie): by host ID then.
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order[0], "a-kept.example");
  EXPECT_EQ(order[1], "b-revoked.example");
  std::vector<std::string> last(order.begin() + 2, order.end());
  std::sort(last.begin(), last.end());
  EXPECT_EQ(last, (std::vector<std::string>{"c-reissued.example", "d-renewed.example"}));

  // A token of the name order is refused in the expiry order, and the reverse.
  HostListRequest by_name;
  by_name.limit = 1;
  const std::string name_token = ca_.authority->list_hosts(by_name).next_page_token;
  request.page_token = name_token;
  EXPECT_NE(HOSTCA_EXPECT_ERROR(ca_.authority->list_hosts(request), ErrorKind::kInvalidArgument)
                .find("page_token"),
            std::string::npos);
}

TEST_F(HostStates, AnUnknownStateOrSortIsRefusedAndNamesTheChoices) {
  HostListRequest request;
  request.state = "purple";
  EXPECT_NE(HOSTCA_EXPECT_ERROR(ca_.authority->list_hosts(request), ErrorKind::kInvalidArgument)
                .find("valid, expiring, expired, revoked, none or failure"),
            std::string::npos);
  request.state.clear();
  request.sort = "random";
  EXPECT_NE(HOSTCA_EXPECT_ERROR(ca_.authority->list_hosts(request), ErrorKind::kInvalidArgument)
                .find("\"expiry\""),
            std::string::npos);
}

TEST_F(HostStates, TheMigrationWorksOutTheStateOfHostsEnrolledBeforeIt) {
  // What migration 0015's UPDATE does for hosts it finds: clear the columns
  // and run it again; the states come back as the trigger kept them.
  const auto before = listed(*ca_.authority, "valid");
  const auto write = [&](const std::string& sql) {
    pqxx::connection conn(ca_.conninfo);
    pqxx::work w(conn);
    w.exec(sql);
    w.commit();
  };
  write(
      "UPDATE hosts SET newest_serial_hex = NULL, newest_not_after = NULL, newest_revoked = "
      "false");
  EXPECT_EQ(ca_.authority->dashboard().counts.none, 4);
  std::string migration;
  for (const auto& m : store::embedded_migrations()) {
    if (m.version == 15) migration = m.sql;
  }
  const auto start = migration.find("UPDATE hosts h");
  ASSERT_NE(start, std::string::npos);
  write(migration.substr(start, migration.find(';', start) - start));
  EXPECT_EQ(listed(*ca_.authority, "valid"), before);
  EXPECT_EQ(dashboard_counts(ca_.authority->dashboard()), recount(ca_));
}

}  // namespace
}  // namespace hostca
