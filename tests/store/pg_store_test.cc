// The unit of work itself: all or nothing, and a store that survives the
// database dropping its connections.
#include <gtest/gtest.h>

#include <string>

#include <pqxx/pqxx>

#include "store/pg_store.h"
#include "support/expect_error.h"
#include "support/postgres_cluster.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::database_state;
using testing::PostgresCluster;
using testing::query_value;
using testing::TestCa;

store::TokenRow some_token(TimePoint now) {
  store::TokenRow t;
  t.token_id = "0f1e2d3c-4b5a-4697-8877-665544332211";
  t.token_hash = Bytes(32, 0xab);
  t.max_uses = 1;
  t.created_at = now;
  t.expires_at = now + std::chrono::hours(1);
  t.created_by = "test";
  return t;
}

TEST(UnitOfWork, AnErrorThrownHalfwayCommitsNothing) {
  TestCa ca;
  const auto before = database_state(ca.conninfo);
  const std::string msg = HOSTCA_EXPECT_ERROR(ca.store.transact([&](store::Tx& tx) {
    tx.insert_token(some_token(ca.clock.now()));
    store::AuditRow row;
    row.at = ca.clock.now();
    row.actor = "test";
    row.action = "token.create";
    row.outcome = "ok";
    tx.append_audit(row);
    throw failed_precondition("stop here");
  }),
                                              ErrorKind::kFailedPrecondition);
  EXPECT_EQ(msg, "stop here");
  EXPECT_EQ(database_state(ca.conninfo), before);
}

TEST(UnitOfWork, ADatabaseErrorIsInternalWithoutSqlInTheMessageAndCommitsNothing) {
  TestCa ca;
  const auto before = database_state(ca.conninfo);
  const std::string msg = HOSTCA_EXPECT_ERROR(ca.store.transact([&](store::Tx& tx) {
    tx.insert_token(some_token(ca.clock.now()));
    tx.insert_token(some_token(ca.clock.now()));  // same primary key
  }),
                                              ErrorKind::kInternal);
  EXPECT_NE(msg.find("nothing was changed"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("INSERT"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("duplicate key"), std::string::npos) << msg;
  EXPECT_EQ(database_state(ca.conninfo), before);
}

// Writes nothing reads back wait for the commit (migration 0010): any
// other statement of the unit of work sends them first, so it sees them.
TEST(UnitOfWork, AHeldWriteIsSeenByTheStatementsAfterIt) {
  TestCa ca;
  const store::TokenRow token = some_token(ca.clock.now());
  ca.store.transact([&](store::Tx& tx) {
    tx.insert_token(token);
    tx.count_token_use(token.token_id);  // held
    const auto row = tx.find_token_by_id(token.token_id);
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->uses, 1);
  });
  EXPECT_EQ(query_value<int>(ca.conninfo, "SELECT uses FROM tokens WHERE token_id = $1::uuid",
                             token.token_id),
            1);
}

// A held write that fails fails at the commit, and the unit commits nothing.
TEST(UnitOfWork, AHeldWriteThatFailsAtTheCommitCommitsNothing) {
  TestCa ca;
  const auto before = database_state(ca.conninfo);
  HOSTCA_EXPECT_ERROR(ca.store.transact([&](store::Tx& tx) {
    const store::TokenRow token = some_token(ca.clock.now());
    tx.insert_token(token);
    tx.count_token_use("7d1f1c36-0c4f-4d3e-9b36-3a4f0f5e0aff");  // no such token
  }),
                      ErrorKind::kInternal);
  EXPECT_EQ(database_state(ca.conninfo), before);
}

TEST(PgStore, AnUnreachableDatabaseIsUnavailable) {
  store::PgStore store(store::PgStoreOptions{
      "host=/nonexistent-hostca-socket-dir port=1 dbname=x user=hostca connect_timeout=2", 1});
  const std::string msg = HOSTCA_EXPECT_ERROR(store.transact([](store::Tx& tx) { tx.find_ca(); }),
                                              ErrorKind::kUnavailable);
  EXPECT_NE(msg.find("cannot be reached"), std::string::npos) << msg;
  EXPECT_FALSE(store.ping());
}

TEST(PgStore, ReconnectsAfterTheDatabaseDroppedItsConnections) {
  TestCa ca(1);
  ASSERT_TRUE(ca.store.ping());
  {
    pqxx::connection admin(PostgresCluster::instance().conninfo("postgres"));
    pqxx::nontransaction n(admin);
    const auto r = n.exec_params(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
        ca.dbname);
    ASSERT_EQ(r[0][0].as<int>(), 1);
  }
  // The call that finds the connection broken may fail, as unavailable;
  // the next one gets a new connection.
  const auto first = testing::thrown_by_or_nothing([&] { ca.authority->list_tokens(true); });
  if (first.threw) {
    EXPECT_EQ(first.kind, ErrorKind::kUnavailable) << first.message;
  }
  EXPECT_NO_THROW(ca.authority->list_tokens(true));
  EXPECT_TRUE(ca.store.ping());
}

}  // namespace
}  // namespace hostca
