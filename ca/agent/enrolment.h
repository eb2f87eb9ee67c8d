// What enroll and reissue share: a key pair made on this host with its CSR,
// and the checks a CertificateResponse must pass before the agent keeps
// anything (the CA is the pinned one, the certificate is signed by it, is for
// our key and names the host ID asked for).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <botan/pk_keys.h>
#include <botan/x509cert.h>

#include "agent/agent_dir.h"
#include "agent/pinned_ca.h"
#include "hostca/v1/host.pb.h"

namespace hostca::agent {

struct KeyAndRequest {
  std::unique_ptr<Botan::Private_Key> key;
  std::vector<std::uint8_t> csr_der;
};

// key_type: ecdsa-p256, ecdsa-p384, ed25519 or rsa-3072 (throws
// Error(kInvalidArgument) otherwise). The CSR's subject is `common_name` and
// it asks for `dns_names`; the CA decides what it issues.
KeyAndRequest make_key_and_request(const std::string& key_type, const std::string& common_name,
                                   const std::vector<std::string>& dns_names);

// Checks `response` against the pin and `key`; with a non-empty
// `expected_host_id`, also that the certificate is for that host (response
// field and subject CN). Throws CertificateFailure; returns the certificate.
Botan::X509_Certificate check_issued(const hostca::v1::CertificateResponse& response,
                                     const Pin& pin, const Botan::Private_Key& key,
                                     const std::string& expected_host_id);

// Replaces host.key, host.pem and host.json (the last one last); returns what
// host.json now says.
Identity keep_identity(const AgentDir& dir, const Botan::Private_Key& key,
                       const Botan::X509_Certificate& cert, const std::string& host_id,
                       const std::string& hostname);

// The host name a certificate carries when the agent did not know it (a
// reinstalled host): its one DNS name that is not among `aliases`; empty if
// that is not a single name.
std::string host_name_in(const Botan::X509_Certificate& cert,
                         const std::vector<std::string>& aliases);

// Those of `wanted` that the certificate's subjectAltName does not carry as
// DNS names (compared without regard to case).
std::vector<std::string> names_missing(const Botan::X509_Certificate& cert,
                                       const std::vector<std::string>& wanted);

}  // namespace hostca::agent
