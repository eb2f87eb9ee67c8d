// The certificate failure raised whenever what a server sends disagrees with
// the pins, and the channel to the pinned server: TLS that trusts every
// pinned CA key and nothing else.
#pragma once

#include <stdexcept>
#include <string>

#include "agent/agent_dir.h"
#include "client/channel.h"

namespace hostca::agent {

class PinSet;

// The server answered for another CA, or sent a certificate or CRL that no
// pinned CA key signed: a certificate failure (exit 3). Nothing is kept.
class CertificateFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The pinned server: TLS with every pinned CA certificate as a root (so a
// server whose certificate comes from the next key, presented with its
// link, is accepted whichever key this host pins) and the pinned name;
// with `as_host`, host.pem and host.key as the client certificate.
client::Endpoint pinned_endpoint(const AgentDir& dir, const PinSet& pins, bool as_host = false);

}  // namespace hostca::agent
