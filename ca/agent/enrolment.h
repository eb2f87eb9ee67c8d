// Enrolment and reissue as the agent does them: a key pair made on this host
// with its CSR, the call to the pinned server, and the checks a
// CertificateResponse must pass before the agent keeps anything (the CA is
// the pinned one, the certificate is signed by it, is for our key and names
// the host ID asked for).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <botan/pk_keys.h>
#include <botan/x509cert.h>

#include "agent/agent_dir.h"
#include "agent/pin_set.h"
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

// Checks `response` against the pins and `key`: its CA is a pinned key
// (during a rollover, whichever issues now) and signed the certificate, which
// is for `key`; with a non-empty `expected_host_id`, also that the
// certificate is for that host (response field and subject CN). Throws
// CertificateFailure; returns the certificate.
Botan::X509_Certificate check_issued(const hostca::v1::CertificateResponse& response,
                                     const PinSet& pins, const Botan::Private_Key& key,
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

struct EnrolOptions {
  std::string token;
  std::string hostname;
  std::vector<std::string> aliases;
  std::string key_type = "ecdsa-p256";
};

// RequestCertificate with a key made here; keeps the identity once the
// answer passes check_issued. A refusal is a CliFailure naming the server's
// status and message.
Identity enrol(const AgentDir& dir, const PinSet& pins, const EnrolOptions& request);

struct ReissueOptions {
  std::string token;  // empty: none, the CA decides (auto-reissue window)
  std::string host_id;
  std::string hostname;  // a rename; empty keeps the name the CA has
  std::vector<std::string> aliases;
  std::string key_type = "ecdsa-p256";
};

struct Reissued {
  Identity identity;
  std::vector<std::string> revoked_serials;
  std::vector<std::string> names_missing;  // asked for, not in the certificate
  std::vector<std::string> dns_names;      // what the certificate names
};

// ReissueCertificate for `request.host_id` with a key made here; keeps the
// identity once the answer passes check_issued. `known_hostname` is the
// name host.json has, if any. A refusal is a CliFailure.
Reissued reissue(const AgentDir& dir, const PinSet& pins, const ReissueOptions& request,
                 const std::string& known_hostname);

}  // namespace hostca::agent
