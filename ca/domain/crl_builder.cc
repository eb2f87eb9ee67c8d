#include "domain/crl_builder.h"

#include <botan/asn1_obj.h>
#include <botan/der_enc.h>
#include <botan/x509_ext.h>

#include "common/error.h"
#include "domain/extensions.h"

namespace hostca {

namespace {
Botan::X509_Time x509_time(TimePoint t) {
  return Botan::X509_Time(std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch())));
}
}  // namespace

CrlBuilder::CrlBuilder(std::shared_ptr<const Signer> signer) : signer_(std::move(signer)) {
  if (!signer_) throw internal_error("a CRL builder needs a signer");
}

Bytes CrlBuilder::build(const CrlContents& contents) const {
  if (contents.next_update <= contents.this_update) {
    throw invalid_argument("a CRL's nextUpdate must be after its thisUpdate");
  }
  const auto& ca = signer_->ca_certificate();
  std::vector<std::uint8_t> tbs;
  Botan::DER_Encoder der(tbs);
  der.start_cons(Botan::SEQUENCE)
      .encode(static_cast<std::size_t>(1))  // v2
      .encode(signer_->signature_algorithm())
      .encode(ca.subject_dn())
      .encode(x509_time(contents.this_update))
      .encode(x509_time(contents.next_update));
  if (!contents.entries.empty()) {
    der.start_cons(Botan::SEQUENCE);
    for (const auto& e : contents.entries) {
      const Bytes serial = from_hex(e.serial_hex, "serial");
      der.start_cons(Botan::SEQUENCE)
          .encode(Botan::BigInt(serial.data(), serial.size()))
          .encode(x509_time(e.revoked_at));
      if (e.reason != RevocationReason::kUnspecified) {
        Botan::Extensions entry_extensions;
        entry_extensions.add(new Botan::Cert_Extension::CRL_ReasonCode(
            static_cast<Botan::CRL_Code>(static_cast<int>(e.reason))));
        // Botan encodes the extensions, not the SEQUENCE around them.
        der.start_cons(Botan::SEQUENCE).encode(entry_extensions).end_cons();
      }
      der.end_cons();
    }
    der.end_cons();
  }
  Botan::Extensions extensions;
  extensions.add(new Botan::Cert_Extension::Authority_Key_ID(ca.subject_key_id()));
  extensions.add(new Botan::Cert_Extension::CRL_Number(contents.crl_number));
  if (contents.only_ca_certificates) {
    extensions.add(new IssuingDistributionPoint(IssuingDistributionPoint::ca_certificates_only()),
                   true);
  } else if (!contents.distribution_point_url.empty()) {
    extensions.add(new IssuingDistributionPoint(contents.distribution_point_url), true);
  }
  der.start_explicit(0).start_cons(Botan::SEQUENCE).encode(extensions).end_cons().end_explicit();
  der.end_cons();
  try {
    const auto signed_crl = signer_->sign_tbs(tbs);
    return Bytes(signed_crl.begin(), signed_crl.end());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw internal_error(std::string("signing the CRL failed: ") + e.what());
  }
}

}  // namespace hostca
