// The CA's keys (issue 14): each with its own self-signed certificate,
// state, CRLs and, after the first, the link certificates to the key before
// it. The ring is what one server holds decrypted at a time; it is rebuilt
// whenever the keys change in the database (a rollover's steps), so every
// server follows within a second.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <botan/rng.h>
#include <botan/x509cert.h>

#include "common/clock.h"
#include "domain/signer.h"
#include "pki/keys.h"
#include "pki/pkcs11_key.h"
#include "store/rows.h"

namespace hostca {

enum class CaKeyState { kNext, kActive, kRetiring, kRetired };
CaKeyState ca_key_state_from(const std::string& text);
const char* to_string(CaKeyState state);

// What opens the CA's keys: the passphrase for keys kept encrypted in the
// database, the PIN for keys in a PKCS#11 token (migration 0016). Either
// is empty when not given; it is asked for only by a key that needs it.
// Never logged, never in a message.
struct CaKeySecrets {
  std::string passphrase;
  std::string pkcs11_pin;
  // Sessions each token key keeps open at most, shared by every thread.
  std::size_t pkcs11_sessions = 8;
  void wipe();
};

struct CaKey {
  int generation = 1;
  CaKeyState state = CaKeyState::kActive;
  bool emergency = false;
  std::string key_algorithm;
  // Empty for a key encrypted in the database; else "pkcs11:<token label>/<key label>".
  std::string held_in;
  std::shared_ptr<const Signer> signer;  // its CA certificate inside
  std::optional<Botan::X509_Certificate> new_with_old;
  std::optional<Botan::X509_Certificate> old_with_new;
  std::string sha256_fingerprint;
  std::string spki_sha256;
  const Botan::X509_Certificate& certificate() const { return signer->ca_certificate(); }
  TimePoint not_after() const;
};

class CaKeyRing {
 public:
  // The keys as stored, each opened (retired keys too, while their CRLs
  // are still published): decrypted with the passphrase, or found in its
  // PKCS#11 token and logged in to with the PIN. Throws
  // Error(kFailedPrecondition) when there is no active key, or a key's
  // secret is missing or wrong, or its token or key cannot be found;
  // Error(kUnavailable) when its token does not answer.
  // Keys `known` already holds (same generation and fingerprint) are taken
  // from it rather than opened again.
  static CaKeyRing open(const std::vector<store::CaKeyRow>& rows, const CaKeySecrets& secrets,
                        Botan::RandomNumberGenerator& rng, const CaKeyRing* known = nullptr);
  // One key, active: what a CA without rollover is (and tests build).
  static CaKeyRing single(std::shared_ptr<const Signer> signer);

  const CaKey& active() const;
  const CaKey* find(int generation) const;
  // The key whose certificate issued `cert` (issuer name and signature), if any.
  const CaKey* issuer_of(const Botan::X509_Certificate& cert) const;
  const std::vector<CaKey>& keys() const { return keys_; }
  // The keys hosts are told to trust: next, active and retiring.
  std::vector<const CaKey*> announced() const;
  // The keys whose CRLs are published at `now`: every key until its CA
  // certificate expires (a next key's are empty, and ready at activation).
  std::vector<int> publishing(TimePoint now) const;
  // Changes whenever a key is added or changes state.
  std::string version() const;

 private:
  std::vector<CaKey> keys_;  // by generation
};

// The key a row names in a PKCS#11 token, logged in with the secrets' PIN.
std::shared_ptr<const Signer> open_token_key(const store::CaKeyRow& row,
                                             const CaKeySecrets& secrets);

// Refuses (kInvalidArgument) empty labels and a module path relative to
// the current folder: what is recorded must name the same key for every
// server.
void check_token_key_options(const Pkcs11KeyOptions& options);

// The CA key a PKCS#11 token holds under options.key_label, or, when it
// holds none, a new one made there (`made` says which) of `wanted` (unset:
// ECDSA P-256). Refuses an algorithm a token key cannot be (ed25519,
// rsa-4096) and an existing key of another algorithm than `wanted`.
std::shared_ptr<const Pkcs11Key> open_or_make_token_key(const Pkcs11KeyOptions& options,
                                                        std::optional<CaKeyAlgorithm> wanted,
                                                        bool& made);

// The version() a ring opened from `rows` would have.
std::string ca_keys_version(const std::vector<store::CaKeyRow>& rows);

}  // namespace hostca
