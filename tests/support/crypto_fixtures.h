// Keys and PKCS#10 requests made the way a host makes them, with Botan, for
// tests of both rings. Header-only so the unit binary can use it without the
// store fixture.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/ed25519.h>
#include <botan/pkcs10.h>
#include <botan/rsa.h>
#include <botan/system_rng.h>
#include <botan/x509self.h>

#include "common/bytes.h"
#include "domain/ca_key.h"

namespace hostca {

// Lets GoogleTest print a CA key algorithm by name.
inline void PrintTo(CaKeyAlgorithm algorithm, std::ostream* os) { *os << to_string(algorithm); }

namespace testing {

inline std::unique_ptr<Botan::Private_Key> ecdsa_key(const std::string& curve) {
  Botan::System_RNG rng;
  return std::make_unique<Botan::ECDSA_PrivateKey>(rng, Botan::EC_Group(curve));
}

inline std::unique_ptr<Botan::Private_Key> ed25519_key() {
  Botan::System_RNG rng;
  return std::make_unique<Botan::Ed25519_PrivateKey>(rng);
}

inline std::unique_ptr<Botan::Private_Key> rsa_key(std::size_t bits) {
  Botan::System_RNG rng;
  return std::make_unique<Botan::RSA_PrivateKey>(rng, bits);
}

// RSA key generation is slow: one key per size (1024, 2048 or 3072) per binary.
inline const Botan::Private_Key& shared_rsa_key(std::size_t bits) {
  // Never destroyed: Botan's secure allocator may be gone by then.
  static auto* const keys = new std::map<std::size_t, std::unique_ptr<Botan::Private_Key>>();
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto& key = (*keys)[bits];
  if (!key) key = rsa_key(bits);
  return *key;
}

// The randomness every test hands the code it tests (Botan's system RNG,
// safe to share between threads). Never destroyed, like the keys below.
inline Botan::RandomNumberGenerator& rng() {
  static auto* const r = new Botan::System_RNG();
  return *r;
}

// CA keys by algorithm, made once per binary (RSA generation is slow).
inline std::shared_ptr<const Botan::Private_Key> shared_ca_key(CaKeyAlgorithm algorithm) {
  // Never destroyed: Botan's secure allocator may be gone by then.
  static auto* const keys =
      new std::map<CaKeyAlgorithm, std::shared_ptr<const Botan::Private_Key>>();
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto& key = (*keys)[algorithm];
  if (!key) key = generate_key(algorithm, rng());
  return key;
}

// A CSR signed by `key` asking for `common_name` (which the CA ignores).
inline Botan::PKCS10_Request make_request(const Botan::Private_Key& key,
                                          const std::string& common_name = "host.example",
                                          const std::string& organization = "") {
  Botan::X509_Cert_Options opts;
  opts.common_name = common_name;
  opts.organization = organization;
  Botan::System_RNG rng;
  const std::string hash = key.algo_name() == "Ed25519" ? "Pure" : "SHA-256";
  return Botan::X509::create_cert_req(opts, key, hash, rng);
}

inline Bytes csr_der(const Botan::Private_Key& key,
                     const std::string& common_name = "host.example") {
  const auto der = make_request(key, common_name).BER_encode();
  return Bytes(der.begin(), der.end());
}

inline Bytes csr_pem(const Botan::Private_Key& key) {
  const std::string pem = make_request(key).PEM_encode();
  return Bytes(pem.begin(), pem.end());
}

}  // namespace testing
}  // namespace hostca
