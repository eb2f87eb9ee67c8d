// The certificate chain a CA server presents on its gRPC port, as the CA's
// keys change. The server's TLS key stays; the certificate follows the
// active CA key: after a rollover's activation the server issues itself a
// certificate for the same key and names from the new key and presents it
// with the newWithOld link, so that a host that still pins only the key
// before connects (and learns the new key on the way).
#pragma once

#include <optional>
#include <string>

#include <botan/rng.h>

#include "common/clock.h"
#include "domain/ca_keys.h"
#include "domain/certificate_profile.h"
#include "store/store.h"

namespace hostca {

struct ServedTlsChain {
  std::string chain_pem;      // the leaf, then the link if any
  std::string leaf_pem;       // the leaf alone
  std::string issued_serial;  // non-empty when this call issued the leaf
  int ca_generation = 0;      // the key that issued the leaf; 0: none of the CA's
};

// What to present instead of `leaf_pem`, or nullopt to keep it: the leaf
// is kept while the active key issued it and less than two thirds of its
// life has passed, or when none of the ring's keys issued it (an operator's
// certificate from elsewhere). A new leaf is recorded as a server
// certificate and audited, in one unit of work.
std::optional<ServedTlsChain> next_served_chain(store::Store& store, const CaKeyRing& ring,
                                                const std::string& leaf_pem,
                                                const CertificateProfile& profile,
                                                const Clock& clock,
                                                Botan::RandomNumberGenerator& rng);

}  // namespace hostca
