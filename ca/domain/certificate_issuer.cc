#include "domain/certificate_issuer.h"

#include <algorithm>

#include <botan/hex.h>
#include <botan/pem.h>
#include <botan/system_rng.h>
#include <botan/x509_ext.h>

#include "common/error.h"
#include "domain/extensions.h"

namespace hostca {

namespace {

Botan::X509_Time x509_time(TimePoint t) {
  // X.509 times have whole seconds.
  return Botan::X509_Time(std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch())));
}

TimePoint whole_seconds(TimePoint t) {
  return TimePoint(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()));
}

bool is_ipv4(const std::string& s) {
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

}  // namespace

Botan::BigInt random_serial(Botan::RandomNumberGenerator& rng) {
  auto bytes = rng.random_vec(16);
  bytes[0] = static_cast<std::uint8_t>((bytes[0] & 0x7f) | 0x40);
  return Botan::BigInt(bytes.data(), bytes.size());
}

std::string serial_hex(const Botan::BigInt& serial) {
  return Botan::hex_encode(Botan::BigInt::encode(serial), false);
}

CertificateIssuer::CertificateIssuer(CertificateProfile profile,
                                     std::shared_ptr<const Signer> signer,
                                     Botan::RandomNumberGenerator& rng, int ca_generation)
    : profile_(std::move(profile)),
      signer_(std::move(signer)),
      rng_(rng),
      ca_generation_(ca_generation) {
  profile_.validate();
  if (!signer_) throw internal_error("a certificate issuer needs a signer");
}

Botan::X509_Certificate IssuedCertificate::certificate() const {
  return Botan::X509_Certificate(std::vector<std::uint8_t>(der.begin(), der.end()));
}

std::string IssuedCertificate::pem() const {
  return Botan::PEM_Code::encode(der.data(), der.size(), "CERTIFICATE");
}

TimePoint CertificateIssuer::clamp_not_after(TimePoint wanted) const {
  const TimePoint ca_end(std::chrono::duration_cast<Duration>(
      signer_->ca_certificate().not_after().to_std_timepoint().time_since_epoch()));
  return std::min(wanted, ca_end);
}

IssuedCertificate CertificateIssuer::sign(CertificateBody body, TimePoint not_before,
                                          TimePoint not_after) const {
  const auto& ca = signer_->ca_certificate();
  body.not_before = x509_time(not_before);
  body.not_after = x509_time(not_after);
  body.extensions.add(new Botan::Cert_Extension::Authority_Key_ID(ca.subject_key_id()));
  try {
    const std::vector<std::uint8_t> der = signer_->sign(body);
    return IssuedCertificate{Bytes(der.begin(), der.end()), serial_hex(body.serial), not_before,
                             not_after, ca_generation_};
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw internal_error(std::string("signing the certificate failed: ") + e.what());
  }
}

IssuedCertificate CertificateIssuer::issue_host_certificate(const std::string& host_id,
                                                            const HostName& hostname,
                                                            const std::vector<HostName>& aliases,
                                                            const CertificateRequest& request,
                                                            int crl_shard, TimePoint now) const {
  CertificateBody body;
  body.serial = random_serial(rng_);
  body.subject_spki = request.spki();
  body.subject.add_attribute("X520.CommonName", host_id);

  using namespace Botan::Cert_Extension;
  auto& ext = body.extensions;
  ext.add(new Basic_Constraints(false), true);
  Botan::Key_Constraints usage = Botan::DIGITAL_SIGNATURE;
  if (request.family() == KeyFamily::kRsa) {
    usage = Botan::Key_Constraints(usage | Botan::KEY_ENCIPHERMENT);
  }
  ext.add(new Key_Usage(usage), true);
  ext.add(new Extended_Key_Usage(
      {Botan::OID::from_string("PKIX.ServerAuth"), Botan::OID::from_string("PKIX.ClientAuth")}));
  Botan::AlternativeName names;
  names.add_attribute("DNS", hostname.str());
  for (const auto& a : aliases) names.add_attribute("DNS", a.str());
  names.add_attribute("URI", "urn:uuid:" + host_id);
  ext.add(new Subject_Alternative_Name(names));
  ext.add(new Subject_Key_ID(request.public_key().public_key_bits(), "SHA-1"));
  ext.add(new CrlDistributionPoint(profile_.crl_url(crl_shard, ca_generation_)));

  const TimePoint not_before = whole_seconds(now - profile_.backdate);
  const TimePoint not_after = clamp_not_after(whole_seconds(now + profile_.validity));
  if (not_after <= now) {
    throw failed_precondition("the CA certificate has expired; no certificate can be issued");
  }
  return sign(std::move(body), not_before, not_after);
}

IssuedCertificate CertificateIssuer::issue_server_certificate(const std::vector<std::string>& names,
                                                              const Botan::Public_Key& key,
                                                              TimePoint now) const {
  if (names.empty()) throw invalid_argument("the server certificate needs at least one name");
  CertificateBody body;
  body.serial = random_serial(rng_);
  body.subject_spki = key.subject_public_key();
  body.subject.add_attribute("X520.CommonName", names.front());
  body.subject.add_attribute("X520.Organization", kServerCertificateMarker);

  using namespace Botan::Cert_Extension;
  auto& ext = body.extensions;
  ext.add(new Basic_Constraints(false), true);
  ext.add(new Key_Usage(Botan::DIGITAL_SIGNATURE), true);
  ext.add(new Extended_Key_Usage({Botan::OID::from_string("PKIX.ServerAuth")}));
  Botan::AlternativeName alt;
  for (const auto& n : names) {
    if (is_ipv4(n)) {
      alt.add_attribute("IP", n);
    } else {
      alt.add_attribute("DNS", HostName::parse(n, "server name").str());
    }
  }
  ext.add(new Subject_Alternative_Name(alt));
  ext.add(new Subject_Key_ID(key.public_key_bits(), "SHA-1"));

  const TimePoint not_before = whole_seconds(now - profile_.backdate);
  const TimePoint not_after = clamp_not_after(whole_seconds(now + profile_.validity));
  return sign(std::move(body), not_before, not_after);
}

}  // namespace hostca
