// Looking at hosts: list_hosts and get_host return what was enrolled, and
// whether a host still has a valid certificate follows the (fake) clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::database_state;
using testing::enrollment;
using testing::TestCa;

class HostQueries : public ::testing::Test {
 protected:
  void SetUp() override {
    const CreatedToken token = ca_.new_token(3);
    web1_ = ca_.authority->enroll(enrollment("web-1.example", token.token.reveal(), {"www"}));
    web2_ = ca_.authority->enroll(enrollment("web-2.example", token.token.reveal()));
    db_ = ca_.authority->enroll(enrollment("db.example", token.token.reveal()));
  }
  TestCa ca_;
  Enrollment web1_, web2_, db_;
};

TEST_F(HostQueries, ListHostsReturnsEveryHostByNameWithItsNewestCertificate) {
  const auto hosts = ca_.authority->list_hosts("", 0);
  ASSERT_EQ(hosts.size(), 3u);
  EXPECT_EQ(hosts[0].host.hostname, "db.example");
  EXPECT_EQ(hosts[1].host.hostname, "web-1.example");
  EXPECT_EQ(hosts[2].host.hostname, "web-2.example");
  EXPECT_EQ(hosts[1].host.host_id, web1_.host_id);
  EXPECT_EQ(hosts[1].host.aliases, std::vector<std::string>{"www"});
  for (const auto& h : hosts) {
    EXPECT_TRUE(h.has_valid_certificate) << h.host.hostname;
    ASSERT_TRUE(h.newest_certificate.has_value());
    EXPECT_EQ(h.newest_certificate->certificate.host_id, h.host.host_id);
    EXPECT_EQ(h.newest_certificate->state, CertificateState::kValid);
    EXPECT_EQ(h.host.created_at, ca_.clock.now());
  }
  EXPECT_EQ(hosts[1].newest_certificate->certificate.serial_hex, web1_.certificate.serial_hex);
}

TEST_F(HostQueries, ListHostsFiltersByPartOfTheNameAndHonoursTheLimit) {
  const auto web = ca_.authority->list_hosts("web-", 0);
  ASSERT_EQ(web.size(), 2u);
  EXPECT_EQ(web[0].host.host_id, web1_.host_id);
  EXPECT_EQ(web[1].host.host_id, web2_.host_id);
  EXPECT_EQ(ca_.authority->list_hosts("", 2).size(), 2u);
  EXPECT_TRUE(ca_.authority->list_hosts("nothing-like-this", 0).empty());
  // Filter text is data, never a pattern.
  EXPECT_TRUE(ca_.authority->list_hosts("%", 0).empty());
  EXPECT_TRUE(ca_.authority->list_hosts("_", 0).empty());
}

TEST_F(HostQueries, SearchFindsHostsByTheStartOfANameOrAliasInAnyCaseOrByTheirId) {
  const auto ids = [&](const std::string& search) {
    HostListRequest r;
    r.search = search;
    std::vector<std::string> out;
    for (const auto& h : ca_.authority->list_hosts(r).hosts) out.push_back(h.host.host_id);
    return out;
  };
  EXPECT_EQ(ids("WEB-"), (std::vector<std::string>{web1_.host_id, web2_.host_id}));
  EXPECT_EQ(ids("ww"), std::vector<std::string>{web1_.host_id});  // an alias
  EXPECT_EQ(ids("db.example"), std::vector<std::string>{db_.host_id});
  EXPECT_EQ(ids(web2_.host_id), std::vector<std::string>{web2_.host_id});
  EXPECT_TRUE(ids("0f1e2d3c-4b5a-4697-8877-665544332211").empty());
  // The search is text, never a pattern: % and _ match only themselves.
  EXPECT_TRUE(ids("%").empty());
  EXPECT_TRUE(ids("w_b").empty());
  EXPECT_TRUE(ids("eb-").empty());  // the start of a name, not any part
}

TEST(HostPaging, PagesWalkEveryHostOnceInNameOrderAndSayWhenTheyEnd) {
  TestCa ca;
  const CreatedToken token = ca.new_token(25);
  std::vector<std::string> names;
  for (int i :
       {7, 3, 24, 0, 12, 19, 5, 1, 22, 9, 15, 11, 2, 18, 6, 13, 21, 4, 16, 8, 23, 10, 17, 14, 20}) {
    char name[32];
    std::snprintf(name, sizeof name, "h-%02d.example", i);
    names.push_back(name);
    ca.authority->enroll(enrollment(name, token.token.reveal()));
  }
  std::sort(names.begin(), names.end());
  const auto walk = [&](HostListRequest r, std::vector<std::size_t>* sizes) {
    std::vector<std::string> seen;
    for (int page = 0; page < 20; ++page) {
      const HostPage p = ca.authority->list_hosts(r);
      sizes->push_back(p.hosts.size());
      for (const auto& h : p.hosts) seen.push_back(h.host.hostname);
      if (p.next_page_token.empty()) break;
      r.page_token = p.next_page_token;
    }
    return seen;
  };
  HostListRequest all;
  all.limit = 10;
  std::vector<std::size_t> sizes;
  EXPECT_EQ(walk(all, &sizes), names);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 5}));
  // A search pages the same way: h-10 to h-19, four at a time.
  HostListRequest tens;
  tens.search = "h-1";
  tens.limit = 4;
  sizes.clear();
  EXPECT_EQ(walk(tens, &sizes), std::vector<std::string>(names.begin() + 10, names.begin() + 20));
  EXPECT_EQ(sizes, (std::vector<std::size_t>{4, 4, 2}));
  // A page ending exactly at the last host says so with one more, empty page.
  HostListRequest fives;
  fives.limit = 5;
  sizes.clear();
  EXPECT_EQ(walk(fives, &sizes), names);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{5, 5, 5, 5, 5, 0}));
}

TEST(HostPaging, APageTokenThisServerDidNotGiveIsRefused) {
  TestCa ca;
  for (const std::string& bad :
       std::vector<std::string>{"x", "zz.0f1e2d3c-4b5a-4697-8877-665544332211", "6162.not-a-uuid",
                                std::string(2000, 'a')}) {
    HostListRequest r;
    r.page_token = bad;
    const std::string msg =
        HOSTCA_EXPECT_ERROR(ca.authority->list_hosts(r), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("page_token"), std::string::npos) << msg;
  }
}

TEST_F(HostQueries, ListHostsRefusesALimitAbove10000) {
  const std::string msg =
      HOSTCA_EXPECT_ERROR(ca_.authority->list_hosts("", 10001), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("10000"), std::string::npos) << msg;
}

TEST_F(HostQueries, GetHostReturnsTheHostAndItsCertificates) {
  const HostDetails d = ca_.authority->get_host(web1_.host_id);
  EXPECT_EQ(d.host.host.host_id, web1_.host_id);
  EXPECT_EQ(d.host.host.hostname, "web-1.example");
  EXPECT_EQ(d.host.host.aliases, std::vector<std::string>{"www"});
  EXPECT_TRUE(d.host.has_valid_certificate);
  ASSERT_EQ(d.certificates.size(), 1u);
  EXPECT_EQ(d.certificates[0].state, CertificateState::kValid);
  const store::CertificateRow& c = d.certificates[0].certificate;
  EXPECT_EQ(c.serial_hex, web1_.certificate.serial_hex);
  EXPECT_EQ(c.kind, store::CertificateKind::kEnroll);
  EXPECT_EQ(c.not_before, web1_.certificate.not_before);
  EXPECT_EQ(c.not_after, web1_.certificate.not_after);
  EXPECT_FALSE(c.revoked_at.has_value());
  const auto der = web1_.certificate.certificate().BER_encode();
  EXPECT_EQ(c.der, Bytes(der.begin(), der.end()));
  ASSERT_TRUE(d.host.newest_certificate.has_value());
  EXPECT_EQ(d.host.newest_certificate->certificate.serial_hex, web1_.certificate.serial_hex);
}

TEST_F(HostQueries, HostsHaveAValidCertificateUntilOneSecondBeforeNotAfterOnly) {
  const TimePoint not_after = db_.certificate.not_after;
  ca_.clock.set(not_after - std::chrono::seconds(1));
  EXPECT_TRUE(ca_.authority->get_host(db_.host_id).host.has_valid_certificate);
  for (const auto& h : ca_.authority->list_hosts("", 0)) EXPECT_TRUE(h.has_valid_certificate);

  ca_.clock.set(not_after);
  EXPECT_FALSE(ca_.authority->get_host(db_.host_id).host.has_valid_certificate);
  for (const auto& h : ca_.authority->list_hosts("", 0)) {
    EXPECT_FALSE(h.has_valid_certificate) << h.host.hostname;
    EXPECT_TRUE(h.newest_certificate.has_value()) << "expired certificates stay on record";
  }
}

TEST_F(HostQueries, GetHostAcceptsAnUppercaseId) {
  std::string upper = db_.host_id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(ca_.authority->get_host(upper).host.host.host_id, db_.host_id);
}

TEST_F(HostQueries, GetHostOfAnUnknownIdIsNotFoundAndOfANonUuidInvalidArgument) {
  const auto before = database_state(ca_.conninfo);
  std::string msg = HOSTCA_EXPECT_ERROR(
      ca_.authority->get_host("0f1e2d3c-4b5a-4697-8877-665544332211"), ErrorKind::kNotFound);
  EXPECT_NE(msg.find("host list"), std::string::npos) << msg;
  msg = HOSTCA_EXPECT_ERROR(ca_.authority->get_host("web-1.example"), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("host ID"), std::string::npos) << msg;
  EXPECT_EQ(database_state(ca_.conninfo), before);
}

TEST_F(HostQueries, ListAuditReturnsRowsAfterASequenceInOrder) {
  const auto all = ca_.authority->list_audit(0, 1000);
  ASSERT_GE(all.size(), 6u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].sequence, all[i].sequence);
  const auto tail = ca_.authority->list_audit(static_cast<std::uint64_t>(all[2].sequence), 2);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].sequence, all[3].sequence);
  EXPECT_EQ(tail[1].sequence, all[4].sequence);
  HOSTCA_EXPECT_ERROR(ca_.authority->list_audit(0, 1001), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace hostca
