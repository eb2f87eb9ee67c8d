// The CA's signing key behind an interface: today a software key decrypted
// at start, tomorrow an HSM or KMS. Implementations are thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <botan/bigint.h>
#include <botan/pkix_types.h>
#include <botan/x509cert.h>

#include "pki/keys.h"
#include "pki/openssl_signatures.h"

namespace hostca {

// Everything a certificate says, before it is signed.
struct CertificateBody {
  Botan::BigInt serial;
  std::vector<std::uint8_t> subject_spki;  // DER SubjectPublicKeyInfo
  Botan::X509_Time not_before;
  Botan::X509_Time not_after;
  Botan::X509_DN subject;
  Botan::Extensions extensions;
};

class Signer {
 public:
  virtual ~Signer() = default;
  virtual const Botan::X509_Certificate& ca_certificate() const = 0;
  // The signed certificate, DER: what goes to the host and the database
  // as it is (parsing it back cost a tenth of an enrolment's CPU).
  virtual std::vector<std::uint8_t> sign(const CertificateBody& body) const = 0;
  // The algorithm a to-be-signed structure must name in its signature field.
  virtual const Botan::AlgorithmIdentifier& signature_algorithm() const = 0;
  // Signs a DER to-be-signed structure (a TBSCertList) and returns the
  // whole signed object: SEQUENCE { tbs, algorithm, signature }.
  virtual std::vector<std::uint8_t> sign_tbs(const std::vector<std::uint8_t>& tbs) const = 0;
};

// The DER TBSCertificate (RFC 5280, 4.1) of a body, as Botan's X509_CA
// encodes it, and a signed object: SEQUENCE { tbs, algorithm, signature }.
std::vector<std::uint8_t> tbs_certificate(const CertificateBody& body,
                                          const Botan::AlgorithmIdentifier& algorithm,
                                          const Botan::X509_DN& issuer);
std::vector<std::uint8_t> signed_object(const std::vector<std::uint8_t>& tbs,
                                        const Botan::AlgorithmIdentifier& algorithm,
                                        const std::vector<std::uint8_t>& signature);

class SoftwareSigner final : public Signer {
 public:
  // Checks that the key belongs to the certificate.
  // `rng` (for the signatures) must outlive the signer.
  SoftwareSigner(std::shared_ptr<const Botan::Private_Key> key, Botan::X509_Certificate ca_cert,
                 Botan::RandomNumberGenerator& rng);
  const Botan::X509_Certificate& ca_certificate() const override { return ca_cert_; }
  std::vector<std::uint8_t> sign(const CertificateBody& body) const override;
  const Botan::AlgorithmIdentifier& signature_algorithm() const override { return algorithm_; }
  std::vector<std::uint8_t> sign_tbs(const std::vector<std::uint8_t>& tbs) const override;

 private:
  std::shared_ptr<const Botan::Private_Key> key_;
  Botan::X509_Certificate ca_cert_;
  Botan::RandomNumberGenerator& rng_;
  std::string hash_;
  Botan::AlgorithmIdentifier algorithm_;
  // ECDSA and RSA keys sign through OpenSSL (pki/openssl_signatures.h);
  // null for Ed25519, which stays with Botan.
  std::shared_ptr<const OpenSslSigningKey> openssl_;
};

class Pkcs11Key;

// A key before it has a CA certificate: what signs that certificate (a
// token's key, whose private half hostca never holds).
struct UncertifiedKey {
  std::vector<std::uint8_t> spki;  // DER SubjectPublicKeyInfo
  Botan::AlgorithmIdentifier algorithm;
  // The signature of a to-be-signed structure, as X.509 carries it.
  std::function<std::vector<std::uint8_t>(const std::vector<std::uint8_t>& tbs)> sign;
};
UncertifiedKey uncertified(std::shared_ptr<const Pkcs11Key> key);

// The CA key in a PKCS#11 token (pki/pkcs11_key.h): the same signatures,
// in the same encodings, as the software signer's for a key of that
// algorithm; the private key never leaves the token.
class Pkcs11Signer final : public Signer {
 public:
  // Checks that the token's key is the key of the certificate.
  Pkcs11Signer(std::shared_ptr<const Pkcs11Key> key, Botan::X509_Certificate ca_cert);
  const Botan::X509_Certificate& ca_certificate() const override { return ca_cert_; }
  std::vector<std::uint8_t> sign(const CertificateBody& body) const override;
  const Botan::AlgorithmIdentifier& signature_algorithm() const override { return algorithm_; }
  std::vector<std::uint8_t> sign_tbs(const std::vector<std::uint8_t>& tbs) const override;

  // The signature algorithm of a token key, as X.509 names it.
  static Botan::AlgorithmIdentifier algorithm_of(const Pkcs11Key& key);

 private:
  std::shared_ptr<const Pkcs11Key> key_;
  Botan::X509_Certificate ca_cert_;
  Botan::AlgorithmIdentifier algorithm_;
};

}  // namespace hostca
