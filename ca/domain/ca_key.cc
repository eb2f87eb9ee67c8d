#include "domain/ca_key.h"

#include <botan/data_src.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/ed25519.h>
#include <botan/pkcs8.h>
#include <botan/rsa.h>
#include <botan/system_rng.h>
#include <botan/x509self.h>

#include "common/error.h"
#include "domain/signer.h"

namespace hostca {

namespace {
constexpr std::size_t kPbkdfIterations = 210000;
}

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

std::unique_ptr<Botan::Private_Key> generate_key(CaKeyAlgorithm algorithm) {
  Botan::System_RNG rng;
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

Botan::X509_Certificate make_ca_certificate(const Botan::Private_Key& key,
                                            const CaCertificateOptions& options, TimePoint now) {
  Botan::X509_Cert_Options opts;
  opts.common_name = options.common_name;
  opts.organization = options.organization;
  const auto start = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()));
  opts.start = Botan::X509_Time(start - std::chrono::minutes(5));
  opts.end = Botan::X509_Time(start + options.validity);
  opts.CA_key(0);
  opts.constraints = Botan::Key_Constraints(Botan::KEY_CERT_SIGN | Botan::CRL_SIGN);
  Botan::System_RNG rng;
  // Botan also hashes the key with this name for the subject key identifier,
  // so Ed25519 (which signs "Pure") needs a real hash here; its signature
  // stays pure Ed25519 whatever hash is named.
  std::string hash = signature_hash_for(key);
  if (hash == "Pure") hash = "SHA-512";
  return Botan::X509::create_self_signed_cert(opts, key, hash, rng);
}

std::string encrypt_private_key(const Botan::Private_Key& key, const std::string& passphrase) {
  if (passphrase.size() < kMinPassphraseLength) {
    throw invalid_argument("the CA passphrase must be at least " +
                           std::to_string(kMinPassphraseLength) + " characters long");
  }
  Botan::System_RNG rng;
  return Botan::PKCS8::PEM_encode_encrypted_pbkdf_iter(key, rng, passphrase, kPbkdfIterations,
                                                       "AES-256/GCM", "SHA-512");
}

std::unique_ptr<Botan::Private_Key> decrypt_private_key(const std::string& pem,
                                                        const std::string& passphrase) {
  try {
    Botan::DataSource_Memory src(pem);
    return Botan::PKCS8::load_key(src, passphrase);
  } catch (const std::exception&) {
    throw failed_precondition(
        "the passphrase does not open the CA key: check the passphrase file or variable");
  }
}

std::string certificate_fingerprint(const Botan::X509_Certificate& cert) {
  return to_hex(sha256(cert.BER_encode()));
}

std::string spki_fingerprint(const Botan::X509_Certificate& cert) {
  const auto& spki = cert.subject_public_key_info();
  return to_hex(sha256(Bytes(spki.begin(), spki.end())));
}

}  // namespace hostca
