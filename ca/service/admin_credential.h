// The admin credential as gRPC metadata carries it: "authorization: Bearer
// <admin key>" (the scheme name in any case, RFC 9110). Reading the header
// is the transport's business; the authority judges the key.
#pragma once

#include <string>

#include "domain/authority.h"

namespace hostca::service {

// The key of a Bearer header, or, when the header is missing or of another
// scheme, why no key could be read.
AdminCredential admin_credential(const std::string& authorization_header);

}  // namespace hostca::service
