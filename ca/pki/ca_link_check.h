// The check a host makes before it trusts a CA key it has not pinned: the
// key's newWithOld link certificate (RFC 9480 4.3) must be signed by a key
// it pins, certify exactly the announced key, be a CA certificate with the
// announced CA's subject, and be within its validity. A key without such a
// link is never trusted on its own: that stays a certificate failure.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <botan/x509cert.h>

namespace hostca {

// Empty when `new_with_old` lets a host that pins `pinned` trust
// `announced` at `now`; otherwise why not, in words for a log line.
std::string link_refusal(const std::vector<Botan::X509_Certificate>& pinned,
                         const Botan::X509_Certificate& announced,
                         const Botan::X509_Certificate& new_with_old,
                         std::chrono::system_clock::time_point now);

}  // namespace hostca
