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
#include "domain/ca_link.h"
#include "domain/signer.h"

namespace hostca {

namespace {
constexpr std::size_t kPbkdfIterations = 210000;
}

Botan::X509_Certificate make_ca_certificate(const Botan::Private_Key& key,
                                            const CaCertificateOptions& options, TimePoint now,
                                            Botan::RandomNumberGenerator& rng) {
  Botan::X509_Cert_Options opts;
  opts.common_name = options.common_name;
  opts.organization = options.organization;
  const auto start = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()));
  opts.start = Botan::X509_Time(start - std::chrono::minutes(5));
  opts.end = Botan::X509_Time(start + options.validity);
  opts.CA_key(0);
  opts.constraints = Botan::Key_Constraints(Botan::KEY_CERT_SIGN | Botan::CRL_SIGN);
  // Botan also hashes the key with this name for the subject key identifier,
  // so Ed25519 (which signs "Pure") needs a real hash here; its signature
  // stays pure Ed25519 whatever hash is named.
  std::string hash = signature_hash_for(key);
  if (hash == "Pure") hash = "SHA-512";
  return Botan::X509::create_self_signed_cert(opts, key, hash, rng);
}

Botan::X509_Certificate make_ca_certificate(const UncertifiedKey& key,
                                            const CaCertificateOptions& options, TimePoint now,
                                            Botan::RandomNumberGenerator& rng) {
  Botan::X509_DN subject;
  subject.add_attribute("X520.CommonName", options.common_name);
  if (!options.organization.empty()) {
    subject.add_attribute("X520.Organization", options.organization);
  }
  return make_self_signed_ca_certificate(key, subject, now - std::chrono::minutes(5),
                                         now + options.validity, rng);
}

std::string encrypt_private_key(const Botan::Private_Key& key, const std::string& passphrase,
                                Botan::RandomNumberGenerator& rng) {
  if (passphrase.size() < kMinPassphraseLength) {
    throw invalid_argument("the CA passphrase must be at least " +
                           std::to_string(kMinPassphraseLength) + " characters long");
  }
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

}  // namespace hostca
