#include "domain/signer.h"

#include <botan/ecc_key.h>
#include <botan/pubkey.h>
#include <botan/system_rng.h>
#include <botan/x509_ca.h>

#include "common/error.h"

namespace hostca {

SoftwareSigner::SoftwareSigner(std::shared_ptr<const Botan::Private_Key> key,
                               Botan::X509_Certificate ca_cert, Botan::RandomNumberGenerator& rng)
    : key_(std::move(key)),
      ca_cert_(std::move(ca_cert)),
      rng_(rng),
      hash_(signature_hash_for(*key_)) {
  if (key_->subject_public_key() != ca_cert_.subject_public_key_info()) {
    throw failed_precondition("the CA private key does not match the CA certificate");
  }
  std::unique_ptr<Botan::PK_Signer> probe(Botan::choose_sig_format(*key_, rng_, hash_, algorithm_));
}

Botan::X509_Certificate SoftwareSigner::sign(const CertificateBody& body) const {
  Botan::AlgorithmIdentifier sig_algo;
  std::unique_ptr<Botan::PK_Signer> signer(Botan::choose_sig_format(*key_, rng_, hash_, sig_algo));
  return Botan::X509_CA::make_cert(signer.get(), rng_, body.serial, sig_algo, body.subject_spki,
                                   body.not_before, body.not_after, ca_cert_.subject_dn(),
                                   body.subject, body.extensions);
}

std::vector<std::uint8_t> SoftwareSigner::sign_tbs(const std::vector<std::uint8_t>& tbs) const {
  Botan::AlgorithmIdentifier algorithm;
  std::unique_ptr<Botan::PK_Signer> signer(Botan::choose_sig_format(*key_, rng_, hash_, algorithm));
  return Botan::X509_Object::make_signed(
      signer.get(), rng_, algorithm, Botan::secure_vector<std::uint8_t>(tbs.begin(), tbs.end()));
}

}  // namespace hostca
