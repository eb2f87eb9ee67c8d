// The CA's key pair and self-signed certificate: made once at init, kept in
// the database only as encrypted PKCS#8, opened with the passphrase at start.
#pragma once

#include <memory>
#include <string>

#include <botan/pk_keys.h>
#include <botan/x509cert.h>

#include "common/bytes.h"
#include "common/clock.h"
#include "pki/keys.h"

namespace hostca {

struct CaCertificateOptions {
  std::string common_name = "hostca CA";
  std::string organization;
  Duration validity = std::chrono::hours(24 * 365 * 10);
};

// basicConstraints CA, pathLen 0 (critical); keyUsage keyCertSign, cRLSign
// (critical); subject key identifier.
Botan::X509_Certificate make_ca_certificate(const Botan::Private_Key& key,
                                            const CaCertificateOptions& options, TimePoint now,
                                            Botan::RandomNumberGenerator& rng);

// The same for a key hostca does not hold (a PKCS#11 token's), signed by it.
struct UncertifiedKey;
Botan::X509_Certificate make_ca_certificate(const UncertifiedKey& key,
                                            const CaCertificateOptions& options, TimePoint now,
                                            Botan::RandomNumberGenerator& rng);

// A passphrase must be at least this long.
constexpr std::size_t kMinPassphraseLength = 12;

// PKCS#8 EncryptedPrivateKeyInfo in PEM: PBKDF2-SHA-512, AES-256/GCM.
std::string encrypt_private_key(const Botan::Private_Key& key, const std::string& passphrase,
                                Botan::RandomNumberGenerator& rng);
// Throws Error(kFailedPrecondition) if the passphrase does not open the key.
std::unique_ptr<Botan::Private_Key> decrypt_private_key(const std::string& pem,
                                                        const std::string& passphrase);

}  // namespace hostca
