#include "pki/revocation_reason.h"

#include <utility>

#include "common/error.h"

namespace hostca {

namespace {
const std::pair<const char*, RevocationReason> kNames[] = {
    {"unspecified", RevocationReason::kUnspecified},
    {"keyCompromise", RevocationReason::kKeyCompromise},
    {"cACompromise", RevocationReason::kCaCompromise},
    {"affiliationChanged", RevocationReason::kAffiliationChanged},
    {"superseded", RevocationReason::kSuperseded},
    {"cessationOfOperation", RevocationReason::kCessationOfOperation},
    {"privilegeWithdrawn", RevocationReason::kPrivilegeWithdrawn},
};

std::string accepted() {
  std::string out;
  for (const auto& [name, reason] : kNames) {
    out += (out.empty() ? "" : ", ") + std::string(name) + " (" +
           std::to_string(static_cast<int>(reason)) + ")";
  }
  return out;
}
}  // namespace

RevocationReason revocation_reason_from_code(int code) {
  for (const auto& [name, reason] : kNames) {
    if (static_cast<int>(reason) == code) return reason;
  }
  throw invalid_argument("unknown revocation reason " + std::to_string(code) +
                         "; accepted: " + accepted());
}

RevocationReason parse_revocation_reason(const std::string& text) {
  for (const auto& [name, reason] : kNames) {
    if (text == name) return reason;
  }
  if (!text.empty() && text.size() <= 2 &&
      text.find_first_not_of("0123456789") == std::string::npos) {
    return revocation_reason_from_code(std::stoi(text));
  }
  throw invalid_argument("unknown revocation reason '" + text.substr(0, 40) +
                         "'; accepted: " + accepted());
}

std::string to_string(RevocationReason reason) {
  for (const auto& [name, r] : kNames) {
    if (r == reason) return name;
  }
  return "unspecified";
}

}  // namespace hostca
