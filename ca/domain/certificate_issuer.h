// Builds host and server certificates from the profile and a checked
// request, and has the Signer sign them. Knows nothing of storage.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <botan/x509cert.h>

#include "common/clock.h"
#include "domain/certificate_profile.h"
#include "domain/certificate_request.h"
#include "domain/host_name.h"
#include "domain/signer.h"
#include "pki/server_marker.h"

namespace hostca {

// A positive serial with 126 random bits, fixed at 16 bytes.
Botan::BigInt random_serial(Botan::RandomNumberGenerator& rng);
// Lower-case hex of the serial's magnitude, no leading zeros.
std::string serial_hex(const Botan::BigInt& serial);

struct IssuedCertificate {
  Bytes der;  // as signed
  std::string serial_hex;
  TimePoint not_before;
  TimePoint not_after;
  int ca_generation = 1;  // the CA key that signed it

  // The certificate parsed (each call parses it: the issuing paths never
  // need to).
  Botan::X509_Certificate certificate() const;
  std::string pem() const;
};

class CertificateIssuer {
 public:
  // `rng` (for serials) must outlive the issuer and be safe to share
  // between threads (Botan::System_RNG is).
  // `ca_generation` names the CA key the signer holds (for the CRL
  // distribution points and the records).
  CertificateIssuer(CertificateProfile profile, std::shared_ptr<const Signer> signer,
                    Botan::RandomNumberGenerator& rng, int ca_generation = 1);

  // CN = host ID; SANs: the names as DNS, the host ID as urn:uuid; EKU
  // serverAuth+clientAuth; CRL distribution point of the host's shard.
  IssuedCertificate issue_host_certificate(const std::string& host_id, const HostName& hostname,
                                           const std::vector<HostName>& aliases,
                                           const CertificateRequest& request, int crl_shard,
                                           TimePoint now) const;

  // The server's own TLS certificate: DNS names and IPv4 addresses.
  IssuedCertificate issue_server_certificate(const std::vector<std::string>& names,
                                             const Botan::Public_Key& key, TimePoint now) const;

  const Signer& signer() const { return *signer_; }
  const std::shared_ptr<const Signer>& signer_ptr() const { return signer_; }
  const CertificateProfile& profile() const { return profile_; }
  int ca_generation() const { return ca_generation_; }

 private:
  IssuedCertificate sign(CertificateBody body, TimePoint not_before, TimePoint not_after) const;
  TimePoint clamp_not_after(TimePoint wanted) const;

  CertificateProfile profile_;
  std::shared_ptr<const Signer> signer_;
  Botan::RandomNumberGenerator& rng_;
  int ca_generation_;
};

}  // namespace hostca
