#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "store/migrator.h"
#include "support/postgres_cluster.h"

#include <string>

namespace hostca {
namespace {

TEST(Migrations, ApplyOnceAndAreRecorded) {
  const std::string db = testing::PostgresCluster::instance().fresh_database();
  store::Migrator migrator(db);
  EXPECT_EQ(migrator.current_version(), store::embedded_migrations().back().version);
  // A second run finds nothing to do.
  EXPECT_TRUE(migrator.apply().empty());
}

// Migration 0005 moves today's names into the register. Names two hosts
// carry already stay with the host that had them first; the other loses them
// from its record, and the audit log says so.
TEST(Migrations, NamesMoveIntoTheRegisterAndCollisionsGoToTheFirstHost) {
  const std::string db = testing::PostgresCluster::instance().empty_database();
  store::Migrator migrator(db);
  migrator.apply_up_to(4);
  ASSERT_EQ(migrator.current_version(), 4);
  const std::string victim = "11111111-1111-4111-8111-111111111111";
  const std::string attacker = "22222222-2222-4222-8222-222222222222";
  const std::string bystander = "33333333-3333-4333-8333-333333333333";
  {
    pqxx::connection conn(db);
    pqxx::work w(conn);
    // Before 0005 an alias could repeat another host's name or alias.
    w.exec(
        "INSERT INTO hosts (host_id, hostname, aliases, created_at, crl_shard) VALUES"
        " ('" +
        victim +
        "', 'victim.example.com', '[\"victim-alias.example.com\"]',"
        "  '2026-01-01', 0),"
        " ('" +
        attacker +
        "', 'victim-alias.example.com', '[\"victim.example.com\","
        "  \"evil.example.com\"]', '2026-02-01', 0),"
        " ('" +
        bystander + "', 'Bystander.Example.com', '[]', '2026-03-01', 0)");
    w.commit();
  }
  const auto applied = migrator.apply();
  ASSERT_FALSE(applied.empty());
  EXPECT_EQ(applied.front(), "0005_host_names");

  pqxx::connection conn(db);
  pqxx::read_transaction r(conn);
  EXPECT_EQ(
      r.exec1("SELECT string_agg(name || '=' || host_id, ',' ORDER BY name) FROM host_names")[0]
          .as<std::string>(),
      "bystander.example.com=" + bystander + ",evil.example.com=" + attacker +
          ",victim-alias.example.com=" + victim + ",victim.example.com=" + victim);
  // The attacker's record keeps only what it holds: no host name, one alias.
  const auto a =
      r.exec1("SELECT hostname, aliases::text FROM hosts WHERE host_id = '" + attacker + "'");
  EXPECT_EQ(a[0].as<std::string>(), "");
  EXPECT_EQ(a[1].as<std::string>(), "[\"evil.example.com\"]");
  EXPECT_EQ(r.exec1("SELECT hostname FROM hosts WHERE host_id = '" + bystander + "'")[0]
                .as<std::string>(),
            "bystander.example.com");
  // One audit row per name lost, naming the host that kept it.
  EXPECT_EQ(r.exec1("SELECT string_agg(subject || ':' || (details->>'name') || ':' ||"
                    " (details->>'kept_by') || ':' || (details->>'was'), ',' ORDER BY"
                    " details->>'name') FROM audit_log WHERE action = 'name.collision'"
                    " AND outcome = 'refused'")[0]
                .as<std::string>(),
            attacker + ":victim-alias.example.com:" + victim + ":hostname," + attacker +
                ":victim.example.com:" + victim + ":alias");
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
