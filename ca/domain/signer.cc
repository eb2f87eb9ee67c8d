#include "domain/signer.h"

#include <botan/ecc_key.h>
#include <botan/pubkey.h>
#include <botan/system_rng.h>
#include <botan/x509_ca.h>

#include "common/error.h"

namespace hostca {

std::string signature_hash_for(const Botan::Private_Key& key) {
  if (key.algo_name() == "Ed25519") return "Pure";
  if (key.algo_name() == "ECDSA") {
    const auto& ec = dynamic_cast<const Botan::EC_PrivateKey&>(key);
    if (ec.domain().get_curve_oid() == Botan::OID::from_string("secp384r1")) return "SHA-384";
  }
  return "SHA-256";
}

SoftwareSigner::SoftwareSigner(std::shared_ptr<const Botan::Private_Key> key,
                               Botan::X509_Certificate ca_cert)
    : key_(std::move(key)), ca_cert_(std::move(ca_cert)), hash_(signature_hash_for(*key_)) {
  if (key_->subject_public_key() != ca_cert_.subject_public_key_info()) {
    throw failed_precondition("the CA private key does not match the CA certificate");
  }
  Botan::System_RNG rng;
  std::unique_ptr<Botan::PK_Signer> probe(Botan::choose_sig_format(*key_, rng, hash_, algorithm_));
}

Botan::X509_Certificate SoftwareSigner::sign(const CertificateBody& body) const {
  Botan::System_RNG rng;
  Botan::AlgorithmIdentifier sig_algo;
  std::unique_ptr<Botan::PK_Signer> signer(Botan::choose_sig_format(*key_, rng, hash_, sig_algo));
  return Botan::X509_CA::make_cert(signer.get(), rng, body.serial, sig_algo, body.subject_spki,
                                   body.not_before, body.not_after, ca_cert_.subject_dn(),
                                   body.subject, body.extensions);
}

std::vector<std::uint8_t> SoftwareSigner::sign_tbs(const std::vector<std::uint8_t>& tbs) const {
  Botan::System_RNG rng;
  Botan::AlgorithmIdentifier algorithm;
  std::unique_ptr<Botan::PK_Signer> signer(Botan::choose_sig_format(*key_, rng, hash_, algorithm));
  return Botan::X509_Object::make_signed(
      signer.get(), rng, algorithm, Botan::secure_vector<std::uint8_t>(tbs.begin(), tbs.end()));
}

}  // namespace hostca
