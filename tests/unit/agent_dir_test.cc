// The agent's folder (ring 1, files in a temporary folder): files that
// belong together are replaced together, and an interrupted replacement is
// finished (every file written) or undone (not) by the next command.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../support/expect_error.h"
#include "agent/agent_dir.h"
#include "common/files.h"

namespace hostca::agent {
namespace {

namespace fs = std::filesystem;

class AgentDirTest : public ::testing::Test {
 protected:
  AgentDirTest() {
    char templ[] = "/tmp/hostca-agent-dir-XXXXXX";
    root_ = ::mkdtemp(templ);
    path_ = root_ + "/agent";
  }
  ~AgentDirTest() override { fs::remove_all(root_); }

  void write(const std::string& name, const std::string& content) {
    std::ofstream(path_ + "/" + name) << content;
  }
  std::string read(const std::string& name) { return read_file(path_ + "/" + name, name); }
  bool exists(const std::string& name) { return fs::exists(path_ + "/" + name); }

  Identity identity(const std::string& serial) {
    return Identity{"0f1e2d3c-4b5a-4697-8877-665544332211", "web.example", serial,
                    "2027-03-01T12:00:00Z"};
  }

  std::string root_;
  std::string path_;
};

TEST_F(AgentDirTest, SavesTheIdentityTogetherWithAPrivateKeyInAPrivateFolder) {
  const AgentDir dir(path_);
  EXPECT_FALSE(dir.identity().has_value());
  dir.save_identity("KEY 1", "CERT 1", identity("01"));
  EXPECT_EQ(dir.identity()->serial_hex, "01");
  EXPECT_EQ(dir.private_key_pem(), "KEY 1");
  EXPECT_EQ(dir.certificate_pem(), "CERT 1");
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((path_ + "/host.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  for (const char* name : {"host.key.new", "host.pem.new", "host.json.new"}) {
    EXPECT_FALSE(exists(name)) << name;
  }
}

TEST_F(AgentDirTest, AReplacementInterruptedAfterItsLastFileIsFinished) {
  const AgentDir dir(path_);
  dir.save_identity("KEY 1", "CERT 1", identity("01"));
  // A crash after every new file was written, host.pem already renamed.
  write("host.key.new", "KEY 2");
  write("host.pem", "CERT 2");
  write("host.json.new",
        R"({"host_id":"h","hostname":"web.example","serial_hex":"02","not_after":""})");
  dir.finish_interrupted_writes();
  EXPECT_EQ(read("host.key"), "KEY 2");
  EXPECT_EQ(read("host.pem"), "CERT 2");
  EXPECT_EQ(dir.identity()->serial_hex, "02");
  EXPECT_FALSE(exists("host.key.new"));
  EXPECT_FALSE(exists("host.json.new"));
}

TEST_F(AgentDirTest, AReplacementInterruptedBeforeItsLastFileIsUndone) {
  const AgentDir dir(path_);
  dir.save_identity("KEY 1", "CERT 1", identity("01"));
  // A crash before host.json.new (the marker of a complete group) was written.
  write("host.key.new", "KEY 2");
  write("host.pem.new", "CERT 2");
  dir.finish_interrupted_writes();
  EXPECT_EQ(read("host.key"), "KEY 1");
  EXPECT_EQ(read("host.pem"), "CERT 1");
  EXPECT_EQ(dir.identity()->serial_hex, "01");
  EXPECT_FALSE(exists("host.key.new"));
  EXPECT_FALSE(exists("host.pem.new"));
}

TEST_F(AgentDirTest, TemporaryFilesACrashLeftBehindAreRemovedAndOthersKept) {
  const AgentDir dir(path_);
  dir.save_pin(Pin{"ca:8443", "", "aa", "bb"}, "CA PEM");
  write("host.pem.tmp.1234", "half");
  write("ca.pem.new.tmp.99", "half");
  write("notes.txt", "mine");
  dir.finish_interrupted_writes();
  EXPECT_FALSE(exists("host.pem.tmp.1234"));
  EXPECT_FALSE(exists("ca.pem.new.tmp.99"));
  EXPECT_TRUE(exists("notes.txt"));
  EXPECT_EQ(dir.pin()->server, "ca:8443");
  EXPECT_EQ(dir.ca_pem(), "CA PEM");
}

TEST_F(AgentDirTest, AStaleHalfGroupIsNotCompletedByTheNextReplacement) {
  const AgentDir dir(path_);
  // Left by an earlier crash: a host.pem.new of some other certificate.
  fs::create_directory(path_);
  fs::permissions(path_, fs::perms::owner_all);
  write("host.pem.new", "STALE CERT");
  dir.save_identity("KEY 3", "CERT 3", identity("03"));
  EXPECT_EQ(read("host.pem"), "CERT 3");
  EXPECT_FALSE(exists("host.pem.new"));
}

TEST_F(AgentDirTest, RefusesAFolderOthersMayEnterAndAKeyOthersMayRead) {
  fs::create_directory(path_);
  fs::permissions(path_, fs::perms::owner_all | fs::perms::group_exec);
  HOSTCA_EXPECT_ERROR(AgentDir{path_}, ErrorKind::kFailedPrecondition);
  fs::permissions(path_, fs::perms::owner_all);
  const AgentDir dir(path_);
  dir.save_identity("KEY", "CERT", identity("01"));
  fs::permissions(path_ + "/host.key", fs::perms::owner_read | fs::perms::group_read);
  const std::string msg =
      HOSTCA_EXPECT_ERROR(dir.private_key_pem(), ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("chmod 600"), std::string::npos) << msg;
}

}  // namespace
}  // namespace hostca::agent
