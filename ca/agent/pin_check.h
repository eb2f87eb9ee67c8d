// The check every agent command makes before it talks to a server: the CA
// the server presents, fetched over TLS that verifies nothing and
// fingerprinted here, must carry the pinned public key. A mismatch is a
// certificate failure: the agent refuses to talk on and reports it to that
// server (best effort: the report must never change what the agent does).
#pragma once

#include <string>

#include <botan/x509cert.h>

#include "agent/agent_dir.h"
#include "agent/pinned_ca.h"

namespace hostca::agent {

// A CA certificate as a server presented it, with the fingerprints computed
// here (never taken from the server).
struct PresentedCa {
  Botan::X509_Certificate certificate;
  std::string der;
  std::string sha256;       // of the DER certificate
  std::string spki_sha256;  // of its SubjectPublicKeyInfo
};

// GetCACertificate over TLS that verifies nothing. Throws Error(kUnavailable)
// if the call fails, CertificateFailure if the answer is not a certificate.
PresentedCa fetch_presented_ca(const std::string& server);

// The server presents a CA whose public key is not the pinned one.
class PinMismatch : public CertificateFailure {
 public:
  PinMismatch(Pin pin, std::string server, PresentedCa presented);
  const Pin& pin() const { return pin_; }
  const std::string& server() const { return server_; }
  const PresentedCa& presented() const { return presented_; }

 private:
  Pin pin_;
  std::string server_;
  PresentedCa presented_;
};

// Fetches the CA `server` presents; throws PinMismatch unless its public key
// is the pinned one.
PresentedCa check_server_against_pin(const Pin& pin, const std::string& server);

// Throws CertificateFailure unless a channel that trusts only `ca` (and
// expects `tls_server_name`, if given) reaches `server` and gets that same CA
// back: the server's own TLS certificate chains to the CA it presents.
void check_tls_chains_to(const std::string& server, const std::string& tls_server_name,
                         const PresentedCa& ca);

enum class FailureReport {
  kRecorded,      // the server recorded it for this host
  kUnknownHost,   // the server answered but does not know this host
  kNoHostId,      // not sent: this host has no host ID yet
  kNotDelivered,  // the call failed
};

// HostService.ReportCertificateFailure over TLS that verifies nothing, with a
// short deadline, presenting the host's certificate when given (so the CA
// that issued it can mark the report verified). Never throws.
FailureReport report_certificate_failure(const PinMismatch& failure, const std::string& host_id,
                                         const std::string& cert_pem = "",
                                         const std::string& key_pem = "");

// The one line the agent prints for a certificate failure.
std::string certificate_failure_line(const PinMismatch& failure, FailureReport report);

}  // namespace hostca::agent
