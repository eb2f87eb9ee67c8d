#include "domain/crl_builder.h"

#include <botan/asn1_obj.h>
#include <botan/der_enc.h>
#include <botan/x509_ext.h>

#include <ctime>

#include "common/error.h"
#include "domain/extensions.h"

namespace hostca {

namespace {
Botan::X509_Time x509_time(TimePoint t) {
  return Botan::X509_Time(std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch())));
}

// Time ::= UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280
// 5.1.2.6), whole seconds, as Botan's X509_Time encodes it.
void append_time(std::vector<std::uint8_t>& out, TimePoint t) {
  const auto secs = static_cast<std::time_t>(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  std::tm tm{};
  gmtime_r(&secs, &tm);
  const int year = tm.tm_year + 1900;
  const bool utc = year >= 1950 && year < 2050;
  char text[32];
  const std::size_t n =
      std::strftime(text, sizeof text, utc ? "%y%m%d%H%M%SZ" : "%Y%m%d%H%M%SZ", &tm);
  out.push_back(utc ? 0x17 : 0x18);
  out.push_back(static_cast<std::uint8_t>(n));
  out.insert(out.end(), text, text + n);
}

}  // namespace

void append_revoked_certificate(std::vector<std::uint8_t>& out, const CrlEntry& entry) {
  const Bytes serial = from_hex(entry.serial_hex, "serial");
  // userCertificate INTEGER: minimal octets, positive (a zero octet first
  // when the top bit is set).
  std::size_t first = 0;
  while (first + 1 < serial.size() && serial[first] == 0) ++first;
  const bool pad = serial.empty() || (serial[first] & 0x80) != 0;
  const std::size_t magnitude = serial.empty() ? 0 : serial.size() - first;
  if (magnitude > 125) throw invalid_argument("a serial must have at most 125 octets");
  const std::size_t integer = 2 + magnitude + (pad ? 1 : 0);
  const std::size_t time = 2 + 15;  // at most: GeneralizedTime
  // crlEntryExtensions: SEQUENCE { SEQUENCE { OID reasonCode, OCTET STRING { ENUMERATED } } }
  static const std::uint8_t kReasonPrefix[] = {0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55,
                                               0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01};
  const bool has_reason = entry.reason != RevocationReason::kUnspecified;
  const std::size_t start = out.size();
  out.push_back(0x30);
  out.push_back(0);  // length, set below (always under 128)
  out.push_back(0x02);
  out.push_back(static_cast<std::uint8_t>(integer - 2));
  if (pad) out.push_back(0x00);
  out.insert(out.end(), serial.begin() + static_cast<std::ptrdiff_t>(first), serial.end());
  append_time(out, entry.revoked_at);
  if (has_reason) {
    out.insert(out.end(), std::begin(kReasonPrefix), std::end(kReasonPrefix));
    out.push_back(static_cast<std::uint8_t>(static_cast<int>(entry.reason)));
  }
  const std::size_t body = out.size() - start - 2;
  if (body >= 128 || integer + time + 14 >= 128 + 2) {
    throw internal_error("a CRL entry outgrew its short-form length");
  }
  out[start + 1] = static_cast<std::uint8_t>(body);
}

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
    // Written directly: Botan's encoder took about 2 us an entry (a BigInt,
    // a time and an Extensions object each), more than the signature for
    // a shard of a few hundred entries.
    std::vector<std::uint8_t> entries;
    entries.reserve(contents.entries.size() * 48);
    for (const auto& e : contents.entries) append_revoked_certificate(entries, e);
    der.start_cons(Botan::SEQUENCE).raw_bytes(entries).end_cons();
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
