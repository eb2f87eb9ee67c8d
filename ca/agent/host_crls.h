// How a host learns whether it is revoked: every CRL of every CA key fetched
// over the pinned channel, each checked against the pinned key whose subject
// key identifier its authority key identifier names, and the bundle on file
// (crl.pem) read back under the same check.
#pragma once

#include <vector>

#include <botan/x509_crl.h>
#include <botan/x509cert.h>

#include "agent/agent_dir.h"
#include "agent/crl_bundle.h"
#include "agent/pin_set.h"

namespace hostca::agent {

// The pinned key `crl` names (authority key identifier = its subject key
// identifier; without one, any pinned key of the CRL's issuer name) and whose
// signature it carries. Null when it names no pinned key. Throws
// CertificateFailure when it names a pinned key that did not sign it.
const PinnedCa* pinned_signer_of(const Botan::X509_CRL& crl, const PinSet& pins,
                                 const std::string& what);

struct FetchedCrls {
  // The CA scopes first, then by CA key and shard.
  std::vector<ReceivedCrl> crls;
  // CRLs of CA keys this host does not pin (an old key it dropped after a
  // rollover): not checked, not kept.
  std::size_t skipped = 0;
};

// Throws Error(kUnavailable) if the call fails or the server has no CRL of a
// pinned key, CertificateFailure if a CRL does not parse or a pinned key it
// names did not sign it.
FetchedCrls fetch_pinned_crls(const AgentDir& dir, const PinSet& pins);

// crl.pem, every CRL checked against the pinned key it names; CRLs of keys no
// longer pinned are left out. Throws Error(kFailedPrecondition) saying what
// is wrong with the file.
std::vector<Botan::X509_CRL> crls_on_file(const AgentDir& dir, const PinSet& pins);

// host.pem, parsed.
Botan::X509_Certificate host_certificate(const AgentDir& dir);

}  // namespace hostca::agent
