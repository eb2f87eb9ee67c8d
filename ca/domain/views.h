// What the authority shows of its records, each with the state it computed
// as of one moment: the service layer renders these and decides nothing.
#pragma once

#include <optional>
#include <vector>

#include "common/clock.h"
#include "store/rows.h"

namespace hostca {

enum class TokenState { kUsable, kExpired, kUsedUp, kDeleted };
TokenState token_state(const store::TokenRow& token, TimePoint now);
const char* to_string(TokenState state);

enum class CertificateState { kValid, kExpired, kRevoked };
// Revoked whatever its dates; expired from its notAfter on; valid otherwise.
CertificateState certificate_state(const store::CertificateRow& certificate, TimePoint now);
const char* to_string(CertificateState state);

struct TokenView {
  store::TokenRow token;
  TokenState state = TokenState::kUsable;
};

struct CertificateView {
  store::CertificateRow certificate;
  CertificateState state = CertificateState::kValid;
};

struct HostView {
  store::HostRow host;
  std::optional<CertificateView> newest_certificate;
  // An unexpired, unrevoked certificate of the host exists.
  bool has_valid_certificate = false;
  // The state of the newest certificate, as of the call.
  store::HostState state = store::HostState::kNone;
};

struct HostDetails {
  HostView host;
  std::vector<CertificateView> certificates;  // newest first
};

TokenView view_of(const store::TokenRow& token, TimePoint now);
CertificateView view_of(const store::CertificateRow& certificate, TimePoint now);
HostView view_of(const store::HostSummaryRow& host, TimePoint now);

}  // namespace hostca
