// Signatures computed and checked by OpenSSL's libcrypto. Botan 2.19's
// elliptic-curve arithmetic is generic; OpenSSL 3 has assembly for P-256
// and P-384: on the benchmark machine an ECDSA P-256 signature costs 0.15
// ms in Botan and 0.02 ms in OpenSSL, a verification 0.34 ms and 0.07 ms
// (docs/benchmarks.md). Botan still encodes and parses every X.509
// structure; these two only sign bytes and check a CSR's signature. The
// encodings are the same as Botan's (ECDSA-Sig-Value DER, PKCS#1 v1.5).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <botan/pk_keys.h>

namespace hostca {

// A private key held by OpenSSL, thread-safe for signing.
class OpenSslSigningKey {
 public:
  // For an ECDSA (P-256, P-384) or RSA key, signing with `hash` ("SHA-256",
  // "SHA-384", "SHA-512"); nullptr for any other key or hash, which then
  // stays with Botan. The key crosses as PKCS#8 DER in locked memory,
  // wiped after.
  static std::unique_ptr<OpenSslSigningKey> from(const Botan::Private_Key& key,
                                                 const std::string& hash);
  ~OpenSslSigningKey();
  OpenSslSigningKey(const OpenSslSigningKey&) = delete;
  OpenSslSigningKey& operator=(const OpenSslSigningKey&) = delete;

  // The signature of `data`; throws std::runtime_error if OpenSSL fails.
  std::vector<std::uint8_t> sign(const std::vector<std::uint8_t>& data) const;

 private:
  struct State;
  explicit OpenSslSigningKey(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

enum class SignatureCheck { kValid, kInvalid, kNotChecked };

// Checks an ECDSA signature (a DER ECDSA-Sig-Value) over `data`, made with
// `hash` ("SHA-256", "SHA-384", "SHA-512") by the public key `point` (the
// encoded point of a SubjectPublicKeyInfo) on `curve` ("secp256r1",
// "secp384r1"). kNotChecked for any other curve or hash, or a point OpenSSL
// does not load: the caller then asks Botan. The key is given as data, not
// as DER: OpenSSL 3.0's DER decoders cost more than the verification.
SignatureCheck check_ecdsa_signature(const std::string& curve,
                                     const std::vector<std::uint8_t>& point,
                                     const std::string& hash, const std::vector<std::uint8_t>& data,
                                     const std::vector<std::uint8_t>& signature);

}  // namespace hostca
