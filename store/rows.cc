#include "store/rows.h"

namespace hostca::store {

const char* to_string(TokenKind kind) {
  return kind == TokenKind::kAuthorization ? "authorization" : "reissue";
}

const char* to_string(CertificateKind kind) {
  switch (kind) {
    case CertificateKind::kEnroll:
      return "enroll";
    case CertificateKind::kRenew:
      return "renew";
    case CertificateKind::kReissue:
      return "reissue";
    case CertificateKind::kServer:
      return "server";
  }
  return "enroll";
}

HostState host_state(const HostRow& host, TimePoint now) {
  // The same rule as the SQL of HOST_STATE (pg_sql.h); a store test holds
  // the two to each other.
  if (host.newest_serial_hex.empty() || !host.newest_not_after) return HostState::kNone;
  if (host.newest_revoked) return HostState::kRevoked;
  if (*host.newest_not_after <= now) return HostState::kExpired;
  if (*host.newest_not_after <= now + kExpiringWithin) return HostState::kExpiring;
  return HostState::kValid;
}

const char* host_state_name(HostState state) {
  switch (state) {
    case HostState::kValid:
      return "valid";
    case HostState::kExpiring:
      return "expiring";
    case HostState::kExpired:
      return "expired";
    case HostState::kRevoked:
      return "revoked";
    case HostState::kNone:
      return "none";
  }
  return "none";
}

std::optional<HostState> host_state_named(const std::string& name) {
  for (HostState s : {HostState::kValid, HostState::kExpiring, HostState::kExpired,
                      HostState::kRevoked, HostState::kNone}) {
    if (name == host_state_name(s)) return s;
  }
  return std::nullopt;
}

}  // namespace hostca::store
