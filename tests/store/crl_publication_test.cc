// CRL publication against the real PostgreSQL: numbers that only grow
// within a shard, even with two servers publishing at once; every CRL
// listing every revocation committed before it; republication on schedule;
// entries of expired certificates leaving after one CRL past their expiry;
// and a shard's publication reading that shard only.
#include <gtest/gtest.h>

#include <algorithm>

#include <future>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <botan/hex.h>
#include <botan/x509_ext.h>
#include <nlohmann/json.hpp>

#include "support/expect_error.h"
#include "support/fault_injecting_store.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::current_crl;
using testing::database_state;
using testing::FaultInjectingStore;
using testing::parse_crl;
using testing::query_value;
using testing::TestCa;

const Botan::OID kIssuingDistributionPoint("2.5.29.28");

RevocationRequest by_host(const std::string& host_id, int reason = 0) {
  RevocationRequest r;
  r.host_id = host_id;
  r.reason_code = reason;
  return r;
}

std::set<std::string> keys_of(const std::map<std::string, int>& m) {
  std::set<std::string> out;
  for (const auto& [k, v] : m) out.insert(k);
  return out;
}

// Serials of the revoked certificates of a shard, as the database has them.
std::set<std::string> revoked_in_shard(const TestCa& ca, int shard) {
  pqxx::connection conn(ca.conninfo);
  pqxx::read_transaction tx(conn);
  std::set<std::string> out;
  for (const auto& row : tx.exec_params("SELECT serial_hex FROM certificates WHERE crl_shard = $1"
                                        " AND revoked_at IS NOT NULL",
                                        shard)) {
    out.insert(row[0].as<std::string>());
  }
  return out;
}

// Every CRL the CA publishes on schedule: one per row of crl_shards (the
// host shards, and any other scope the CA keeps).
int crl_scopes(const TestCa& ca) {
  return query_value<int>(ca.conninfo, "SELECT count(*)::int FROM crl_shards");
}

// Enrols hosts until `count` of them share a CRL shard; returns those.
std::vector<TestCa::Host> hosts_in_one_shard(TestCa& ca, std::size_t count) {
  std::map<int, std::vector<TestCa::Host>> by_shard;
  for (int i = 0; i < 500; ++i) {
    TestCa::Host host = ca.enrol("host-" + std::to_string(i) + ".example");
    auto& hosts = by_shard[host.crl_shard];
    hosts.push_back(std::move(host));
    if (hosts.size() == count) return hosts;
  }
  throw std::runtime_error("no shard filled up");
}

TEST(CrlPublication, EachShardCrlNamesTheDistributionPointOfItsCertificates) {
  TestCa ca;
  const TestCa::Host host = ca.enrol("a.example");
  ca.authority->revoke(ca.admin(), by_host(host.host_id));
  const auto crl = current_crl(*ca.authority, host.crl_shard);

  const Botan::X509_Certificate cert = host.certificate.certificate();
  const auto* cdp = cert.v3_extensions()
                        .get_extension_object_as<Botan::Cert_Extension::CRL_Distribution_Points>();
  ASSERT_NE(cdp, nullptr);
  ASSERT_EQ(cdp->distribution_points().size(), 1u);
  const auto urls = cdp->distribution_points()[0].point().get_attribute("URI");
  ASSERT_EQ(urls.size(), 1u);
  EXPECT_EQ(urls[0], ca.issuer().profile().crl_url(host.crl_shard, 1));

  const auto raw = crl.crl.extensions().extensions_raw();
  ASSERT_EQ(raw.count(kIssuingDistributionPoint), 1u);
  const auto& [der, critical] = raw.at(kIssuingDistributionPoint);
  EXPECT_TRUE(critical);
  const std::string idp(der.begin(), der.end());
  EXPECT_NE(idp.find(urls[0]), std::string::npos) << Botan::hex_encode(der);
  // Not another shard's URL that merely starts the same ("/1.crl" in "/11.crl").
  EXPECT_EQ(static_cast<std::size_t>(der[7]), urls[0].size());
}

TEST(CrlPublication, CrlsOfShardsOutsideTheCaAreNotFound) {
  TestCa ca;
  EXPECT_EQ(ca.authority->crls(std::nullopt).size(),
            static_cast<std::size_t>(ca.authority->crl_shards()));
  HOSTCA_EXPECT_ERROR(ca.authority->crls(ca.authority->crl_shards()), ErrorKind::kNotFound);
  HOSTCA_EXPECT_ERROR(ca.authority->crls(-2), ErrorKind::kNotFound);
}

TEST(CrlPublication, NumbersOfAShardStrictlyIncreaseOverManyPublications) {
  TestCa ca;
  FaultInjectingStore recorder(ca.store);
  const auto authority = ca.make_authority(recorder);
  std::vector<TestCa::Host> hosts;
  for (int i = 0; i < 6; ++i) hosts.push_back(ca.enrol("h" + std::to_string(i) + ".example"));
  for (int round = 0; round < 3; ++round) {
    for (const auto& host : hosts) {
      if (round == 0) {
        authority->revoke(ca.admin(), by_host(host.host_id));
      } else {
        const CreatedToken token = ca.new_reissue_token(host.host_id);
        authority->reissue(ca.reissue_request(host.host_id, token.token.reveal()));
      }
      ca.clock.advance(std::chrono::minutes(7));
    }
    ca.clock.advance(std::chrono::hours(12));
    authority->republish_due_crls();
  }

  std::map<int, std::vector<std::int64_t>> numbers;
  std::map<int, TimePoint> last_this_update;
  for (const auto& row : recorder.committed_crls()) {
    const auto crl = parse_crl(row);
    EXPECT_EQ(crl.crl.crl_number(), static_cast<std::uint32_t>(row.crl_number));
    numbers[row.shard].push_back(row.crl_number);
    EXPECT_GE(row.this_update, last_this_update[row.shard]);
    last_this_update[row.shard] = row.this_update;
  }
  EXPECT_EQ(numbers.size(), static_cast<std::size_t>(crl_scopes(ca)));
  for (const auto& [shard, seen] : numbers) {
    SCOPED_TRACE(shard);
    // One above the last, every time, from the first.
    for (std::size_t i = 0; i < seen.size(); ++i) {
      EXPECT_EQ(seen[i], static_cast<std::int64_t>(i) + 1);
    }
    EXPECT_EQ(query_value<std::int64_t>(
                  ca.conninfo, "SELECT crl_number FROM crl_shards WHERE shard = $1", shard),
              seen.back());
  }
}

TEST(CrlPublication, TwoServersPublishingOneShardAtOnceNeverShareANumberAndMissNoRevocation) {
  constexpr std::size_t kThreads = 8;
  TestCa ca(kThreads + 2);
  const std::vector<TestCa::Host> hosts = hosts_in_one_shard(ca, kThreads);
  const int shard = hosts[0].crl_shard;
  // Each thread: two reissues and a revocation of its host, three CRLs.
  std::vector<std::vector<ReissueRequest>> reissues(kThreads);
  for (std::size_t i = 0; i < kThreads; ++i) {
    for (int j = 0; j < 2; ++j) {
      const CreatedToken token = ca.new_reissue_token(hosts[i].host_id);
      reissues[i].push_back(ca.reissue_request(hosts[i].host_id, token.token.reveal()));
    }
  }
  // Two servers: two stores on the database, two authorities.
  store::PgStore second_store(store::PgStoreOptions{ca.conninfo, kThreads});
  FaultInjectingStore server_1(ca.store);
  FaultInjectingStore server_2(second_store);
  const auto authority_1 = ca.make_authority(server_1);
  const auto authority_2 = ca.make_authority(server_2);
  const std::int64_t first_number = ca.authority->crls(shard)[0].crl_number;
  const std::int64_t head = ca.authority->revocation_stream_head();
  ASSERT_TRUE(revoked_in_shard(ca, shard).empty());

  std::promise<void> go;
  const std::shared_future<void> start = go.get_future().share();
  std::vector<std::future<std::string>> outcomes;
  for (std::size_t i = 0; i < kThreads; ++i) {
    outcomes.push_back(std::async(std::launch::async, [&, i]() -> std::string {
      Authority& authority = i % 2 == 0 ? *authority_1 : *authority_2;
      start.wait();
      try {
        authority.reissue(reissues[i][0]);
        authority.reissue(reissues[i][1]);
        authority.revoke(ca.admin(), by_host(hosts[i].host_id, 1));
        return "";
      } catch (const std::exception& e) {
        return e.what();
      }
    }));
  }
  go.set_value();
  for (auto& f : outcomes) EXPECT_EQ(f.get(), "");

  // Every CRL either server published for the shard.
  std::vector<store::CrlShardRow> published = server_1.committed_crls();
  for (const auto& row : server_2.committed_crls()) published.push_back(row);
  // Reissues that arrive together at one server share a publication (a
  // batch): at most one CRL per revocation, at least one per call that
  // could not have shared (each thread's three run one after the other).
  ASSERT_LE(published.size(), 3 * kThreads);
  ASSERT_GE(published.size(), 3u);
  const auto events = ca.authority->revocation_events(head, 1000);
  ASSERT_EQ(events.size(), 3 * kThreads);
  std::set<std::int64_t> numbers;
  for (const auto& row : published) {
    EXPECT_EQ(row.shard, shard);
    EXPECT_TRUE(numbers.insert(row.crl_number).second)
        << "CRL number " << row.crl_number << " published twice";
    // It lists every revocation whose event names this CRL or an earlier one.
    std::set<std::string> expected;
    for (const auto& e : events) {
      if (e.crl_number <= row.crl_number) expected.insert(e.serial_hex);
    }
    const auto crl = parse_crl(row);
    EXPECT_EQ(keys_of(crl.entries), expected) << "CRL number " << row.crl_number;
  }
  // No gaps: first + 1 .. first + the number of CRLs.
  EXPECT_EQ(*numbers.begin(), first_number + 1);
  EXPECT_EQ(*numbers.rbegin(), first_number + static_cast<std::int64_t>(published.size()));
  // Every revocation names the CRL that first listed it, and every CRL was
  // published for a revocation.
  std::set<std::int64_t> event_numbers;
  for (const auto& e : events) event_numbers.insert(e.crl_number);
  EXPECT_EQ(event_numbers, numbers);
  // The final CRL lists every revoked certificate of the shard.
  const auto last = current_crl(*ca.authority, shard);
  EXPECT_EQ(last.row.crl_number, *numbers.rbegin());
  EXPECT_EQ(keys_of(last.entries), revoked_in_shard(ca, shard));
  EXPECT_EQ(last.entries.size(), 3 * kThreads);
}

class ScheduledRepublication : public ::testing::Test {
 protected:
  ScheduledRepublication() : recorder_(ca_.store) {
    AuthorityConfig config = ca_.config();
    config.crl.validity = std::chrono::hours(24);
    config.crl.republish_before = std::chrono::hours(12);
    authority_ = ca_.make_authority(recorder_, config);
  }
  TestCa ca_;
  FaultInjectingStore recorder_;
  std::unique_ptr<Authority> authority_;
};

TEST_F(ScheduledRepublication, PublishesEachShardOnceWhenNextUpdateIsRepublishBeforeAway) {
  const int shards = crl_scopes(ca_);
  const TimePoint t0 = ca_.clock.now();
  const TestCa::Host host = ca_.enrol("a.example");
  authority_->revoke(ca_.admin(), by_host(host.host_id));
  // Never-published shards are due at once; the revoked host's shard was
  // published a moment ago.
  EXPECT_EQ(authority_->republish_due_crls(), shards - 1);
  EXPECT_EQ(authority_->republish_due_crls(), 0);
  for (const auto& row : authority_->crls(std::nullopt)) {
    SCOPED_TRACE(row.shard);
    EXPECT_EQ(row.this_update, t0);
    EXPECT_EQ(row.next_update, t0 + std::chrono::hours(24));
  }
  const auto numbers_before = database_state(ca_.conninfo).crl_numbers;

  ca_.clock.set(t0 + std::chrono::hours(12) - std::chrono::seconds(1));
  EXPECT_EQ(authority_->republish_due_crls(), 0);
  EXPECT_EQ(database_state(ca_.conninfo).crl_numbers, numbers_before);

  ca_.clock.set(t0 + std::chrono::hours(12));
  const std::size_t published_before = recorder_.committed_crls().size();
  EXPECT_EQ(authority_->republish_due_crls(), shards);
  EXPECT_EQ(authority_->republish_due_crls(), 0);

  const auto published = recorder_.committed_crls();
  std::set<int> shards_seen;
  for (std::size_t i = published_before; i < published.size(); ++i) {
    EXPECT_TRUE(shards_seen.insert(published[i].shard).second) << published[i].shard;
  }
  EXPECT_EQ(shards_seen.size(), static_cast<std::size_t>(shards));
  EXPECT_EQ(database_state(ca_.conninfo).crl_numbers, numbers_before + shards);
  for (const auto& row : authority_->crls(std::nullopt)) {
    SCOPED_TRACE(row.shard);
    EXPECT_EQ(row.this_update, t0 + std::chrono::hours(12));
    EXPECT_EQ(row.next_update, t0 + std::chrono::hours(36));
  }
  // The revoked certificate is still listed.
  EXPECT_EQ(current_crl(*authority_, host.crl_shard).entries,
            (std::map<std::string, int>{{host.serial_hex, 0}}));
  EXPECT_EQ(query_value<int>(ca_.conninfo,
                             "SELECT count(*) FROM audit_log WHERE action = 'crl.publish'"
                             " AND details->>'scheduled' = 'true'"),
            2 * shards - 1);
}

TEST_F(ScheduledRepublication, TwoServersAtOncePublishEachDueShardOnce) {
  store::PgStore second_store(store::PgStoreOptions{ca_.conninfo, 2});
  FaultInjectingStore recorder_2(second_store);
  const auto authority_2 = ca_.make_authority(recorder_2);
  std::promise<void> go;
  const std::shared_future<void> start = go.get_future().share();
  auto one = std::async(std::launch::async, [&] {
    start.wait();
    return authority_->republish_due_crls();
  });
  auto two = std::async(std::launch::async, [&] {
    start.wait();
    return authority_2->republish_due_crls();
  });
  go.set_value();
  EXPECT_EQ(one.get() + two.get(), crl_scopes(ca_));
  std::set<int> shards_seen;
  for (const auto* r : {&recorder_, &recorder_2}) {
    for (const auto& row : r->committed_crls()) {
      EXPECT_TRUE(shards_seen.insert(row.shard).second) << row.shard;
      EXPECT_EQ(row.crl_number, 1);
    }
  }
  EXPECT_EQ(shards_seen.size(), static_cast<std::size_t>(crl_scopes(ca_)));
}

TEST_F(ScheduledRepublication, ThisUpdateNeverGoesBackWhenTheClockDoes) {
  const TimePoint t0 = ca_.clock.now();
  authority_->republish_due_crls();
  const TestCa::Host host = ca_.enrol("a.example");
  ca_.clock.set(t0 - std::chrono::hours(1));
  authority_->revoke(ca_.admin(), by_host(host.host_id));
  const auto crl = current_crl(*authority_, host.crl_shard);
  EXPECT_EQ(crl.row.crl_number, 2);
  EXPECT_EQ(crl.row.this_update, t0);
  EXPECT_EQ(crl.row.next_update, t0 + std::chrono::hours(24));
}

// Entries of expired certificates leave the CRL once a CRL issued past
// their expiry listed them.
TEST_F(ScheduledRepublication, ExpiredEntryLeavesAfterOneCrlIssuedPastItsExpiry) {
  const TestCa::Host a = ca_.enrol("a.example");
  ca_.clock.advance(std::chrono::seconds(1));
  const TestCa::Host b = ca_.enrol("b.example");
  ASSERT_EQ(b.certificate.not_after, a.certificate.not_after + std::chrono::seconds(1));
  authority_->revoke(ca_.admin(), by_host(a.host_id, 1));
  authority_->revoke(ca_.admin(), by_host(b.host_id, 1));
  const auto listed = [&](const TestCa::Host& h) {
    return current_crl(*authority_, h.crl_shard).entries.count(h.serial_hex) == 1;
  };

  // One second past a's expiry, exactly at b's.
  const TimePoint t1 = b.certificate.not_after;
  ca_.clock.set(t1);
  ASSERT_EQ(authority_->republish_due_crls(), crl_scopes(ca_));
  EXPECT_TRUE(listed(a));  // this CRL is the one issued past a's expiry
  EXPECT_TRUE(listed(b));  // issued at b's expiry, not past it

  ca_.clock.set(t1 + std::chrono::hours(12));
  ASSERT_EQ(authority_->republish_due_crls(), crl_scopes(ca_));
  EXPECT_FALSE(listed(a));
  EXPECT_TRUE(listed(b));  // the one issued past b's expiry

  ca_.clock.set(t1 + std::chrono::hours(24));
  ASSERT_EQ(authority_->republish_due_crls(), crl_scopes(ca_));
  EXPECT_FALSE(listed(a));
  EXPECT_FALSE(listed(b));
  // The revocations themselves stay on record.
  EXPECT_EQ(query_value<int>(ca_.conninfo,
                             "SELECT count(*) FROM certificates WHERE revoked_at IS NOT NULL"
                             " AND serial_hex IN ($1, $2)",
                             a.serial_hex, b.serial_hex),
            2);
}

// The retiring statement runs only when an entry has expired; where it
// runs and fails, that shard's publication is not there at all.
TEST_F(ScheduledRepublication, RetiresOnlyWhenAnEntryExpiredAndAFailureThereChangesNothing) {
  const TestCa::Host a = ca_.enrol("a.example");
  authority_->revoke(ca_.admin(), by_host(a.host_id, 1));
  const auto calls = recorder_.last_calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "list_crl_entries"), 1);
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "retire_expired_crl_entries"), 0);

  ca_.clock.set(a.certificate.not_after + std::chrono::seconds(1));
  const std::int64_t number = current_crl(*authority_, a.crl_shard).row.crl_number;
  recorder_.fail_at("retire_expired_crl_entries");
  HOSTCA_EXPECT_ERROR(authority_->republish_due_crls(), ErrorKind::kInternal);
  EXPECT_TRUE(recorder_.fault_fired());
  EXPECT_EQ(current_crl(*authority_, a.crl_shard).row.crl_number, number);

  // Without the fault the publication goes through: it lists the expired
  // entry once more, and the next one leaves it out.
  while (current_crl(*authority_, a.crl_shard).row.crl_number == number) {
    ASSERT_GT(authority_->republish_due_crls(), 0);
  }
  EXPECT_EQ(current_crl(*authority_, a.crl_shard).entries.count(a.serial_hex), 1u);
  ca_.clock.advance(std::chrono::hours(13));
  ASSERT_GT(authority_->republish_due_crls(), 0);
  EXPECT_EQ(current_crl(*authority_, a.crl_shard).entries.count(a.serial_hex), 0u);
}

TEST(CrlPublication, PublishingAShardReadsOnlyThatShardsEntries) {
  TestCa ca;
  std::vector<TestCa::Host> hosts;
  for (int i = 0; i < 24; ++i) hosts.push_back(ca.enrol("h" + std::to_string(i) + ".example"));
  const TestCa::Host last = hosts.back();
  hosts.pop_back();
  for (const auto& h : hosts) ca.authority->revoke(ca.admin(), by_host(h.host_id));
  const int shard = last.crl_shard;
  std::set<std::string> in_shard = revoked_in_shard(ca, shard);
  const std::size_t revoked_elsewhere =
      static_cast<std::size_t>(query_value<int>(
          ca.conninfo, "SELECT count(*) FROM certificates WHERE revoked_at IS NOT NULL")) -
      in_shard.size();
  ASSERT_GT(revoked_elsewhere, 10u);

  FaultInjectingStore recorder(ca.store);
  const auto authority = ca.make_authority(recorder);
  authority->revoke(ca.admin(), by_host(last.host_id));
  in_shard.insert(last.serial_hex);

  const auto reads = recorder.committed_entry_reads();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].shard, shard);
  std::set<std::string> read;
  for (const auto& e : reads[0].entries) read.insert(e.serial_hex);
  EXPECT_EQ(read, in_shard);
  EXPECT_EQ(keys_of(current_crl(*ca.authority, shard).entries), in_shard);
}

// A CRL encodes whole seconds; the entries come back as whole seconds,
// rounded down, from the one-shard and the batch forms alike.
TEST(CrlPublication, EntriesComeBackInWholeSecondsRoundedDown) {
  TestCa ca;
  const TestCa::Host host = ca.enrol("a.example");
  const TimePoint second =
      std::chrono::time_point_cast<std::chrono::seconds>(ca.clock.now()) + std::chrono::seconds(1);
  ca.clock.set(second + std::chrono::microseconds(999999));
  ca.authority->revoke(ca.admin(), by_host(host.host_id));
  const TimePoint not_after =
      std::chrono::time_point_cast<std::chrono::seconds>(host.certificate.not_after);
  ca.store.transact([&](store::Tx& tx) {
    const auto one = tx.list_crl_entries(1, host.crl_shard);
    const auto batch = tx.list_crl_entries_of(1, {host.crl_shard});
    ASSERT_EQ(one.size(), 1u);
    ASSERT_EQ(batch.size(), 1u);
    ASSERT_EQ(batch[0].size(), 1u);
    for (const auto& e : {one[0], batch[0][0]}) {
      EXPECT_EQ(e.serial_hex, host.serial_hex);
      EXPECT_EQ(e.revoked_at, second);
      EXPECT_EQ(e.not_after, not_after);
    }
  });
  // And the CRL says that second.
  const auto crl = current_crl(*ca.authority, host.crl_shard);
  ASSERT_EQ(crl.entries.count(host.serial_hex), 1u);
}

TEST(CrlPublication, ListenerHearsEachPublishedShardAfterItsCommit) {
  TestCa ca;
  const TestCa::Host host = ca.enrol("a.example");
  std::vector<std::pair<int, std::int64_t>> heard;
  ca.authority->on_crl_published([&](const PublishedCrl& crl) {
    // Called after the commit: a reader on another connection sees the CRL,
    // the very one the listener is handed.
    heard.emplace_back(
        crl.shard,
        query_value<std::int64_t>(ca.conninfo, "SELECT crl_number FROM crl_shards WHERE shard = $1",
                                  crl.shard));
    EXPECT_EQ(crl.crl_number, heard.back().second);
    EXPECT_EQ(
        to_hex(crl.der),
        query_value<std::string>(
            ca.conninfo, "SELECT encode(der, 'hex') FROM crl_shards WHERE shard = $1", crl.shard));
    EXPECT_FALSE(crl.der.empty());
  });
  ca.authority->revoke(ca.admin(), by_host(host.host_id));
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0], std::make_pair(host.crl_shard, std::int64_t{1}));

  heard.clear();
  const CreatedToken token = ca.new_reissue_token(host.host_id);
  ca.authority->reissue(ca.reissue_request(host.host_id, token.token.reveal()));
  EXPECT_TRUE(heard.empty());  // nothing was left to revoke: no CRL

  EXPECT_EQ(ca.authority->republish_due_crls(), crl_scopes(ca) - 1);
  EXPECT_EQ(heard.size(), static_cast<std::size_t>(crl_scopes(ca) - 1));
  for (const auto& [shard, number] : heard) EXPECT_EQ(number, 1) << shard;
}

}  // namespace
}  // namespace hostca
