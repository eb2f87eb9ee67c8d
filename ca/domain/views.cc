#include "domain/views.h"

namespace hostca {

TokenState token_state(const store::TokenRow& token, TimePoint now) {
  if (token.deleted_at) return TokenState::kDeleted;
  if (now >= token.expires_at) return TokenState::kExpired;
  if (token.uses >= token.max_uses) return TokenState::kUsedUp;
  return TokenState::kUsable;
}

const char* to_string(TokenState state) {
  switch (state) {
    case TokenState::kUsable:
      return "usable";
    case TokenState::kExpired:
      return "expired";
    case TokenState::kUsedUp:
      return "used_up";
    case TokenState::kDeleted:
      return "deleted";
  }
  return "usable";
}

CertificateState certificate_state(const store::CertificateRow& c, TimePoint now) {
  if (c.revoked_at) return CertificateState::kRevoked;
  if (c.not_after <= now) return CertificateState::kExpired;
  return CertificateState::kValid;
}

const char* to_string(CertificateState state) {
  switch (state) {
    case CertificateState::kValid:
      return "valid";
    case CertificateState::kExpired:
      return "expired";
    case CertificateState::kRevoked:
      return "revoked";
  }
  return "valid";
}

TokenView view_of(const store::TokenRow& token, TimePoint now) {
  return TokenView{token, token_state(token, now)};
}

CertificateView view_of(const store::CertificateRow& certificate, TimePoint now) {
  return CertificateView{certificate, certificate_state(certificate, now)};
}

HostView view_of(const store::HostSummaryRow& host, TimePoint now) {
  HostView view;
  view.host = host.host;
  if (host.newest_certificate) view.newest_certificate = view_of(*host.newest_certificate, now);
  view.has_valid_certificate = host.has_valid_certificate;
  view.state = host.state;
  return view;
}

}  // namespace hostca
