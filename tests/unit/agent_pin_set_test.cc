// The agent's pin set (ring 1, files in a temporary folder): pin.json and
// ca.pem hold every pinned CA key, written together; a folder pinned by an
// earlier agent (one key) reads as a set of one; ca.pem must hold exactly the
// pinned keys.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../support/expect_error.h"
#include "agent/pin_set.h"
#include "agent/pinned_ca.h"
#include "agent_rollover_fixture.h"
#include "common/files.h"

namespace hostca::agent {
namespace {

namespace fs = std::filesystem;
using hostca::testing::kRolloverNow;
using hostca::testing::new_ca;
using hostca::testing::next_ca;
using hostca::testing::pins_of;
using json = nlohmann::json;

std::string spki(const Botan::X509_Certificate& cert) { return spki_fingerprint(cert); }

class PinSetTest : public ::testing::Test {
 protected:
  PinSetTest() {
    char templ[] = "/tmp/hostca-agent-pins-XXXXXX";
    root_ = ::mkdtemp(templ);
    path_ = root_ + "/agent";
  }
  ~PinSetTest() override { fs::remove_all(root_); }

  void write(const std::string& name, const std::string& content) {
    fs::create_directories(path_);
    fs::permissions(path_, fs::perms::owner_all);
    std::ofstream(path_ + "/" + name) << content;
  }
  std::string read(const std::string& name) { return read_file(path_ + "/" + name, name); }

  std::string root_;
  std::string path_;
  std::shared_ptr<SoftwareSigner> a_ = new_ca();
  testing::NextCa b_ = next_ca(*a_);
};

TEST_F(PinSetTest, AFolderPinnedByAnEarlierAgentReadsAsASetOfOneKey) {
  // Exactly what the agent wrote before pin sets.
  write("pin.json", json{{"server", "127.0.0.1:8443"},
                         {"tls_server_name", ""},
                         {"sha256_fingerprint", certificate_fingerprint(a_->ca_certificate())},
                         {"spki_sha256", spki(a_->ca_certificate())}}
                        .dump(2));
  write("ca.pem", a_->ca_certificate().PEM_encode());
  const AgentDir dir(path_);
  const PinSet pins = PinSet::read(dir);
  ASSERT_EQ(pins.keys().size(), 1u);
  EXPECT_EQ(pins.current().role, PinRole::kCurrent);
  EXPECT_EQ(pins.current().spki_sha256, spki(a_->ca_certificate()));
  EXPECT_EQ(pins.server(), "127.0.0.1:8443");

  // Saved again with a next key, the current key keeps the old fields.
  const PinSet more = pins_of(a_->ca_certificate(), {{PinRole::kNext, b_.ca()}})
                          .at(pins.server(), pins.tls_server_name());
  more.save(dir);
  const json j = json::parse(read("pin.json"));
  EXPECT_EQ(j["spki_sha256"], spki(a_->ca_certificate()));
  EXPECT_EQ(j["sha256_fingerprint"], certificate_fingerprint(a_->ca_certificate()));
  EXPECT_EQ(j["server"], "127.0.0.1:8443");
  ASSERT_EQ(j["other_keys"].size(), 1u);
  EXPECT_EQ(j["other_keys"][0]["role"], "next");
  EXPECT_EQ(j["other_keys"][0]["spki_sha256"], spki(b_.ca()));
  EXPECT_TRUE(PinSet::read(dir).same_keys_as(more));
}

TEST_F(PinSetTest, SavesEveryPinnedCertificateInCaPemCurrentFirstAndNothingHalfWritten) {
  const AgentDir dir(path_);
  const PinSet pins = pins_of(b_.ca(), {{PinRole::kPrevious, a_->ca_certificate()}});
  pins.save(dir);
  const auto certs = parse_certificate_bundle(read("ca.pem"), "ca.pem");
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(spki(certs[0]), spki(b_.ca()));
  EXPECT_EQ(spki(certs[1]), spki(a_->ca_certificate()));
  for (const char* name : {"ca.pem.new", "pin.json.new"}) {
    EXPECT_FALSE(fs::exists(path_ + "/" + name)) << name;
  }
  const PinSet back = PinSet::read(dir);
  EXPECT_TRUE(back.same_keys_as(pins));
  EXPECT_EQ(back.find(spki(a_->ca_certificate()))->role, PinRole::kPrevious);
  EXPECT_EQ(back.ca_pem(), read("ca.pem"));
}

TEST_F(PinSetTest, ACaPemThatDoesNotHoldExactlyThePinnedKeysIsACertificateFailure) {
  const AgentDir dir(path_);
  pins_of(a_->ca_certificate(), {{PinRole::kNext, b_.ca()}}).save(dir);
  const std::string both = read("ca.pem");
  // A pinned key missing.
  write("ca.pem", a_->ca_certificate().PEM_encode());
  EXPECT_THROW(PinSet::read(dir), CertificateFailure);
  // A key nobody pinned slipped in: every channel would trust it.
  write("ca.pem", both + new_ca()->ca_certificate().PEM_encode());
  try {
    PinSet::read(dir);
    FAIL() << "an unpinned certificate in ca.pem was accepted";
  } catch (const CertificateFailure& e) {
    EXPECT_NE(std::string(e.what()).find("which is not pinned"), std::string::npos) << e.what();
  }
  write("ca.pem", "not a certificate");
  EXPECT_THROW(PinSet::read(dir), CertificateFailure);
  write("ca.pem", both);
  EXPECT_NO_THROW(PinSet::read(dir));
}

TEST_F(PinSetTest, ASetHoldsOneCurrentKeyAndNoKeyTwice) {
  HOSTCA_EXPECT_ERROR(PinSet("s", "", {pinned_ca(PinRole::kNext, b_.ca())}),
                      ErrorKind::kInvalidArgument);
  HOSTCA_EXPECT_ERROR(PinSet("s", "",
                             {pinned_ca(PinRole::kCurrent, a_->ca_certificate()),
                              pinned_ca(PinRole::kCurrent, b_.ca())}),
                      ErrorKind::kInvalidArgument);
  HOSTCA_EXPECT_ERROR(PinSet("s", "",
                             {pinned_ca(PinRole::kCurrent, a_->ca_certificate()),
                              pinned_ca(PinRole::kPrevious, a_->ca_certificate())}),
                      ErrorKind::kInvalidArgument);
  // Kept current first whatever the order given.
  const PinSet pins(
      "s", "",
      {pinned_ca(PinRole::kNext, b_.ca()), pinned_ca(PinRole::kCurrent, a_->ca_certificate())});
  EXPECT_EQ(pins.current().spki_sha256, spki(a_->ca_certificate()));
}

TEST_F(PinSetTest, FindsTheKeyThatIssuedACertificate) {
  const PinSet pins = pins_of(b_.ca(), {{PinRole::kPrevious, a_->ca_certificate()}});
  EXPECT_EQ(pins.issuer_of(testing::host_certificate_of(a_).certificate)->spki_sha256,
            spki(a_->ca_certificate()));
  EXPECT_EQ(pins.issuer_of(testing::host_certificate_of(b_.signer).certificate)->spki_sha256,
            spki(b_.ca()));
  EXPECT_EQ(pins.issuer_of(testing::host_certificate_of(new_ca()).certificate), nullptr);
}

}  // namespace
}  // namespace hostca::agent
