#include "domain/ca_link.h"

#include <botan/pubkey.h>
#include <botan/x509_ca.h>
#include <botan/x509_ext.h>
#include <botan/x509_key.h>

#include <algorithm>

#include "common/error.h"
#include "domain/certificate_issuer.h"

namespace hostca {

namespace {

constexpr auto kBackdate = std::chrono::minutes(5);

Botan::X509_Time x509_time(TimePoint t) {
  return Botan::X509_Time(std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch())));
}

TimePoint time_of(const Botan::X509_Time& t) {
  return TimePoint(std::chrono::duration_cast<Duration>(t.to_std_timepoint().time_since_epoch()));
}

// What a CA certificate of hostca says about its key: CA, pathLen 0,
// keyCertSign and cRLSign, both critical; the subject key identifier.
Botan::Extensions ca_extensions(const std::vector<std::uint8_t>& subject_key_id,
                                const std::vector<std::uint8_t>& authority_key_id) {
  using namespace Botan::Cert_Extension;
  Botan::Extensions ext;
  ext.add(new Basic_Constraints(true, 0), true);
  ext.add(new Key_Usage(Botan::Key_Constraints(Botan::KEY_CERT_SIGN | Botan::CRL_SIGN)), true);
  ext.add(new Subject_Key_ID(subject_key_id));
  ext.add(new Authority_Key_ID(authority_key_id));
  return ext;
}

std::vector<std::uint8_t> key_id_of(const Botan::Public_Key& key) {
  // As Botan's Subject_Key_ID computes it for every hostca certificate.
  return Botan::Cert_Extension::Subject_Key_ID(key.public_key_bits(), "SHA-1").get_key_id();
}

}  // namespace

Botan::X509_Certificate make_link_certificate(const Signer& signer,
                                              const std::vector<std::uint8_t>& subject_spki,
                                              const std::vector<std::uint8_t>& subject_key_id,
                                              TimePoint not_before, TimePoint not_after,
                                              Botan::RandomNumberGenerator& rng) {
  CertificateBody body;
  body.serial = random_serial(rng);
  body.subject_spki = subject_spki;
  body.subject = signer.ca_certificate().subject_dn();
  body.not_before = x509_time(not_before);
  body.not_after = x509_time(not_after);
  body.extensions = ca_extensions(subject_key_id, signer.ca_certificate().subject_key_id());
  try {
    return Botan::X509_Certificate(signer.sign(body));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw internal_error(std::string("signing a link certificate failed: ") + e.what());
  }
}

Botan::X509_Certificate make_next_ca_certificate(const Botan::X509_Certificate& current_ca,
                                                 const Botan::Private_Key& next_key,
                                                 Duration validity, TimePoint now,
                                                 Botan::RandomNumberGenerator& rng) {
  if (validity <= Duration::zero()) throw invalid_argument("the CA validity must be positive");
  if (next_key.subject_public_key() == current_ca.subject_public_key_info()) {
    throw invalid_argument("the next CA key is the current one");
  }
  // Self-signed with the current CA's subject, so that the links are
  // self-issued and relying parties find it by the same name.
  Botan::AlgorithmIdentifier algorithm;
  std::unique_ptr<Botan::PK_Signer> self(
      Botan::choose_sig_format(next_key, rng, signature_hash_for(next_key), algorithm));
  const std::vector<std::uint8_t> id = key_id_of(next_key);
  return Botan::X509_CA::make_cert(self.get(), rng, random_serial(rng), algorithm,
                                   next_key.subject_public_key(), x509_time(now - kBackdate),
                                   x509_time(now + validity), current_ca.subject_dn(),
                                   current_ca.subject_dn(), ca_extensions(id, id));
}

Botan::X509_Certificate make_self_signed_ca_certificate(const UncertifiedKey& key,
                                                        const Botan::X509_DN& subject,
                                                        TimePoint not_before, TimePoint not_after,
                                                        Botan::RandomNumberGenerator& rng) {
  if (not_after <= not_before) throw invalid_argument("the CA validity must be positive");
  std::unique_ptr<Botan::Public_Key> public_key;
  try {
    public_key.reset(Botan::X509::load_key(key.spki));
  } catch (const std::exception& e) {
    throw internal_error(std::string("the key to certify has no usable public key: ") + e.what());
  }
  const std::vector<std::uint8_t> id = key_id_of(*public_key);
  CertificateBody body;
  body.serial = random_serial(rng);
  body.subject_spki = key.spki;
  body.subject = subject;
  body.not_before = x509_time(not_before);
  body.not_after = x509_time(not_after);
  body.extensions = ca_extensions(id, id);
  const std::vector<std::uint8_t> tbs = tbs_certificate(body, key.algorithm, subject);
  Botan::X509_Certificate cert(signed_object(tbs, key.algorithm, key.sign(tbs)));
  // A key that signed with another key than its own would make a CA no one can verify.
  if (!cert.check_signature(*public_key)) {
    throw internal_error("the key's signature of its own CA certificate does not verify");
  }
  return cert;
}

Botan::X509_Certificate make_next_ca_certificate(const Botan::X509_Certificate& current_ca,
                                                 const UncertifiedKey& next_key, Duration validity,
                                                 TimePoint now, Botan::RandomNumberGenerator& rng) {
  if (validity <= Duration::zero()) throw invalid_argument("the CA validity must be positive");
  if (next_key.spki == current_ca.subject_public_key_info()) {
    throw invalid_argument("the next CA key is the current one");
  }
  return make_self_signed_ca_certificate(next_key, current_ca.subject_dn(), now - kBackdate,
                                         now + validity, rng);
}

LinkCertificates make_link_certificates(const Signer& current, const Signer& next, TimePoint now,
                                        Botan::RandomNumberGenerator& rng) {
  const Botan::X509_Certificate& old_ca = current.ca_certificate();
  const Botan::X509_Certificate& new_ca = next.ca_certificate();
  const TimePoint old_end = time_of(old_ca.not_after());
  if (old_end <= now) {
    throw failed_precondition(
        "the current CA certificate has expired, so it cannot sign a link to the next key: "
        "start an emergency rollover instead (ca rollover start --emergency)");
  }
  const TimePoint not_before = now - kBackdate;
  const auto& old_spki = old_ca.subject_public_key_info();
  const auto& new_spki = new_ca.subject_public_key_info();
  return LinkCertificates{
      make_link_certificate(current, std::vector<std::uint8_t>(new_spki.begin(), new_spki.end()),
                            new_ca.subject_key_id(), not_before,
                            std::min(old_end, time_of(new_ca.not_after())), rng),
      make_link_certificate(next, std::vector<std::uint8_t>(old_spki.begin(), old_spki.end()),
                            old_ca.subject_key_id(), not_before, old_end, rng)};
}

}  // namespace hostca
