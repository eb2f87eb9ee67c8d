#include "support/postgres_cluster.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <pqxx/pqxx>

#include "store/migrator.h"

namespace hostca::testing {

namespace {
std::string run(const std::string& command) {
  std::array<char, 512> buf{};
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  while (fgets(buf.data(), buf.size(), pipe)) out += buf.data();
  if (pclose(pipe) != 0) throw std::runtime_error("failed: " + command + "\n" + out);
  while (!out.empty() && (out.back() == '\n')) out.pop_back();
  return out;
}
}  // namespace

PostgresCluster& PostgresCluster::instance() {
  static PostgresCluster cluster;
  return cluster;
}

PostgresCluster::PostgresCluster() {
  char tmpl[] = "/tmp/hostca-store-test.XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  // The postgres user must be able to reach its folder inside ours.
  chmod(dir_.c_str(), 0711);
  port_ = 20000 + static_cast<int>(getpid() % 20000);
  run(std::string(HOSTCA_SOURCE_DIR) + "/deploy/postgres.sh start " + dir_ + "/pg " +
      std::to_string(port_) + " --fast");
}

PostgresCluster::~PostgresCluster() {
  try {
    run(std::string(HOSTCA_SOURCE_DIR) + "/deploy/postgres.sh stop " + dir_ + "/pg");
    run("rm -rf " + dir_);
  } catch (const std::exception&) {
  }
}

std::string PostgresCluster::conninfo(const std::string& dbname) const {
  return "host=" + dir_ + "/pg port=" + std::to_string(port_) + " dbname=" + dbname +
         " user=hostca";
}

std::string PostgresCluster::fresh_database() { return conninfo(create_database()); }

std::string PostgresCluster::empty_database() {
  const std::string name = "test_" + std::to_string(++next_db_);
  pqxx::connection admin(conninfo("postgres"));
  pqxx::nontransaction n(admin);
  n.exec("DROP DATABASE IF EXISTS " + name);
  n.exec("CREATE DATABASE " + name);
  return conninfo(name);
}

std::string PostgresCluster::create_database(const std::string& template_name) {
  const std::string name = "test_" + std::to_string(++next_db_);
  {
    pqxx::connection admin(conninfo("postgres"));
    pqxx::nontransaction n(admin);
    n.exec("DROP DATABASE IF EXISTS " + name);
    if (template_name.empty()) {
      n.exec("CREATE DATABASE " + name);
    } else {
      n.exec("CREATE DATABASE " + name + " TEMPLATE " + n.quote_name(template_name));
    }
  }
  if (template_name.empty()) store::Migrator(conninfo(name)).apply();
  return name;
}

}  // namespace hostca::testing
