#include "pki/server_marker.h"

#include <algorithm>

namespace hostca {

bool is_server_certificate(const Botan::X509_Certificate& cert) {
  const auto orgs = cert.subject_info("X520.Organization");
  return std::find(orgs.begin(), orgs.end(), kServerCertificateMarker) != orgs.end();
}

}  // namespace hostca
