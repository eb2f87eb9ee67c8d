// The certificates of a planned CA key rollover (RFC 9480 section 4.3, the
// root CA key update of RFC 4210 4.4): the next CA's self-signed
// certificate, which keeps the current CA's subject, and the two link
// certificates between the keys. newWithOld lets whoever trusts the current
// key trust the next one; oldWithNew the other way round. Both are
// self-issued (subject = issuer), so the CA certificates' pathLen 0 still
// allows them (RFC 5280 4.2.1.9).
#pragma once

#include <botan/pk_keys.h>
#include <botan/x509cert.h>

#include "common/clock.h"
#include "domain/signer.h"

namespace hostca {

// The next CA's certificate: `next_key`, self-signed, with the current CA's
// subject and extensions, valid from now (backdated as every CA certificate
// is) for `validity`. Throws Error(kInvalidArgument) if the next key is the
// current one or the validity is not positive.
Botan::X509_Certificate make_next_ca_certificate(const Botan::X509_Certificate& current_ca,
                                                 const Botan::Private_Key& next_key,
                                                 Duration validity, TimePoint now,
                                                 Botan::RandomNumberGenerator& rng);

// The same for a key hostca does not hold (a token's): the next CA's
// certificate, signed by that key.
Botan::X509_Certificate make_next_ca_certificate(const Botan::X509_Certificate& current_ca,
                                                 const UncertifiedKey& next_key, Duration validity,
                                                 TimePoint now, Botan::RandomNumberGenerator& rng);

// A self-signed CA certificate of `key` with hostca's CA extensions (CA,
// pathLen 0, keyCertSign and cRLSign, both critical; key identifiers), as
// a token key's first certificate is made.
Botan::X509_Certificate make_self_signed_ca_certificate(const UncertifiedKey& key,
                                                        const Botan::X509_DN& subject,
                                                        TimePoint not_before, TimePoint not_after,
                                                        Botan::RandomNumberGenerator& rng);

struct LinkCertificates {
  Botan::X509_Certificate new_with_old;  // the next public key, signed by the current key
  Botan::X509_Certificate old_with_new;  // the current public key, signed by the next key
};

// Both links, from now (backdated) to the end of the current CA
// certificate (newWithOld also not past the next one's). Throws
// Error(kFailedPrecondition) if the current CA certificate has expired: a
// planned rollover needs it.
LinkCertificates make_link_certificates(const Signer& current, const Signer& next, TimePoint now,
                                        Botan::RandomNumberGenerator& rng);

// The self-issued CA certificate of `subject_key`, signed by `signer`, with
// the signer's CA subject; what both links are.
Botan::X509_Certificate make_link_certificate(const Signer& signer,
                                              const std::vector<std::uint8_t>& subject_spki,
                                              const std::vector<std::uint8_t>& subject_key_id,
                                              TimePoint not_before, TimePoint not_after,
                                              Botan::RandomNumberGenerator& rng);

}  // namespace hostca
