// The pinned CA as the agent trusts it: ca.pem, but only while its public key
// is the one in pin.json; and the certificate failure raised whenever what a
// server sends disagrees with the pin.
#pragma once

#include <stdexcept>
#include <string>

#include <botan/x509cert.h>

#include "agent/agent_dir.h"
#include "client/channel.h"

namespace hostca::agent {

// The server answered for another CA, or sent a certificate or CRL that the
// pinned CA did not sign: a certificate failure (exit 3). Nothing is kept.
class CertificateFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ca.pem, parsed; throws CertificateFailure if its public key is not the pinned one.
Botan::X509_Certificate pinned_ca_certificate(const AgentDir& dir, const Pin& pin);

// The pinned server: TLS with ca.pem as the only root and the pinned name;
// with `as_host`, host.pem and host.key as the client certificate (renewal).
client::Endpoint pinned_endpoint(const AgentDir& dir, const Pin& pin, bool as_host = false);

}  // namespace hostca::agent
