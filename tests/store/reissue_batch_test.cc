// Reissues in batches against the real PostgreSQL (Authority::reissue_together,
// what reissue() runs when callers arrive together): one unit of work for
// the batch, each shard's CRL published once for all of its revocations, and
// every request the batch cannot take answered as it would be alone.
#include <gtest/gtest.h>

#include <exception>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "support/fault_injecting_store.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::current_crl;
using testing::FaultInjectingStore;
using testing::query_value;
using testing::TestCa;

constexpr int kSuperseded = 4;

std::int64_t crl_number_sum(const TestCa& ca) {
  return query_value<std::int64_t>(ca.conninfo, "SELECT sum(crl_number) FROM crl_shards");
}

std::int64_t events(const TestCa& ca) {
  return query_value<std::int64_t>(ca.conninfo, "SELECT count(*) FROM revocation_events");
}

bool revoked(const TestCa& ca, const std::string& serial) {
  return query_value<bool>(
      ca.conninfo, "SELECT revoked_at IS NOT NULL FROM certificates WHERE serial_hex = $1", serial);
}

std::int64_t audit_rows(const TestCa& ca, const std::string& action) {
  return query_value<std::int64_t>(ca.conninfo, "SELECT count(*) FROM audit_log WHERE action = $1",
                                   action);
}

int token_uses(const TestCa& ca, const std::string& token_id) {
  return query_value<int>(ca.conninfo, "SELECT uses FROM tokens WHERE token_id = $1::uuid",
                          token_id);
}

ErrorKind kind_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const Error& error) {
    return error.kind();
  } catch (...) {
    return ErrorKind::kInternal;
  }
}

// Hosts enrolled until two share a shard: those two first, then two more,
// each in a shard of its own.
std::vector<TestCa::Host> hosts_with_a_shared_shard(TestCa& ca) {
  std::map<int, std::vector<TestCa::Host>> by_shard;
  for (int i = 0; i < 200; ++i) {
    TestCa::Host host = ca.enrol("batch-" + std::to_string(i) + ".example");
    auto& same = by_shard[host.crl_shard];
    same.push_back(std::move(host));
    if (same.size() == 2) {
      std::vector<TestCa::Host> out = same;
      std::set<int> used{out[0].crl_shard};
      for (auto& [shard, hosts] : by_shard) {
        if (out.size() < 4 && used.insert(shard).second) out.push_back(hosts.front());
      }
      if (out.size() == 4) return out;
    }
  }
  throw std::runtime_error("no two hosts in one shard");
}

TEST(ReissueTogether, RevokesEachHostsCertificatesAndPublishesEachShardOnceForAllOfThem) {
  TestCa ca;
  const std::vector<TestCa::Host> hosts = hosts_with_a_shared_shard(ca);
  std::vector<ReissueRequest> requests;
  std::vector<std::string> token_ids;
  std::set<int> shards;
  for (const auto& h : hosts) {
    const CreatedToken token = ca.new_reissue_token(h.host_id);
    token_ids.push_back(token.token_id);
    requests.push_back(ca.reissue_request(h.host_id, token.token.reveal()));
    shards.insert(h.crl_shard);
  }
  ASSERT_EQ(shards.size(), hosts.size() - 1);  // two of them share one
  const std::int64_t numbers_before = crl_number_sum(ca);
  const std::int64_t events_before = events(ca);
  const std::int64_t audit_before = audit_rows(ca, "certificate.reissue");
  const std::int64_t uses_before = audit_rows(ca, "token.use");

  std::vector<const ReissueRequest*> batch;
  for (const auto& r : requests) batch.push_back(&r);
  const auto outcomes = ca.authority->reissue_together(batch);

  ASSERT_EQ(outcomes.size(), hosts.size());
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    ASSERT_FALSE(outcomes[i].error) << "request " << i;
    ASSERT_TRUE(outcomes[i].reissue);
    const Reissue& r = *outcomes[i].reissue;
    EXPECT_EQ(r.host_id, hosts[i].host_id);
    EXPECT_EQ(r.revoked_serials, std::vector<std::string>{hosts[i].serial_hex});
    EXPECT_TRUE(revoked(ca, hosts[i].serial_hex));
    EXPECT_FALSE(revoked(ca, r.certificate.serial_hex));
    EXPECT_EQ(token_uses(ca, token_ids[i]), 1);
    // The shard's current CRL lists the old certificate as superseded.
    const auto crl = current_crl(*ca.authority, hosts[i].crl_shard);
    ASSERT_EQ(crl.entries.count(hosts[i].serial_hex), 1u);
    EXPECT_EQ(crl.entries.at(hosts[i].serial_hex), kSuperseded);
  }
  // One publication per shard, not per reissue: the two hosts of one shard
  // are on one CRL. Alone, each reissue publishes its own.
  EXPECT_EQ(crl_number_sum(ca) - numbers_before, static_cast<std::int64_t>(shards.size()));
  EXPECT_EQ(events(ca) - events_before, static_cast<std::int64_t>(hosts.size()));
  // Audited as a reissue alone is: one reissue and one token use each, by the token.
  EXPECT_EQ(audit_rows(ca, "certificate.reissue") - audit_before,
            static_cast<std::int64_t>(hosts.size()));
  EXPECT_EQ(audit_rows(ca, "token.use") - uses_before, static_cast<std::int64_t>(hosts.size()));
  for (const auto& id : token_ids) {
    EXPECT_EQ(query_value<std::int64_t>(ca.conninfo,
                                        "SELECT count(*) FROM audit_log WHERE action ="
                                        " 'certificate.reissue' AND actor = $1",
                                        "token:" + id),
              1);
  }
  // A used token is used: the same request again is refused.
  EXPECT_EQ(kind_of(ca.authority->reissue_together({&requests[0], &requests[1]})[0].error),
            ErrorKind::kResourceExhausted);
}

TEST(ReissueTogether, ARequestTheBatchCannotTakeGetsTheAnswerItWouldGetAloneAndChangesNothing) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example");
  const TestCa::Host b = ca.enrol("b.example");
  const TestCa::Host c = ca.enrol("c.example");
  const TestCa::Host d = ca.enrol("d.example");
  const TestCa::Host e = ca.enrol("e.example");
  const CreatedToken a_token = ca.new_reissue_token(a.host_id);
  const CreatedToken d_token = ca.new_reissue_token(d.host_id);
  const CreatedToken e_token = ca.new_reissue_token(e.host_id);

  const ReissueRequest for_a = ca.reissue_request(a.host_id, a_token.token.reveal());
  // b: a well-formed token nobody made.
  const ReissueRequest unknown =
      ca.reissue_request(b.host_id, "hca_reissue_" + std::string(43, 'A'));
  // c: a real token, made for d.
  const ReissueRequest another_hosts = ca.reissue_request(c.host_id, d_token.token.reveal());
  // e: the key a's request asks for.
  ReissueRequest same_key = ca.reissue_request(e.host_id, e_token.token.reveal());
  same_key.csr = for_a.csr;

  const auto outcomes =
      ca.authority->reissue_together({&for_a, &unknown, &another_hosts, &same_key});
  ASSERT_EQ(outcomes.size(), 4u);
  ASSERT_TRUE(outcomes[0].reissue);
  EXPECT_TRUE(revoked(ca, a.serial_hex));
  EXPECT_EQ(kind_of(outcomes[1].error), ErrorKind::kUnauthenticated);
  EXPECT_EQ(kind_of(outcomes[2].error), ErrorKind::kPermissionDenied);
  EXPECT_TRUE(outcomes[3].error);
  EXPECT_FALSE(outcomes[3].reissue);
  // Nothing of theirs changed.
  for (const auto* h : {&b, &c, &e}) EXPECT_FALSE(revoked(ca, h->serial_hex)) << h->hostname;
  EXPECT_EQ(token_uses(ca, d_token.token_id), 0);
  EXPECT_EQ(token_uses(ca, e_token.token_id), 0);
  EXPECT_EQ(token_uses(ca, a_token.token_id), 1);
}

TEST(ReissueTogether, ABatchThatFailsRunsEachRequestAloneAndNoneIsRefusedForIt) {
  TestCa ca;
  FaultInjectingStore faulty(ca.store);
  const auto authority = ca.make_authority(faulty);
  std::vector<TestCa::Host> hosts;
  std::vector<ReissueRequest> requests;
  for (int i = 0; i < 3; ++i) {
    hosts.push_back(ca.enrol("f" + std::to_string(i) + ".example"));
    requests.push_back(ca.reissue_request(
        hosts.back().host_id, ca.new_reissue_token(hosts.back().host_id).token.reveal()));
  }
  const std::int64_t events_before = events(ca);
  // The batch claims the hosts' names; the first claim fails, once.
  faulty.fail_at("assign_host_names");
  const auto outcomes = authority->reissue_together({&requests[0], &requests[1], &requests[2]});
  EXPECT_TRUE(faulty.fault_fired());
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    ASSERT_TRUE(outcomes[i].reissue) << "request " << i;
    EXPECT_TRUE(revoked(ca, hosts[i].serial_hex));
    EXPECT_EQ(outcomes[i].reissue->revoked_serials, std::vector<std::string>{hosts[i].serial_hex});
  }
  // Each revoked once, each reissued once: the failed batch wrote nothing.
  EXPECT_EQ(events(ca) - events_before, 3);
  EXPECT_EQ(query_value<std::int64_t>(ca.conninfo,
                                      "SELECT count(*) FROM certificates WHERE kind = 'reissue'"),
            3);
}

}  // namespace
}  // namespace hostca
