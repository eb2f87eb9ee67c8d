// The check the CLIs make of every hostca server they talk to, inside the
// TLS handshake: the server's certificate must be the CA server's own (it
// carries the server marker that no host certificate carries) and, when a
// name is expected, name it. Chain verification against the trusted CA is
// gRPC's, before this runs; a refused handshake leaves its reason for the
// one-line error (last_server_refusal).
#pragma once

#include <memory>
#include <string>

#include <grpcpp/security/tls_certificate_verifier.h>

namespace hostca::client {

// expected_name: the DNS name or IP address the certificate must carry;
// empty: the marker alone (fetching the CA before anything is pinned).
std::shared_ptr<grpc::experimental::CertificateVerifier> server_certificate_verifier(
    std::string expected_name);

// Why the latest handshake this process refused was refused; empty if none
// was. Calls fail with UNAVAILABLE when a handshake is refused, and gRPC's
// own message does not carry the reason.
std::string last_server_refusal();
void clear_server_refusal();

}  // namespace hostca::client
