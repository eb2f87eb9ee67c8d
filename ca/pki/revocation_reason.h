// RFC 5280 CRLReason codes an admin may give. certificateHold and
// removeFromCRL are refused: hostca revocations are final.
#pragma once

#include <string>

namespace hostca {

enum class RevocationReason {
  kUnspecified = 0,
  kKeyCompromise = 1,
  kCaCompromise = 2,
  kAffiliationChanged = 3,
  kSuperseded = 4,
  kCessationOfOperation = 5,
  kPrivilegeWithdrawn = 9,
};

// Accepts the RFC 5280 names (keyCompromise, superseded, ...) or the number;
// throws Error(kInvalidArgument) listing the accepted names.
RevocationReason parse_revocation_reason(const std::string& text);
RevocationReason revocation_reason_from_code(int code);
std::string to_string(RevocationReason reason);

}  // namespace hostca
