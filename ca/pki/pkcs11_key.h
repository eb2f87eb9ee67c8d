// A signing key held in a PKCS#11 token (an HSM, a smart card, SoftHSM2),
// through the module's C interface: the module loaded by path, the token
// found by its label, the key by its label. The private key never leaves
// the token; this class asks it to sign. Debian's Botan 2 is built without
// its PKCS#11 support, so this is our own small client of the standard
// (the header comes from p11-kit).
//
// Thread-safe: signatures run on a bounded pool of sessions shared by all
// threads; a caller waits for a free session. A token that goes away
// (device or session errors) turns calls into Error(kUnavailable); the
// next call opens new sessions and logs in again, so signing resumes once
// the token is back.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hostca {

class Pkcs11Module;

enum class Pkcs11KeyAlgorithm { kEcdsaP256, kEcdsaP384, kRsa3072 };

struct Pkcs11KeyOptions {
  std::string module_path;  // e.g. /usr/lib/softhsm/libsofthsm2.so
  std::string token_label;
  std::string key_label;
  std::string pin;               // the user PIN: never logged, never in a message
  std::size_t max_sessions = 8;  // sessions open at once, shared by every thread
};

class Pkcs11Key {
 public:
  // The key with that label in the token; Error(kFailedPrecondition) naming
  // what is missing or refused (the module, the token, the PIN, the key),
  // never the PIN itself.
  static std::shared_ptr<Pkcs11Key> open(const Pkcs11KeyOptions& options);
  // Makes a new key pair in the token (private key sensitive and not
  // extractable, both on the token) under the label; refuses a label a key
  // already has.
  static std::shared_ptr<Pkcs11Key> generate(const Pkcs11KeyOptions& options,
                                             Pkcs11KeyAlgorithm algorithm);
  // The key with that label if the token holds one (whatever its
  // algorithm: see algorithm()), else a new one of `algorithm`; `made`
  // says which.
  static std::shared_ptr<Pkcs11Key> open_or_generate(const Pkcs11KeyOptions& options,
                                                     Pkcs11KeyAlgorithm algorithm, bool& made);
  // Loads the module, finds the token and logs in, touching no key: what
  // init checks before it writes anything. Throws as open() does.
  static void check_access(const Pkcs11KeyOptions& options);
  ~Pkcs11Key();
  Pkcs11Key(const Pkcs11Key&) = delete;
  Pkcs11Key& operator=(const Pkcs11Key&) = delete;

  Pkcs11KeyAlgorithm algorithm() const { return algorithm_; }
  // "ecdsa-p256", "ecdsa-p384", "rsa-3072": the names `init --key-algorithm` uses.
  std::string algorithm_name() const;
  // The DER SubjectPublicKeyInfo of the key, as read from the token.
  const std::vector<std::uint8_t>& public_key_spki() const { return spki_; }
  // "SHA-256" or "SHA-384": the hash the key signs with (as the software
  // signer's, pki/keys.h signature_hash_for).
  std::string hash_name() const;
  // The signature of `data` as X.509 carries it: for ECDSA the DER
  // ECDSA-Sig-Value of the hash of `data`, for RSA PKCS#1 v1.5 with SHA-256.
  std::vector<std::uint8_t> sign(const std::vector<std::uint8_t>& data) const;

  const Pkcs11KeyOptions& options() const { return options_; }
  // Sessions open now, idle or signing (at most options().max_sessions).
  std::size_t sessions_open() const {
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
  }

 private:
  class Lease;
  Pkcs11Key(std::shared_ptr<Pkcs11Module> module, Pkcs11KeyOptions options);
  void find_key();
  // Whether the token holds an object (private or public key) of the label.
  bool label_taken() const;
  void make_pair(Pkcs11KeyAlgorithm algorithm);
  // Finds the token's slot by its label (again after the token went away).
  bool find_slot() const;
  unsigned long acquire() const;
  void release(unsigned long session, bool broken) const;
  unsigned long open_session() const;

  std::shared_ptr<Pkcs11Module> module_;
  Pkcs11KeyOptions options_;
  mutable std::mutex slot_mu_;
  mutable unsigned long slot_ = 0;
  Pkcs11KeyAlgorithm algorithm_ = Pkcs11KeyAlgorithm::kEcdsaP256;
  std::vector<std::uint8_t> spki_;
  std::size_t signature_half_ = 0;  // ECDSA: octets of r (and of s)

  mutable std::mutex mu_;
  mutable std::condition_variable free_;
  mutable std::vector<unsigned long> idle_;          // open, logged-in sessions not in use
  mutable std::size_t open_ = 0;                     // sessions open (idle or in use)
  mutable std::optional<unsigned long> key_handle_;  // the private key's, once found
};

}  // namespace hostca
