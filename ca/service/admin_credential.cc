#include "service/admin_credential.h"

#include <algorithm>
#include <cctype>

namespace hostca::service {

AdminCredential admin_credential(const std::string& header) {
  static const std::string kBearer = "Bearer ";
  if (header.empty()) {
    return {"", "admin calls need the metadata 'authorization: Bearer <admin key>'"};
  }
  const bool bearer =
      header.size() >= kBearer.size() &&
      std::equal(kBearer.begin(), kBearer.end(), header.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) ==
               std::tolower(static_cast<unsigned char>(b));
      });
  if (!bearer) return {"", "the authorization metadata must read 'Bearer <admin key>'"};
  return {header.substr(kBearer.size()), ""};
}

}  // namespace hostca::service
