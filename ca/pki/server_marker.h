// The marker of the CA server's own TLS certificate: the organizationName of
// its subject. A host certificate's subject is its host ID alone (the issuer
// builds it; nothing of a CSR's subject is kept), so no host certificate can
// carry the marker, and the agent and the CLIs refuse a server whose
// certificate lacks it: a host certificate, even one for the server's name,
// never passes for the CA server.
#pragma once

#include <botan/x509cert.h>

namespace hostca {

inline constexpr const char* kServerCertificateMarker = "hostca server";

bool is_server_certificate(const Botan::X509_Certificate& cert);

}  // namespace hostca
