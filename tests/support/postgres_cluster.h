// A real PostgreSQL 15 for the store tests: one throwaway cluster per test
// binary (deploy/postgres.sh under a temporary folder, unix socket only,
// run as the postgres user when the tests run as root), and a fresh,
// migrated database per test.
#pragma once

#include <string>

namespace hostca::testing {

class PostgresCluster {
 public:
  // Started on first use, stopped at exit.
  static PostgresCluster& instance();

  // Creates an empty database with every migration applied; returns its
  // connection string.
  std::string fresh_database();
  // Creates a database without any migration; returns its connection string.
  std::string empty_database();
  // Creates a database and returns its name: a copy of `template_name` when
  // given (nobody may be connected to that one), else empty and migrated.
  std::string create_database(const std::string& template_name = "");
  // Connection string of an existing database in the cluster.
  std::string conninfo(const std::string& dbname) const;

  ~PostgresCluster();

 private:
  PostgresCluster();
  std::string dir_;
  int port_ = 0;
  int next_db_ = 0;
};

}  // namespace hostca::testing
