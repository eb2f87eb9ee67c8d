// The Signer over a PKCS#11 key (SoftHSM2): a CA certificate signed by the
// token's key, and a host certificate signed through Pkcs11Signer, which
// OpenSSL verifies against it; the signature algorithm is encoded as the
// software signer encodes it for a key of that algorithm.
#include <gtest/gtest.h>

#include <botan/auto_rng.h>
#include <botan/der_enc.h>
#include <botan/ecdsa.h>
#include <botan/pkix_types.h>
#include <botan/rsa.h>
#include <botan/x509_ext.h>
#include <botan/x509self.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "domain/signer.h"
#include "pki/pkcs11_key.h"

namespace hostca {
namespace {

namespace fs = std::filesystem;

constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";
constexpr const char* kPin = "5678-test-pin";

class Pkcs11SignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kModule))
        << kModule << " is missing: install the Debian package softhsm2";
    folder_ = fs::temp_directory_path() / ("hostca-hsm-signer-" + std::to_string(::getpid()));
    fs::create_directories(folder_ / "tokens");
    std::ofstream(folder_ / "softhsm2.conf")
        << "directories.tokendir = " << (folder_ / "tokens").string() << "\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", (folder_ / "softhsm2.conf").c_str(), 1);
    const std::string init =
        std::string("softhsm2-util --init-token --free --label signer --pin ") + kPin +
        " --so-pin 12345678 >/dev/null";
    ASSERT_EQ(std::system(init.c_str()), 0);
  }
  void TearDown() override { fs::remove_all(folder_); }

  static Pkcs11KeyOptions options(const std::string& label) {
    Pkcs11KeyOptions o;
    o.module_path = kModule;
    o.token_label = "signer";
    o.key_label = label;
    o.pin = kPin;
    return o;
  }

  static Botan::Extensions extensions(bool ca) {
    Botan::Extensions e;
    e.add(new Botan::Cert_Extension::Basic_Constraints(ca));
    e.add(new Botan::Cert_Extension::Key_Usage(
        ca ? Botan::Key_Constraints(Botan::KEY_CERT_SIGN | Botan::CRL_SIGN)
           : Botan::Key_Constraints(Botan::DIGITAL_SIGNATURE)));
    return e;
  }

  std::string write_pem(const std::string& name, const std::vector<std::uint8_t>& der) {
    const fs::path p = folder_ / name;
    std::ofstream(p) << Botan::X509_Certificate(der).PEM_encode();
    return p.string();
  }

  fs::path folder_;
};

TEST_F(Pkcs11SignerTest, AHostCertificateSignedThroughTheTokenVerifiesWithOpenSsl) {
  Botan::AutoSeeded_RNG rng;
  for (const auto algorithm : {Pkcs11KeyAlgorithm::kEcdsaP256, Pkcs11KeyAlgorithm::kEcdsaP384,
                               Pkcs11KeyAlgorithm::kRsa3072}) {
    const auto key = Pkcs11Key::generate(
        options("ca-" + std::to_string(static_cast<int>(algorithm))), algorithm);
    // The CA certificate, self-signed by the token's key.
    CertificateBody ca;
    ca.serial = Botan::BigInt(1);
    ca.subject_spki = key->public_key_spki();
    ca.not_before = Botan::X509_Time(std::chrono::system_clock::now() - std::chrono::hours(1));
    ca.not_after = Botan::X509_Time(std::chrono::system_clock::now() + std::chrono::hours(24 * 30));
    ca.subject = Botan::X509_DN();
    ca.subject.add_attribute("X520.CommonName", "hostca HSM test CA " + key->algorithm_name());
    ca.extensions = extensions(true);
    const auto algorithm_id = Pkcs11Signer::algorithm_of(*key);
    const auto ca_der = signed_object(tbs_certificate(ca, algorithm_id, ca.subject), algorithm_id,
                                      key->sign(tbs_certificate(ca, algorithm_id, ca.subject)));
    const Pkcs11Signer signer(key, Botan::X509_Certificate(ca_der));

    // A host certificate through the Signer interface.
    std::unique_ptr<Botan::Private_Key> host_key(
        new Botan::ECDSA_PrivateKey(rng, Botan::EC_Group("secp256r1")));
    CertificateBody host;
    host.serial = Botan::BigInt(0x1234567);
    host.subject_spki = host_key->subject_public_key();
    host.not_before = ca.not_before;
    host.not_after = Botan::X509_Time(std::chrono::system_clock::now() + std::chrono::hours(24));
    host.subject.add_attribute("X520.CommonName", "web01.example");
    host.extensions = extensions(false);
    const auto host_der = signer.sign(host);

    const std::string ca_pem = write_pem("ca.pem", ca_der);
    const std::string host_pem = write_pem("host.pem", host_der);
    const std::string cmd = "openssl verify -CAfile " + ca_pem + " " + host_pem + " >" +
                            (folder_ / "verify.out").string() + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0)
        << key->algorithm_name() << ": " << std::ifstream(folder_ / "verify.out").rdbuf();

    // The software signer's identifier for a key of that algorithm, byte for byte.
    std::unique_ptr<Botan::Private_Key> software;
    if (algorithm == Pkcs11KeyAlgorithm::kRsa3072) {
      software.reset(new Botan::RSA_PrivateKey(rng, 3072));
    } else {
      software.reset(new Botan::ECDSA_PrivateKey(
          rng, Botan::EC_Group(algorithm == Pkcs11KeyAlgorithm::kEcdsaP384 ? "secp384r1"
                                                                           : "secp256r1")));
    }
    Botan::X509_Cert_Options opts("software test CA");
    opts.CA_key();
    const Botan::X509_Certificate software_ca =
        Botan::X509::create_self_signed_cert(opts, *software, signature_hash_for(*software), rng);
    const SoftwareSigner software_signer(
        std::shared_ptr<const Botan::Private_Key>(std::move(software)), software_ca, rng);
    std::vector<std::uint8_t> ours, theirs;
    Botan::DER_Encoder(ours).encode(algorithm_id);
    Botan::DER_Encoder(theirs).encode(software_signer.signature_algorithm());
    EXPECT_EQ(ours, theirs) << key->algorithm_name();
  }
}

TEST_F(Pkcs11SignerTest, ACertificateOfAnotherKeyIsRefused) {
  const auto key = Pkcs11Key::generate(options("mine"), Pkcs11KeyAlgorithm::kEcdsaP256);
  Botan::AutoSeeded_RNG rng;
  Botan::ECDSA_PrivateKey other(rng, Botan::EC_Group("secp256r1"));
  Botan::X509_Cert_Options opts("another CA");
  opts.CA_key();
  const auto cert = Botan::X509::create_self_signed_cert(opts, other, "SHA-256", rng);
  EXPECT_THROW(Pkcs11Signer(key, cert), Error);
}

}  // namespace
}  // namespace hostca
