// The agent's pin set (ring 1, files in a temporary folder): pin.json and
// ca.pem hold every pinned CA key, written together; a folder pinned by an
// earlier agent (one key) reads as a set of one; ca.pem
// must hold exactly the pinned keys; an issued certificate and a CRL are
// checked against the pinned key that made them; status shows the set.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../support/expect_error.h"
#include "agent/enrolment.h"
#include "agent/host_crls.h"
#include "agent/host_status.h"
#include "agent/pin_set.h"
#include "agent/pinned_ca.h"
#include "agent_rollover_fixture.h"
#include "common/files.h"
#include "domain/crl_builder.h"

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

hostca::v1::CertificateResponse response_for(const testing::HostCertificate& host,
                                             const Botan::X509_Certificate& ca) {
  hostca::v1::CertificateResponse res;
  res.set_host_id("0f1e2d3c-4b5a-4697-8877-665544332211");
  res.set_certificate_der(testing::der_of(host.certificate));
  res.set_ca_certificate_der(testing::der_of(ca));
  return res;
}

TEST(CheckIssued, AcceptsACertificateOfAnyPinnedKeyAndNoOther) {
  const auto a = new_ca();
  const auto b = next_ca(*a);
  const PinSet pins = pins_of(a->ca_certificate(), {{PinRole::kNext, b.ca()}});
  // After activate the server issues with B, which this host pins as next.
  const auto from_b = testing::host_certificate_of(b.signer);
  EXPECT_NO_THROW(check_issued(response_for(from_b, b.ca()), pins, *from_b.key,
                               "0f1e2d3c-4b5a-4697-8877-665544332211"));
  // Claimed to come from B, but signed by another key.
  const auto stranger = testing::host_certificate_of(new_ca());
  EXPECT_THROW(check_issued(response_for(stranger, b.ca()), pins, *stranger.key, ""),
               CertificateFailure);
  // From an unpinned CA altogether.
  const auto c = new_ca();
  const auto from_c = testing::host_certificate_of(c);
  try {
    check_issued(response_for(from_c, c->ca_certificate()), pins_of(a->ca_certificate()),
                 *from_c.key, "");
    FAIL() << "a certificate of an unpinned CA was accepted";
  } catch (const CertificateFailure& e) {
    EXPECT_NE(std::string(e.what()).find(spki(c->ca_certificate())), std::string::npos);
  }
}

// A signer that puts one CA's name and key identifier on a CRL but signs
// it with another key: a forgery.
class ForgingSigner final : public Signer {
 public:
  ForgingSigner(std::shared_ptr<SoftwareSigner> named, std::shared_ptr<SoftwareSigner> signing)
      : named_(std::move(named)), signing_(std::move(signing)) {}
  const Botan::X509_Certificate& ca_certificate() const override {
    return named_->ca_certificate();
  }
  std::vector<std::uint8_t> sign(const CertificateBody& body) const override {
    return signing_->sign(body);
  }
  const Botan::AlgorithmIdentifier& signature_algorithm() const override {
    return signing_->signature_algorithm();
  }
  std::vector<std::uint8_t> sign_tbs(const std::vector<std::uint8_t>& tbs) const override {
    return signing_->sign_tbs(tbs);
  }

 private:
  std::shared_ptr<SoftwareSigner> named_, signing_;
};

Botan::X509_CRL crl_by(std::shared_ptr<const Signer> signer) {
  CrlContents contents;
  contents.crl_number = 1;
  contents.this_update = kRolloverNow;
  contents.next_update = kRolloverNow + std::chrono::hours(24);
  const Bytes der = CrlBuilder(std::move(signer)).build(contents);
  return Botan::X509_CRL(std::vector<std::uint8_t>(der.begin(), der.end()));
}

TEST(PinnedSignerOf, ChecksEachCrlAgainstThePinnedKeyItsAuthorityKeyIdentifierNames) {
  const auto a = new_ca();
  const auto b = next_ca(*a);
  const PinSet both = pins_of(b.ca(), {{PinRole::kPrevious, a->ca_certificate()}});
  EXPECT_EQ(pinned_signer_of(crl_by(a), both, "a CRL")->spki_sha256, spki(a->ca_certificate()));
  EXPECT_EQ(pinned_signer_of(crl_by(b.signer), both, "a CRL")->spki_sha256, spki(b.ca()));
  // A's CRLs, once A is no longer pinned: not this host's business.
  EXPECT_EQ(pinned_signer_of(crl_by(a), pins_of(b.ca()), "a CRL"), nullptr);
  // Naming A but signed by B (same subject name): a certificate failure.
  EXPECT_THROW(
      pinned_signer_of(crl_by(std::make_shared<ForgingSigner>(a, b.signer)), both, "a CRL"),
      CertificateFailure);
}

TEST_F(PinSetTest, CrlsOnFileOfAKeyNoLongerPinnedAreLeftOut) {
  const AgentDir dir(path_);
  const PinSet pins = pins_of(b_.ca());
  pins.save(dir);
  const auto pem_of = [](const Botan::X509_CRL& crl) { return crl.PEM_encode(); };
  const auto from_a = crl_by(a_);
  const auto from_b = crl_by(b_.signer);
  write("crl.pem", pem_of(from_a) + pem_of(from_b));
  const auto kept = crls_on_file(dir, pins);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].authority_key_id(), b_.ca().subject_key_id());
  write("crl.pem", pem_of(from_a));
  HOSTCA_EXPECT_ERROR(crls_on_file(dir, pins), ErrorKind::kFailedPrecondition);
}

TEST_F(PinSetTest, StatusShowsEveryPinnedKeyWithItsRoleInTextAndJson) {
  const AgentDir dir(path_);
  pins_of(a_->ca_certificate(), {{PinRole::kNext, b_.ca()}}).save(dir);
  const HostStatus status = host_status(dir, 0.5, kRolloverNow);
  const json j = json::parse(status_json(status));
  ASSERT_EQ(j["pinned_keys"].size(), 2u);
  EXPECT_EQ(j["pinned_keys"][0]["role"], "current");
  EXPECT_EQ(j["pinned_keys"][0]["spki_sha256"], spki(a_->ca_certificate()));
  EXPECT_EQ(j["pinned_keys"][1]["role"], "next");
  EXPECT_EQ(j["pinned_keys"][1]["spki_sha256"], spki(b_.ca()));
  EXPECT_EQ(j["ca_spki_sha256"], spki(a_->ca_certificate()));
  const std::string text = status_text(status);
  EXPECT_NE(text.find(spki(a_->ca_certificate()) + " (current)"), std::string::npos) << text;
  EXPECT_NE(text.find(spki(b_.ca()) + " (next)"), std::string::npos) << text;
}

}  // namespace
}  // namespace hostca::agent
