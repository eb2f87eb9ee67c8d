// The CA's key pair and self-signed certificate: made once at init, kept in
// the database only as encrypted PKCS#8, opened with the passphrase at start.
#pragma once

#include <memory>
#include <string>

#include <botan/pk_keys.h>
#include <botan/x509cert.h>

#include "common/bytes.h"
#include "common/clock.h"

namespace hostca {

enum class CaKeyAlgorithm { kEcdsaP256, kEcdsaP384, kEd25519, kRsa3072, kRsa4096 };

// "ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-3072", "rsa-4096".
CaKeyAlgorithm parse_ca_key_algorithm(const std::string& text);
std::string to_string(CaKeyAlgorithm algorithm);

std::unique_ptr<Botan::Private_Key> generate_key(CaKeyAlgorithm algorithm);

struct CaCertificateOptions {
  std::string common_name = "hostca CA";
  std::string organization;
  Duration validity = std::chrono::hours(24 * 365 * 10);
};

// basicConstraints CA, pathLen 0 (critical); keyUsage keyCertSign, cRLSign
// (critical); subject key identifier.
Botan::X509_Certificate make_ca_certificate(const Botan::Private_Key& key,
                                            const CaCertificateOptions& options, TimePoint now);

// A passphrase must be at least this long.
constexpr std::size_t kMinPassphraseLength = 12;

// PKCS#8 EncryptedPrivateKeyInfo in PEM: PBKDF2-SHA-512, AES-256/GCM.
std::string encrypt_private_key(const Botan::Private_Key& key, const std::string& passphrase);
// Throws Error(kFailedPrecondition) if the passphrase does not open the key.
std::unique_ptr<Botan::Private_Key> decrypt_private_key(const std::string& pem,
                                                        const std::string& passphrase);

// Lower-case hex SHA-256 of the DER certificate and of its SubjectPublicKeyInfo.
std::string certificate_fingerprint(const Botan::X509_Certificate& cert);
std::string spki_fingerprint(const Botan::X509_Certificate& cert);

}  // namespace hostca
