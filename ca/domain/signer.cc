#include "domain/signer.h"

#include <botan/der_enc.h>
#include <botan/ecc_key.h>
#include <botan/pubkey.h>
#include <botan/system_rng.h>
#include <botan/x509_ca.h>

#include "common/error.h"
#include "pki/pkcs11_key.h"

namespace hostca {

SoftwareSigner::SoftwareSigner(std::shared_ptr<const Botan::Private_Key> key,
                               Botan::X509_Certificate ca_cert, Botan::RandomNumberGenerator& rng)
    : key_(std::move(key)),
      ca_cert_(std::move(ca_cert)),
      rng_(rng),
      hash_(signature_hash_for(*key_)) {
  if (key_->subject_public_key() != ca_cert_.subject_public_key_info()) {
    throw failed_precondition("the CA private key does not match the CA certificate");
  }
  std::unique_ptr<Botan::PK_Signer> probe(Botan::choose_sig_format(*key_, rng_, hash_, algorithm_));
  openssl_ = OpenSslSigningKey::from(*key_, hash_);
}

std::vector<std::uint8_t> SoftwareSigner::sign(const CertificateBody& body) const {
  if (!openssl_) {
    Botan::AlgorithmIdentifier sig_algo;
    std::unique_ptr<Botan::PK_Signer> signer(
        Botan::choose_sig_format(*key_, rng_, hash_, sig_algo));
    return Botan::X509_CA::make_cert(signer.get(), rng_, body.serial, sig_algo, body.subject_spki,
                                     body.not_before, body.not_after, ca_cert_.subject_dn(),
                                     body.subject, body.extensions)
        .BER_encode();
  }
  return sign_tbs(tbs_certificate(body, algorithm_, ca_cert_.subject_dn()));
}

std::vector<std::uint8_t> SoftwareSigner::sign_tbs(const std::vector<std::uint8_t>& tbs) const {
  if (openssl_) return signed_object(tbs, algorithm_, openssl_->sign(tbs));
  Botan::AlgorithmIdentifier algorithm;
  std::unique_ptr<Botan::PK_Signer> signer(Botan::choose_sig_format(*key_, rng_, hash_, algorithm));
  return Botan::X509_Object::make_signed(
      signer.get(), rng_, algorithm, Botan::secure_vector<std::uint8_t>(tbs.begin(), tbs.end()));
}

Botan::AlgorithmIdentifier Pkcs11Signer::algorithm_of(const Pkcs11Key& key) {
  // RFC 5758 3.2: ECDSA's identifiers carry no parameters; RFC 4055:
  // sha256WithRSAEncryption carries NULL. As Botan's software signer writes them.
  switch (key.algorithm()) {
    case Pkcs11KeyAlgorithm::kEcdsaP256:
      return Botan::AlgorithmIdentifier(Botan::OID::from_string("1.2.840.10045.4.3.2"),
                                        Botan::AlgorithmIdentifier::USE_EMPTY_PARAM);
    case Pkcs11KeyAlgorithm::kEcdsaP384:
      return Botan::AlgorithmIdentifier(Botan::OID::from_string("1.2.840.10045.4.3.3"),
                                        Botan::AlgorithmIdentifier::USE_EMPTY_PARAM);
    case Pkcs11KeyAlgorithm::kRsa3072:
      break;
  }
  return Botan::AlgorithmIdentifier(Botan::OID::from_string("1.2.840.113549.1.1.11"),
                                    Botan::AlgorithmIdentifier::USE_NULL_PARAM);
}

UncertifiedKey uncertified(std::shared_ptr<const Pkcs11Key> key) {
  UncertifiedKey out;
  out.spki = key->public_key_spki();
  out.algorithm = Pkcs11Signer::algorithm_of(*key);
  out.sign = [key](const std::vector<std::uint8_t>& tbs) { return key->sign(tbs); };
  return out;
}

Pkcs11Signer::Pkcs11Signer(std::shared_ptr<const Pkcs11Key> key, Botan::X509_Certificate ca_cert)
    : key_(std::move(key)), ca_cert_(std::move(ca_cert)), algorithm_(algorithm_of(*key_)) {
  if (key_->public_key_spki() != ca_cert_.subject_public_key_info()) {
    throw failed_precondition("the PKCS#11 key \"" + key_->options().key_label +
                              "\" is not the key of the CA certificate");
  }
}

std::vector<std::uint8_t> Pkcs11Signer::sign(const CertificateBody& body) const {
  return sign_tbs(tbs_certificate(body, algorithm_, ca_cert_.subject_dn()));
}

std::vector<std::uint8_t> Pkcs11Signer::sign_tbs(const std::vector<std::uint8_t>& tbs) const {
  return signed_object(tbs, algorithm_, key_->sign(tbs));
}

std::vector<std::uint8_t> tbs_certificate(const CertificateBody& body,
                                          const Botan::AlgorithmIdentifier& algorithm,
                                          const Botan::X509_DN& issuer) {
  // RFC 5280, 4.1: TBSCertificate, version 3, with extensions.
  std::vector<std::uint8_t> tbs;
  Botan::DER_Encoder(tbs)
      .start_cons(Botan::SEQUENCE)
      .start_explicit(0)
      .encode(static_cast<std::size_t>(2))
      .end_explicit()
      .encode(body.serial)
      .encode(algorithm)
      .encode(issuer)
      .start_cons(Botan::SEQUENCE)
      .encode(body.not_before)
      .encode(body.not_after)
      .end_cons()
      .encode(body.subject)
      .raw_bytes(body.subject_spki)
      .start_explicit(3)
      .start_cons(Botan::SEQUENCE)
      .encode(body.extensions)
      .end_cons()
      .end_explicit()
      .end_cons();
  return tbs;
}

std::vector<std::uint8_t> signed_object(const std::vector<std::uint8_t>& tbs,
                                        const Botan::AlgorithmIdentifier& algorithm,
                                        const std::vector<std::uint8_t>& signature) {
  std::vector<std::uint8_t> out;
  Botan::DER_Encoder(out)
      .start_cons(Botan::SEQUENCE)
      .raw_bytes(tbs)
      .encode(algorithm)
      .encode(signature, Botan::BIT_STRING)
      .end_cons();
  return out;
}

}  // namespace hostca
