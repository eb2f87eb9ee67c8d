// Keys and fingerprints as every hostca program sees them: the key
// algorithms hostca makes, the hash each signs with, and the SHA-256
// fingerprints of a certificate and of its public key that hosts pin.
#pragma once

#include <memory>
#include <string>

#include <botan/pk_keys.h>
#include <botan/rng.h>
#include <botan/x509cert.h>

namespace hostca {

enum class CaKeyAlgorithm { kEcdsaP256, kEcdsaP384, kEd25519, kRsa3072, kRsa4096 };

// "ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-3072", "rsa-4096".
CaKeyAlgorithm parse_ca_key_algorithm(const std::string& text);
std::string to_string(CaKeyAlgorithm algorithm);

std::unique_ptr<Botan::Private_Key> generate_key(CaKeyAlgorithm algorithm,
                                                 Botan::RandomNumberGenerator& rng);

// The hash a key signs certificates and CSRs with: SHA-384 for P-384,
// "Pure" for Ed25519, SHA-256 otherwise.
std::string signature_hash_for(const Botan::Private_Key& key);

// Lower-case hex SHA-256 of the DER certificate.
std::string certificate_fingerprint(const Botan::X509_Certificate& cert);
// Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo: what hosts pin.
std::string spki_fingerprint(const Botan::X509_Certificate& cert);

}  // namespace hostca
