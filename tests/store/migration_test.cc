#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "store/migrator.h"
#include "support/postgres_cluster.h"

namespace hostca {
namespace {

TEST(Migrations, ApplyOnceAndAreRecorded) {
  const std::string db = testing::PostgresCluster::instance().fresh_database();
  store::Migrator migrator(db);
  EXPECT_EQ(migrator.current_version(), store::embedded_migrations().back().version);
  // A second run finds nothing to do.
  EXPECT_TRUE(migrator.apply().empty());
}

TEST(AuditLog, RefusesUpdateAndDeleteEvenForTheOwner) {
  const std::string db = testing::PostgresCluster::instance().fresh_database();
  pqxx::connection conn(db);
  {
    pqxx::work w(conn);
    w.exec("INSERT INTO audit_log (at, actor, action, outcome) VALUES (now(), 'test', 'x', 'ok')");
    w.commit();
  }
  for (const char* sql : {"UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log"}) {
    pqxx::work w(conn);
    EXPECT_THROW(w.exec(sql), pqxx::sql_error) << sql;
  }
  pqxx::work w(conn);
  EXPECT_EQ(w.exec1("SELECT count(*) FROM audit_log WHERE actor = 'test'")[0].as<int>(), 1);
}

}  // namespace
}  // namespace hostca

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
