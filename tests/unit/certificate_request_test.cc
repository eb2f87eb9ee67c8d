#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <botan/system_rng.h>
#include <botan/x509cert.h>
#include <botan/x509self.h>

#include "../support/crypto_fixtures.h"
#include "../support/expect_error.h"
#include "domain/certificate_request.h"

namespace hostca {
namespace {

using testing::csr_der;
using testing::csr_pem;
using testing::ecdsa_key;
using testing::ed25519_key;
using testing::shared_rsa_key;

Bytes spki_of(const Botan::Private_Key& key) {
  const auto spki = key.subject_public_key();
  return Bytes(spki.begin(), spki.end());
}

void expect_accepted(const Botan::Private_Key& key, KeyFamily family) {
  for (const Bytes& encoded : {csr_der(key), csr_pem(key)}) {
    const CertificateRequest req = CertificateRequest::parse(encoded, KeyPolicy());
    EXPECT_EQ(req.family(), family);
    EXPECT_EQ(Bytes(req.spki().begin(), req.spki().end()), spki_of(key));
    EXPECT_EQ(req.public_key().subject_public_key(), key.subject_public_key());
  }
}

TEST(CertificateRequest, AcceptsDerAndPemOfEachSupportedKey) {
  expect_accepted(*ecdsa_key("secp256r1"), KeyFamily::kEcdsaP256);
  expect_accepted(*ecdsa_key("secp384r1"), KeyFamily::kEcdsaP384);
  expect_accepted(*ed25519_key(), KeyFamily::kEd25519);
  expect_accepted(shared_rsa_key(2048), KeyFamily::kRsa);
}

TEST(CertificateRequest, RefusesAnEmptyRequest) {
  const std::string msg =
      HOSTCA_EXPECT_ERROR(CertificateRequest::parse({}, KeyPolicy()), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
}

TEST(CertificateRequest, RefusesGarbage) {
  Botan::System_RNG rng;
  const auto random = rng.random_vec(300);
  for (const Bytes& bad : {Bytes(random.begin(), random.end()), Bytes{0x30, 0x03, 0x02, 0x01},
                           Bytes{'h', 'e', 'l', 'l', 'o'}}) {
    const std::string msg = HOSTCA_EXPECT_ERROR(CertificateRequest::parse(bad, KeyPolicy()),
                                                ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("PKCS#10"), std::string::npos) << msg;
  }
}

TEST(CertificateRequest, RefusesATruncatedRequest) {
  const Bytes der = csr_der(*ecdsa_key("secp256r1"));
  const Bytes half(der.begin(), der.begin() + static_cast<long>(der.size() / 2));
  HOSTCA_EXPECT_ERROR(CertificateRequest::parse(half, KeyPolicy()), ErrorKind::kInvalidArgument);
}

TEST(CertificateRequest, RefusesACertificateInsteadOfARequest) {
  const auto key = ecdsa_key("secp256r1");
  Botan::X509_Cert_Options opts("not a request");
  Botan::System_RNG rng;
  const auto cert = Botan::X509::create_self_signed_cert(opts, *key, "SHA-256", rng).BER_encode();
  HOSTCA_EXPECT_ERROR(CertificateRequest::parse(Bytes(cert.begin(), cert.end()), KeyPolicy()),
                      ErrorKind::kInvalidArgument);
}

TEST(CertificateRequest, RefusesMoreThanTheMaximumSizeBeforeParsing) {
  const Bytes too_big(kMaxCsrBytes + 1, 0x30);
  const std::string msg = HOSTCA_EXPECT_ERROR(CertificateRequest::parse(too_big, KeyPolicy()),
                                              ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find(std::to_string(kMaxCsrBytes + 1) + " bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at most " + std::to_string(kMaxCsrBytes)), std::string::npos) << msg;

  // Exactly the maximum is parsed (and refused as garbage, not for its size).
  const Bytes at_limit(kMaxCsrBytes, 0x30);
  const std::string at_limit_msg = HOSTCA_EXPECT_ERROR(
      CertificateRequest::parse(at_limit, KeyPolicy()), ErrorKind::kInvalidArgument);
  EXPECT_EQ(at_limit_msg.find("at most"), std::string::npos) << at_limit_msg;
}

TEST(CertificateRequest, RefusesABrokenSignatureAsFailedProofOfPossession) {
  std::vector<std::unique_ptr<Botan::Private_Key>> keys;
  keys.push_back(ecdsa_key("secp256r1"));
  keys.push_back(ed25519_key());
  for (const auto& key : keys) {
    Bytes der = csr_der(*key);
    der.back() ^= 0x01;  // the last byte belongs to the signature
    const std::string msg = HOSTCA_EXPECT_ERROR(CertificateRequest::parse(der, KeyPolicy()),
                                                ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("signature"), std::string::npos) << msg;
    EXPECT_NE(msg.find("proof of possession"), std::string::npos) << msg;
  }
}

TEST(CertificateRequest, RefusesARequestWhoseSignedContentWasChanged) {
  const auto key = ecdsa_key("secp256r1");
  Bytes der = csr_der(*key, "host-aaaa.example");
  // Change the requested name inside the signed part: the signature no longer matches.
  const std::string from = "host-aaaa";
  auto at = std::search(der.begin(), der.end(), from.begin(), from.end());
  ASSERT_NE(at, der.end());
  *(at + 5) = 'b';
  const std::string msg =
      HOSTCA_EXPECT_ERROR(CertificateRequest::parse(der, KeyPolicy()), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("proof of possession"), std::string::npos) << msg;
}

TEST(CertificateRequest, RefusesAnRsa1024Key) {
  const std::string msg =
      HOSTCA_EXPECT_ERROR(CertificateRequest::parse(csr_der(shared_rsa_key(1024)), KeyPolicy()),
                          ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("too weak"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2048"), std::string::npos) << msg;
}

TEST(CertificateRequest, RefusesAnUnsupportedCurveNamingIt) {
  for (const char* curve : {"secp256k1", "brainpool256r1"}) {
    const std::string msg =
        HOSTCA_EXPECT_ERROR(CertificateRequest::parse(csr_der(*ecdsa_key(curve)), KeyPolicy()),
                            ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find(curve), std::string::npos) << msg;
  }
}

TEST(CertificateRequest, AppliesTheGivenPolicy) {
  KeyPolicy no_ed25519;
  no_ed25519.allow_ed25519 = false;
  const std::string msg = HOSTCA_EXPECT_ERROR(
      CertificateRequest::parse(csr_der(*ed25519_key()), no_ed25519), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("Ed25519"), std::string::npos) << msg;
}

}  // namespace
}  // namespace hostca
