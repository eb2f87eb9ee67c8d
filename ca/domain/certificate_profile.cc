#include "domain/certificate_profile.h"

#include "common/error.h"

namespace hostca {

void CertificateProfile::validate() const {
  if (validity < std::chrono::minutes(1)) {
    throw invalid_argument("certificate validity must be at least 1 minute");
  }
  if (validity > std::chrono::hours(24 * 825)) {
    throw invalid_argument("certificate validity must be at most 825 days");
  }
  if (backdate < Duration::zero() || backdate > std::chrono::hours(24)) {
    throw invalid_argument("certificate backdate must be between 0 and 24 hours");
  }
  if (crl_base_url.rfind("http://", 0) != 0 && crl_base_url.rfind("https://", 0) != 0) {
    throw invalid_argument("crl base URL '" + crl_base_url +
                           "' must start with http:// or https://");
  }
  if (!crl_base_url.empty() && crl_base_url.back() == '/') {
    throw invalid_argument("crl base URL '" + crl_base_url + "' must not end with '/'");
  }
}

std::string CertificateProfile::crl_url(int shard) const {
  return crl_base_url + "/" + std::to_string(shard) + ".crl";
}

int crl_shard_of(const std::string& host_id, int shard_count) {
  if (shard_count <= 1) return 0;
  // FNV-1a over the textual UUID: stable across servers and versions.
  std::uint32_t h = 2166136261u;
  for (char c : host_id) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 16777619u;
  }
  return static_cast<int>(h % static_cast<std::uint32_t>(shard_count));
}

}  // namespace hostca
