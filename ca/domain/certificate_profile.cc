#include "domain/certificate_profile.h"

#include "common/error.h"

namespace hostca {

void CertificateProfile::validate() const {
  // Short validities are for tests and drills; a fleet uses months.
  if (validity < std::chrono::seconds(10)) {
    throw invalid_argument("certificate validity must be at least 10 seconds");
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
  // The host a relying party connects to: never missing, never an address
  // that means "any" (0.0.0.0 in a certificate reaches nobody).
  const std::string rest = crl_base_url.substr(crl_base_url.find("//") + 2);
  const std::string authority = rest.substr(0, rest.find('/'));
  std::string host = authority;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') == std::string::npos ? 0 : host.find(']') - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0") {
    throw invalid_argument("crl base URL '" + crl_base_url +
                           "' must name a host relying parties can reach (not empty, not "
                           "0.0.0.0 or [::])");
  }
  if (crl_base_url.find_first_of("?# \t\r\n") != std::string::npos) {
    throw invalid_argument("crl base URL '" + crl_base_url +
                           "' must not hold a query, a fragment or white space");
  }
}

std::string CertificateProfile::crl_url(int shard, int ca_generation) const {
  const std::string name = shard == -1 ? "ca" : std::to_string(shard);
  if (ca_generation <= 1) return crl_base_url + "/" + name + ".crl";
  return crl_base_url + "/g" + std::to_string(ca_generation) + "/" + name + ".crl";
}

int crl_shard_of(const std::string& host_id, int shard_count) {
  if (shard_count <= 1) return 0;
  // The first 32 bits of the (random) UUID: stable across servers and
  // versions, and the same rule SQL can apply: ('x' || left(id, 8))::bit(32).
  std::uint32_t prefix = 0;
  int digits = 0;
  for (char c : host_id) {
    if (digits == 8) break;
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) continue;
    prefix = prefix << 4 | static_cast<std::uint32_t>(v);
    ++digits;
  }
  return static_cast<int>(prefix % static_cast<std::uint32_t>(shard_count));
}

}  // namespace hostca
