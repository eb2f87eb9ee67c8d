// The steps of a CA key rollover (issue 14), each one unit of work under the
// CA row's lock, each safe to run again: start makes the next key and its
// links, activate makes it the one that issues, finish stops announcing the
// old one. Every server follows the state in the database within a second
// (the 'hostca_ca' notification, and the upkeep tick).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <botan/rng.h>

#include "common/clock.h"
#include "pki/keys.h"
#include "pki/pkcs11_key.h"
#include "pki/revocation_reason.h"
#include "store/store.h"

namespace hostca {

class CaKeyRing;

struct RolloverStart {
  // Encrypts a next key kept in the database: it must open every other key
  // kept there, since every server opens them all with one passphrase.
  // Not needed for a next key in a token.
  std::string passphrase;
  // Set: the next key is in this PKCS#11 token under options' key label
  // (the key there, or a new one made there), as init's.
  std::optional<Pkcs11KeyOptions> pkcs11;
  // Unset: the active key's.
  std::optional<CaKeyAlgorithm> algorithm;
  Duration validity = std::chrono::hours(24 * 365 * 10);
  // A compromised key: the new key issues at once, has no link from the old
  // one (agents report a certificate failure until re-pinned), and the old
  // one is retiring.
  bool emergency = false;
};

// What a step found or did.
struct RolloverStep {
  int generation = 0;  // the key the step is about (the next key, the active one, the retired one)
  std::string sha256_fingerprint;
  std::string spki_sha256;
  bool changed = false;  // false: the step had been done already
  std::size_t revoked = 0;
};

// Makes the next CA key. Refused while a key is retiring ("finish first")
// or, for an emergency, while a next key is announced ("activate or finish
// first"); a planned start with a next key already there changes nothing
// and names it. `ring` must be the CA's keys as they are (open_ca), so
// that the passphrase is known to open them.
RolloverStep start_rollover(store::Store& store, const CaKeyRing& ring,
                            const RolloverStart& request, const Clock& clock,
                            Botan::RandomNumberGenerator& rng);

// The next key issues from now on; the active one is retiring. Refused
// (kFailedPrecondition) when no rollover was started; unchanged when done.
RolloverStep activate_rollover(store::Store& store, const Clock& clock);

// Revokes a retiring key's remaining certificates (already marked revoked
// in `tx`) on its CRLs; Authority::finish_rollover provides it.
using RevokeRemaining = std::function<void(
    store::Tx& tx, const std::vector<store::CertificateRow>& revoked, TimePoint now)>;

struct RolloverFinish {
  // Revoke the retiring key's valid certificates rather than wait for them.
  bool revoke_remaining = false;
  int reason_code = static_cast<int>(RevocationReason::kSuperseded);
};

// The retiring key is retired: no longer announced; its CRLs are published
// until its CA certificate expires. Refused while a next key waits for
// activate, and while hosts hold valid certificates of the retiring key
// only (with their count: they have not renewed onto the active key yet)
// unless `revoke_remaining`, when every valid certificate of the retiring
// key is revoked and `revoke` lists them on its CRLs in the same unit of
// work. The earlier certificates of hosts that did renew stay valid until
// they expire, on that key's CRLs if revoked later. Unchanged when done
// already.
RolloverStep finish_rollover(store::Store& store, const RolloverFinish& request, const Clock& clock,
                             const RevokeRemaining& revoke = nullptr);

}  // namespace hostca
