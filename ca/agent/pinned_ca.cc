#include "agent/pinned_ca.h"

#include "agent/pin_set.h"
#include "client/cli.h"

namespace hostca::agent {

client::Endpoint pinned_endpoint(const AgentDir& dir, const PinSet& pins, bool as_host) {
  client::Endpoint endpoint =
      client::endpoint_for(pins.server(), pins.ca_pem(), pins.tls_server_name());
  if (as_host) {
    endpoint.client_cert_pem = dir.certificate_pem();
    endpoint.client_key_pem = dir.private_key_pem();
  }
  return endpoint;
}

}  // namespace hostca::agent
