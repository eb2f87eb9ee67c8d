#include "pki/keys.h"

#include <botan/ecc_key.h>
#include <botan/ecdsa.h>
#include <botan/ed25519.h>
#include <botan/rsa.h>
#include <botan/system_rng.h>

#include "common/bytes.h"
#include "common/error.h"

namespace hostca {

CaKeyAlgorithm parse_ca_key_algorithm(const std::string& text) {
  if (text == "ecdsa-p256") return CaKeyAlgorithm::kEcdsaP256;
  if (text == "ecdsa-p384") return CaKeyAlgorithm::kEcdsaP384;
  if (text == "ed25519") return CaKeyAlgorithm::kEd25519;
  if (text == "rsa-3072") return CaKeyAlgorithm::kRsa3072;
  if (text == "rsa-4096") return CaKeyAlgorithm::kRsa4096;
  throw invalid_argument("unknown CA key algorithm '" + text +
                         "': use ecdsa-p256, ecdsa-p384, ed25519, rsa-3072 or rsa-4096");
}

std::string to_string(CaKeyAlgorithm algorithm) {
  switch (algorithm) {
    case CaKeyAlgorithm::kEcdsaP256:
      return "ecdsa-p256";
    case CaKeyAlgorithm::kEcdsaP384:
      return "ecdsa-p384";
    case CaKeyAlgorithm::kEd25519:
      return "ed25519";
    case CaKeyAlgorithm::kRsa3072:
      return "rsa-3072";
    case CaKeyAlgorithm::kRsa4096:
      return "rsa-4096";
  }
  return "ecdsa-p256";
}

std::unique_ptr<Botan::Private_Key> generate_key(CaKeyAlgorithm algorithm,
                                                 Botan::RandomNumberGenerator& rng) {
  switch (algorithm) {
    case CaKeyAlgorithm::kEcdsaP256:
      return std::make_unique<Botan::ECDSA_PrivateKey>(rng, Botan::EC_Group("secp256r1"));
    case CaKeyAlgorithm::kEcdsaP384:
      return std::make_unique<Botan::ECDSA_PrivateKey>(rng, Botan::EC_Group("secp384r1"));
    case CaKeyAlgorithm::kEd25519:
      return std::make_unique<Botan::Ed25519_PrivateKey>(rng);
    case CaKeyAlgorithm::kRsa3072:
      return std::make_unique<Botan::RSA_PrivateKey>(rng, 3072);
    case CaKeyAlgorithm::kRsa4096:
      return std::make_unique<Botan::RSA_PrivateKey>(rng, 4096);
  }
  throw internal_error("unknown CA key algorithm");
}

std::string signature_hash_for(const Botan::Private_Key& key) {
  if (key.algo_name() == "Ed25519") return "Pure";
  if (key.algo_name() == "ECDSA") {
    const auto& ec = dynamic_cast<const Botan::EC_PrivateKey&>(key);
    if (ec.domain().get_curve_oid() == Botan::OID::from_string("secp384r1")) return "SHA-384";
  }
  return "SHA-256";
}

std::string certificate_fingerprint(const Botan::X509_Certificate& cert) {
  return to_hex(sha256(cert.BER_encode()));
}

std::string spki_fingerprint(const Botan::X509_Certificate& cert) {
  const auto& spki = cert.subject_public_key_info();
  return to_hex(sha256(Bytes(spki.begin(), spki.end())));
}

}  // namespace hostca
