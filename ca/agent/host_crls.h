// How a host learns whether it is revoked: every CRL shard fetched over the
// pinned channel and kept only if the pinned CA signed it, and the bundle on
// file (crl.pem) read back under the same check.
#pragma once

#include <vector>

#include <botan/x509_crl.h>
#include <botan/x509cert.h>

#include "agent/agent_dir.h"
#include "agent/crl_bundle.h"

namespace hostca::agent {

// Sorted by shard. Throws Error(kUnavailable) if the call fails or the server
// has no CRL, CertificateFailure if a CRL does not parse or the pinned CA did
// not sign it.
std::vector<ReceivedCrl> fetch_pinned_crls(const AgentDir& dir, const Pin& pin);

// crl.pem, every CRL checked against the pinned CA; throws
// Error(kFailedPrecondition) saying what is wrong with the file.
std::vector<Botan::X509_CRL> crls_on_file(const AgentDir& dir, const Pin& pin);

// host.pem, parsed.
Botan::X509_Certificate host_certificate(const AgentDir& dir);

}  // namespace hostca::agent
