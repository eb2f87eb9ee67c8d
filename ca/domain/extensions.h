// X.509 extensions Botan 2 cannot build from a URL: a CRL distribution
// point naming one URL (RFC 5280 4.2.1.13) and the matching issuing
// distribution point of a CRL shard (RFC 5280 5.2.5).
#pragma once

#include <string>
#include <vector>

#include <botan/der_enc.h>
#include <botan/pkix_types.h>

namespace hostca {

// Encodes DistributionPointName ::= [0] fullName { [6] URI } as the [0]
// field of a DistributionPoint or an IssuingDistributionPoint.
void encode_distribution_point_name(Botan::DER_Encoder& der, const std::string& url);

class CrlDistributionPoint final : public Botan::Certificate_Extension {
 public:
  explicit CrlDistributionPoint(std::string url) : url_(std::move(url)) {}
  static Botan::OID static_oid() { return Botan::OID("2.5.29.31"); }
  Botan::OID oid_of() const override { return static_oid(); }
  std::string oid_name() const override { return "X509v3.CRLDistributionPoints"; }
  Botan::Certificate_Extension* copy() const override { return new CrlDistributionPoint(url_); }
  void contents_to(Botan::Data_Store& subject, Botan::Data_Store&) const override;

 private:
  std::vector<std::uint8_t> encode_inner() const override;
  void decode_inner(const std::vector<std::uint8_t>&) override;
  std::string url_;
};

// Critical in every shard CRL: names the shard's URL, the same as the
// distribution point of the certificates of that shard, and says the CRL
// covers end-entity certificates only.
class IssuingDistributionPoint final : public Botan::Certificate_Extension {
 public:
  struct CaCertificatesOnly {};
  explicit IssuingDistributionPoint(std::string url) : url_(std::move(url)) {}
  // No distribution point name, onlyContainsCACerts: the CA scope CRL.
  explicit IssuingDistributionPoint(CaCertificatesOnly) : only_ca_(true) {}
  static CaCertificatesOnly ca_certificates_only() { return {}; }
  static Botan::OID static_oid() { return Botan::OID("2.5.29.28"); }
  Botan::OID oid_of() const override { return static_oid(); }
  std::string oid_name() const override { return "X509v3.CRLIssuingDistributionPoint"; }
  Botan::Certificate_Extension* copy() const override {
    return only_ca_ ? new IssuingDistributionPoint(CaCertificatesOnly{})
                    : new IssuingDistributionPoint(url_);
  }
  void contents_to(Botan::Data_Store& subject, Botan::Data_Store&) const override;

 private:
  std::vector<std::uint8_t> encode_inner() const override;
  void decode_inner(const std::vector<std::uint8_t>&) override;
  std::string url_;
  bool only_ca_ = false;
};

}  // namespace hostca
