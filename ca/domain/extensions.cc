#include "domain/extensions.h"

#include <botan/asn1_obj.h>
#include <botan/data_src.h>
#include <botan/datastor.h>
#include <botan/exceptn.h>

namespace hostca {

void encode_distribution_point_name(Botan::DER_Encoder& der, const std::string& url) {
  der.start_cons(Botan::ASN1_Tag(0), Botan::CONTEXT_SPECIFIC)        // distributionPoint
      .start_cons(Botan::ASN1_Tag(0), Botan::CONTEXT_SPECIFIC)       // fullName: GeneralNames
      .add_object(Botan::ASN1_Tag(6), Botan::CONTEXT_SPECIFIC, url)  // uniformResourceIdentifier
      .end_cons()
      .end_cons();
}

std::vector<std::uint8_t> CrlDistributionPoint::encode_inner() const {
  std::vector<std::uint8_t> out;
  Botan::DER_Encoder der(out);
  der.start_cons(Botan::SEQUENCE).start_cons(Botan::SEQUENCE);
  encode_distribution_point_name(der, url_);
  der.end_cons().end_cons();
  return out;
}

void CrlDistributionPoint::decode_inner(const std::vector<std::uint8_t>&) {
  // Only ever encoded by hostca; Botan's own class decodes what it reads.
  throw Botan::Not_Implemented("CrlDistributionPoint is encode-only");
}

void CrlDistributionPoint::contents_to(Botan::Data_Store& subject, Botan::Data_Store&) const {
  subject.add("CRL.DistributionPoint", url_);
}

std::vector<std::uint8_t> IssuingDistributionPoint::encode_inner() const {
  std::vector<std::uint8_t> out;
  Botan::DER_Encoder der(out);
  const std::uint8_t kTrue = 0xFF;
  der.start_cons(Botan::SEQUENCE);
  if (only_ca_) {
    der.add_object(Botan::ASN1_Tag(2), Botan::CONTEXT_SPECIFIC, &kTrue, 1);  // onlyContainsCACerts
  } else {
    encode_distribution_point_name(der, url_);
    der.add_object(Botan::ASN1_Tag(1), Botan::CONTEXT_SPECIFIC, &kTrue,
                   1);  // onlyContainsUserCerts
  }
  der.end_cons();
  return out;
}

void IssuingDistributionPoint::decode_inner(const std::vector<std::uint8_t>&) {
  throw Botan::Not_Implemented("IssuingDistributionPoint is encode-only");
}

void IssuingDistributionPoint::contents_to(Botan::Data_Store& subject, Botan::Data_Store&) const {
  subject.add("CRL.IssuingDistributionPoint", only_ca_ ? "CA certificates only" : url_);
}

}  // namespace hostca
