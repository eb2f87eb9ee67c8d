#include "agent/pinned_ca.h"

#include <optional>

#include <botan/data_src.h>

#include "client/cli.h"
#include "pki/keys.h"

namespace hostca::agent {

Botan::X509_Certificate pinned_ca_certificate(const AgentDir& dir, const Pin& pin) {
  const std::string pem = dir.ca_pem();
  std::optional<Botan::X509_Certificate> ca;
  try {
    Botan::DataSource_Memory source(pem);
    ca.emplace(source);
  } catch (const std::exception&) {
    throw CertificateFailure(
        "certificate failure: " + dir.file("ca.pem") +
        " is not a certificate; re-pin with 'hostca-agent repin --fingerprint <sha256>'");
  }
  if (spki_fingerprint(*ca) != pin.spki_sha256) {
    throw CertificateFailure("certificate failure: " + dir.file("ca.pem") +
                             " holds CA public key " + spki_fingerprint(*ca) + " but " +
                             pin.spki_sha256 + " is pinned; check with your security team");
  }
  return *ca;
}

client::Endpoint pinned_endpoint(const AgentDir& dir, const Pin& pin, bool as_host) {
  client::Endpoint endpoint = client::endpoint_for(pin.server, dir.ca_pem(), pin.tls_server_name);
  if (as_host) {
    endpoint.client_cert_pem = dir.certificate_pem();
    endpoint.client_key_pem = dir.private_key_pem();
  }
  return endpoint;
}

}  // namespace hostca::agent
