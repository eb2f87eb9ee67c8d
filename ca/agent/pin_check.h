// The check every agent command makes before it talks to a server: the CA
// the server presents, fetched over TLS that verifies nothing and
// fingerprinted here, must carry a pinned public key, or one a pinned key
// vouches for by a link (a planned rollover). Anything else is a
// certificate failure: the agent refuses to talk on and reports it to that
// server (best effort: the report must never change what the agent does).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <botan/x509cert.h>

#include "agent/agent_dir.h"
#include "agent/ca_announcement.h"
#include "agent/pin_set.h"
#include "agent/pinned_ca.h"

namespace hostca::agent {

// GetCACertificate over TLS that verifies nothing: what the server
// announces, checked here against the pins, never trusted for itself.
// Throws Error(kUnavailable) if the call fails, CertificateFailure if the
// server is not a hostca server or its CA is not a certificate.
CaAnnouncement fetch_ca_announcement(const std::string& server);
// The active CA of that announcement.
PresentedCa fetch_presented_ca(const std::string& server);

// The server presents a CA whose public key is not pinned and cannot be
// reached from a pinned key by a valid link.
class PinMismatch : public CertificateFailure {
 public:
  // `why`: why the presented key's link was refused, if the server sent one.
  PinMismatch(Pin pin, std::string server, PresentedCa presented, const std::string& why = "");
  const Pin& pin() const { return pin_; }
  const std::string& server() const { return server_; }
  const PresentedCa& presented() const { return presented_; }

 private:
  Pin pin_;
  std::string server_;
  PresentedCa presented_;
};

// Fetches what `server` announces and follows it (follow_announcement).
// When its active key is not pinned and cannot be, fetches once more after
// `retry_after` (a rollover in flight, or a server behind the address that
// has not caught up yet, is never taken for an attack), then throws
// PinMismatch. Writes nothing. No pause by default: a certificate failure
// must stay quick to report, and the servers of one database follow a phase
// within a second anyway.
PinUpdate follow_server(
    const PinSet& pins, const std::string& server,
    const std::optional<std::vector<Botan::X509_Certificate>>& host_certificates,
    std::chrono::system_clock::time_point now,
    std::chrono::milliseconds retry_after = std::chrono::milliseconds(0));

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

// HostService.ReportTrustedCas over mutual TLS with host.pem and host.key:
// the SPKI SHA-256 of every key in `pins`, so admins see a rollover spread.
// Empty when done, or when the server predates the call (nothing to tell);
// otherwise why it failed, for one log line. Never throws.
std::string report_trusted_cas(const AgentDir& dir, const PinSet& pins);

// The one line the agent prints for a certificate failure.
std::string certificate_failure_line(const PinMismatch& failure, FailureReport report);

}  // namespace hostca::agent
