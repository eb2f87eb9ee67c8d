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

}  // namespace hostca::store
