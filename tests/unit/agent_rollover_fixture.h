// CA keys in a planned rollover as a host sees them, for the agent's tests
// (ring 1): the current CA, the next one with its links (made by the
// domain's own ca_link, as the server makes them) and host certificates of
// either.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <botan/x509cert.h>

#include "../support/crypto_fixtures.h"
#include "agent/pin_set.h"
#include "domain/ca_key.h"
#include "domain/ca_link.h"
#include "domain/certificate_issuer.h"
#include "pki/keys.h"

namespace hostca::testing {

using std::chrono::hours;

// 2026-03-01T12:00:00Z
inline const TimePoint kRolloverNow = from_unix_micros(1772366400LL * 1000000);

inline TimePoint time_of(const Botan::X509_Time& t) {
  return TimePoint(std::chrono::duration_cast<Duration>(t.to_std_timepoint().time_since_epoch()));
}

inline std::string der_of(const Botan::X509_Certificate& cert) {
  const auto der = cert.BER_encode();
  return std::string(der.begin(), der.end());
}

// A CA key with its self-signed certificate, able to sign.
inline std::shared_ptr<SoftwareSigner> new_ca(TimePoint now = kRolloverNow) {
  std::shared_ptr<const Botan::Private_Key> key = generate_key(CaKeyAlgorithm::kEcdsaP256, rng());
  CaCertificateOptions options;
  options.validity = hours(24 * 365 * 2);
  return std::make_shared<SoftwareSigner>(
      key, make_ca_certificate(*key, options, now - hours(24 * 365), rng()), rng());
}

// The next key after `current`, its certificate, and both links.
struct NextCa {
  std::shared_ptr<SoftwareSigner> signer;
  std::unique_ptr<LinkCertificates> links;
  const Botan::X509_Certificate& ca() const { return signer->ca_certificate(); }
  const Botan::X509_Certificate& new_with_old() const { return links->new_with_old; }
};

inline NextCa next_ca(const SoftwareSigner& current, TimePoint now = kRolloverNow) {
  std::shared_ptr<const Botan::Private_Key> key = generate_key(CaKeyAlgorithm::kEcdsaP256, rng());
  auto signer = std::make_shared<SoftwareSigner>(
      key,
      make_next_ca_certificate(current.ca_certificate(), *key, hours(24 * 365 * 10), now, rng()),
      rng());
  auto links =
      std::make_unique<LinkCertificates>(make_link_certificates(current, *signer, now, rng()));
  return NextCa{std::move(signer), std::move(links)};
}

struct HostCertificate {
  std::shared_ptr<Botan::Private_Key> key;
  Botan::X509_Certificate certificate;
};

inline HostCertificate host_certificate_of(const std::shared_ptr<SoftwareSigner>& ca,
                                           TimePoint now = kRolloverNow) {
  const CertificateIssuer issuer(CertificateProfile{}, ca, rng());
  std::shared_ptr<Botan::Private_Key> key = ecdsa_key("secp256r1");
  const auto der = csr_der(*key);
  auto cert = issuer
                  .issue_host_certificate("0f1e2d3c-4b5a-4697-8877-665544332211",
                                          HostName::parse("web.example"), {},
                                          CertificateRequest::parse(der, KeyPolicy{}), 0, now)
                  .certificate();
  return {key, cert};
}

inline agent::PinSet pins_of(
    const Botan::X509_Certificate& current,
    const std::vector<std::pair<agent::PinRole, Botan::X509_Certificate>>& others = {}) {
  std::vector<agent::PinnedCa> keys{agent::pinned_ca(agent::PinRole::kCurrent, current)};
  for (const auto& [role, cert] : others) keys.push_back(agent::pinned_ca(role, cert));
  return agent::PinSet("127.0.0.1:8443", "", std::move(keys));
}

}  // namespace hostca::testing
